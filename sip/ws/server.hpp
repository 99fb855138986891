// SIP over WebSocket (RFC 7118) for browser phones: the WebSocket side of the bridge.
//
// Sofia-SIP 1.12 (Debian's) has no WebSocket transport and no way to add one, so icegate
// terminates WebSocket itself (Boost.Beast, on a thread of its own) and hands each SIP message
// to the stack over one loopback TCP connection per browser: the stack keeps serving SIP as it
// does for any TCP phone, and sees the browser's real address through `Peers`
// (docs/architecture.md, "SIP over WebSocket").
//
// Per connection: the HTTP upgrade is checked (an upgrade, subprotocol "sip", Origin when the
// listener lists origins; 400/403 otherwise, logged), then every WebSocket message is one SIP
// message to the stack (sip_frames.hpp), and every SIP message the stack writes to the bridge
// is one text message to the browser. Either side closing closes the other; the stack is told
// (`Closed`) so the phone's registration ends with its connection.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "conf/config.hpp"
#include "sip/ws/peers.hpp"

namespace icegate::sip::ws {

struct ListenerSpec {
  const conf::Listener* listener = nullptr;  // transport ws or wss
  std::uint16_t stack_port = 0;              // the stack's TCP port on 127.0.0.1 for it
};

struct Limits {
  std::size_t max_message = 65536;     // a larger WebSocket message closes the connection (1009)
  std::size_t per_source = 64;         // connections from one address at once
  std::size_t total = 20000;           // connections at once
  std::chrono::seconds handshake{10};  // TCP accept to WebSocket open (slow upgrades closed)
  std::chrono::seconds idle{60};       // silence before a ping; no answer by then: closed
};

struct Stats {
  std::atomic<std::uint64_t> opened{0};  // WebSocket connections upgraded
  std::atomic<std::uint64_t> closed{0};
  std::atomic<std::uint64_t> refused{0};   // upgrades answered 400/403/503 or cut at the cap
  std::atomic<std::uint64_t> to_stack{0};  // SIP messages browser -> stack
  std::atomic<std::uint64_t> to_phone{0};  // SIP messages stack -> browser
  std::atomic<std::uint64_t> dropped{0};   // WebSocket messages that were not SIP
  std::atomic<std::uint64_t> open{0};      // connections open now (after the upgrade)
};

class Server {
 public:
  // Called on the WebSocket thread when a connection that was open ends.
  using Closed = std::function<void(std::uint16_t bridge_port, const Peer&)>;

  Server(Peers& peers, Closed on_closed, Limits limits = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds every listener (errors name the listener: address in use, certificate refused) and
  // starts the thread.
  bool start(const std::vector<ListenerSpec>& specs, std::string& error);
  // Closes the listeners and every connection, joins the thread.
  void stop();
  const Stats& stats() const { return stats_; }

  struct Impl;

 private:
  Peers& peers_;
  Closed on_closed_;
  Limits limits_;
  Stats stats_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace icegate::sip::ws
