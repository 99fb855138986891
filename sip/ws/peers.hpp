// The browsers connected over WebSocket, as the SIP stack sees them (RFC 7118).
//
// Sofia-SIP 1.12 has no WebSocket transport: each WebSocket connection is carried to the stack
// over its own loopback TCP connection (a "bridge", sip/ws/server.hpp). The stack sees the
// bridge's address (127.0.0.1 and the bridge connection's port); this table turns that port
// back into the browser's real address, so that digest, ACLs, NAT detection and the registrar
// see the phone, and requests to the phone go down its bridge. Written by the WebSocket thread,
// read by the signalling thread.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "acl/address.hpp"
#include "conf/config.hpp"

namespace icegate::sip::ws {

struct Peer {
  acl::Address address;  // the browser's address and port, as the WebSocket server saw them
  std::uint16_t port = 0;
  conf::Transport transport = conf::Transport::ws;  // ws or wss
  std::string listener;                             // the listener's name
  std::string origin;                               // the upgrade's Origin header ("" when absent)
};

class Peers {
 public:
  void add(std::uint16_t bridge_port, Peer peer);
  void remove(std::uint16_t bridge_port);
  std::optional<Peer> find(std::uint16_t bridge_port) const;
  std::size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::uint16_t, Peer> by_port_;
};

}  // namespace icegate::sip::ws
