// The signalling thread: one su_root, one nua per listener address (all on that root), the
// Sofia log routed into ours, and a queue through which other threads post work to it.
#pragma once

#include "sip/sofia.hpp"

#include <atomic>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "acl/unique_fd.hpp"
#include "conf/config.hpp"
#include "sip/flood/guard.hpp"
#include "sip/flood/socket_filter.hpp"
#include "sip/ws/peers.hpp"
#include "sip/ws/server.hpp"

namespace icegate::sip {

// One nua instance bound to one address:port (UDP and/or TCP), like a FreeSWITCH profile.
class Profile {
 public:
  std::string name;                      // the listener name(s), joined with '+'
  acl::Address address;                  // where it listens
  std::uint16_t port = 0;
  std::vector<conf::Transport> transports;
  const conf::Listener* tls = nullptr;   // the TLS listener (certificate files), if it is one
  // A WebSocket listener (ws/wss): this profile is its stack side, TCP on 127.0.0.1 at an
  // ephemeral port, reached only through the bridge (sip/ws/server.hpp).
  const conf::Listener* ws = nullptr;
  std::string url;                       // the NUTAG_URL it was created with
  // The Contact for dialogs when nua's own would be wrong, else empty. TLS:
  // "<sip:host:port;transport=tls>"; WebSocket: "<sip:host:port;transport=ws>".
  std::string contact;
  nua_t* nua = nullptr;                  // owned by Stack (nua_destroy after shutdown)
  bool shut_down = false;
  Stack* stack = nullptr;

  bool has(conf::Transport t) const;
};

// Receives every nua event, on the signalling thread.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void on_nua_event(Profile& profile, nua_event_t event, int status, const char* phrase,
                            nua_handle_t* nh, SofiaLeg* leg, const sip_t* sip, tagi_t tags[]) = 0;
  // Called once on the signalling thread after every profile is up.
  virtual void on_started() {}
  // Called on the signalling thread before the profiles shut down (end calls here).
  virtual void on_stopping() {}
  // A WebSocket phone's connection ended (on the signalling thread): `bridge_port` is the port
  // its requests came from on `profile`.
  virtual void on_ws_closed(Profile& /*profile*/, std::uint16_t /*bridge_port*/,
                            const ws::Peer& /*peer*/) {}
};

class Stack {
 public:
  Stack();
  ~Stack();
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;

  // Starts the signalling thread and binds every listener; false (with `error` set) when a
  // listener cannot be bound. `sofia_level` is 0-9 (Sofia's own verbosity).
  bool start(const conf::Sip& sip, EventSink& sink, int sofia_level, std::string& error);
  // Ends every nua cleanly (nua_shutdown until nua_r_shutdown) and joins the thread.
  void stop();

  // The SIP edge's guard (sip/flood/guard.hpp): every request is counted against its source
  // before the sink sees it; a banned source's new requests are not handed on. Set it before
  // start(); it must outlive the stack's thread.
  void set_guard(flood::EdgeGuard* guard) { guard_ = guard; }

  // Runs `fn` on the signalling thread (from any thread). Dropped after stop().
  void post(std::function<void()> fn);
  // Calls `fn` on the signalling thread whenever `fd` is readable (call on that thread).
  bool watch(int fd, std::function<void()> fn);

  std::vector<std::unique_ptr<Profile>>& profiles() { return profiles_; }
  Profile* profile_for(conf::Transport t);  // first profile serving transport t
  // The profile by one of its listeners' names, or by its own name ("udp-lo+tcp-lo").
  Profile* profile_named(const std::string& listener_name);
  su_root_t* root() const { return root_.get(); }
  // The browsers connected over WebSocket, by bridge port (sip/ws/peers.hpp).
  const ws::Peers& ws_peers() const { return ws_peers_; }
  // The WebSocket server's counters; nullptr without a ws/wss listener.
  const ws::Stats* ws_stats() const { return ws_server_ ? &ws_server_->stats() : nullptr; }
  bool on_signalling_thread() const { return std::this_thread::get_id() == thread_id_; }

  // Internal (C callback trampolines).
  void dispatch(Profile& p, nua_event_t event, int status, const char* phrase, nua_handle_t* nh,
                SofiaLeg* leg, const sip_t* sip, tagi_t tags[]);
  void drain_posted();

 private:
  void run(const conf::Sip& sip, int sofia_level, std::promise<std::string>& started);
  // A private directory with agent.pem (key + certificate) for Sofia-SIP's TLS, or an error.
  static std::optional<std::string> write_tls_dir(const conf::Listener& l, std::string& error);
  bool create_profiles(const conf::Sip& sip, std::string& error);
  // The WebSocket listeners' server, once their stack-side profiles are up.
  bool start_websocket(std::string& error);

  // A request on a WebSocket profile that did not come through a bridge: answered 403.
  bool refused_as_stranger(Profile& p, nua_event_t event, nua_handle_t* nh, SofiaLeg* leg,
                           const sip_t* sip);
  // The guard's verdict on a request event; true when the request was answered or dropped.
  bool refused_by_guard(Profile& p, nua_event_t event, nua_handle_t* nh, SofiaLeg* leg,
                        const sip_t* sip);

  // The banned IPv4 sources, dropped by the kernel on the UDP listeners (refreshed at each new
  // ban and every second, when bans end).
  void refresh_kernel_filter();

  EventSink* sink_ = nullptr;
  flood::EdgeGuard* guard_ = nullptr;
  flood::KernelBanFilter kernel_filter_;
  TimerPtr filter_timer_;
  RootPtr root_;
  std::vector<std::unique_ptr<Profile>> profiles_;
  std::thread thread_;
  std::thread::id thread_id_;
  UniqueFd wake_fd_;
  std::mutex mutex_;
  std::deque<std::function<void()>> queue_;
  std::vector<std::unique_ptr<std::function<void()>>> watchers_;
  std::atomic<bool> running_{false};
  bool stopping_ = false;
  ws::Peers ws_peers_;
  std::unique_ptr<ws::Server> ws_server_;
};

}  // namespace icegate::sip
