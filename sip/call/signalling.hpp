// What the call layer asks of a SIP stack, in Sofia-free terms (style.md rule 22). The Sofia-SIP
// implementation is sip/sofia_signalling.*; tests/sip implements it in memory, so a whole call
// flow runs in a unit test without sockets. Every call is made on the signalling thread.
//
// A leg of a call is one dialog (or dialog attempt) in the stack, named by a LegId. The call
// layer owns each LegId through a LegLink: destroying it releases the stack's handle.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "conf/config.hpp"
#include "sip/media_port.hpp"

namespace icegate::sip {

using LegId = std::uint64_t;  // 0: none

// Where a request came from: the observed source, not what Via or Contact claim (NAT).
struct Source {
  TransportAddress address;
  conf::Transport transport = conf::Transport::udp;
  // Where requests to this source go when not to `address` itself: a WebSocket phone's bridge
  // connection to the stack (TCP on 127.0.0.1, sip/ws/peers.hpp).
  std::optional<TransportAddress> next_hop;
  std::string to_string() const;
};

// A request that starts or changes a call, as the call layer reads it.
struct InboundRequest {
  std::string call_id;
  std::string request_user;  // user part of the Request-URI
  std::string request_uri;   // the whole Request-URI (digest checks compare its uri with it)
  std::string from_user;
  std::optional<unsigned long> max_forwards;
  std::string content_type;  // empty: no Content-Type
  std::string body;
  // The Proxy-Authorization header's parameters (name=value, as sent); empty: none.
  std::vector<std::string> proxy_authorization;
  std::optional<Source> source;
  std::string profile;  // the listener it arrived on
};

// A response to a request icegate sent on a leg.
struct InboundResponse {
  int status = 0;
  std::string phrase;
  std::string body;  // SDP, if any
  // 401/407: the challenge's realm, still quoted (what the credentials string wants).
  std::string challenge_realm;
};

// A response icegate sends.
struct Reply {
  int status = 200;
  std::string phrase;  // empty: the standard phrase
  std::string sdp;     // body (Content-Type application/sdp) when not empty
  std::string reason;  // a Reason header's text (SIP;cause=...;text="...") when not empty
  std::vector<std::string> proxy_authenticate;  // 407: the challenges (one per algorithm)
  std::string accept;              // 415: what is accepted
  unsigned retry_after = 0;        // 503: Retry-After seconds when not 0
};

// A new outgoing INVITE (leg B of a call).
struct OutboundInvite {
  // The listener to send from: `profile`, else `fallback_profile`; both empty: the first one
  // serving `transport`.
  std::string profile;
  std::string fallback_profile;
  conf::Transport transport = conf::Transport::udp;
  std::string request_uri;
  std::string to;  // To URI; empty: sip:<to_user>@<the listener's address>
  std::string to_user;
  std::string from_user;  // From user part (the host is the listener's)
  unsigned long max_forwards = 70;
  std::string sdp;
  std::string call_id;  // empty: the stack makes one
  // A phone behind NAT: every request of the dialog (INVITE, ACK, BYE, re-INVITE, UPDATE) goes
  // to this observed address, whatever the phone's Contact says.
  std::optional<Source> via;
};

// One armed timer; destroying it disarms it.
class Timer {
 public:
  virtual ~Timer() = default;
};

class SignallingPort {
 public:
  virtual ~SignallingPort() = default;
  // Answers the INVITE (or re-INVITE) open on `leg`: provisional or final.
  virtual void respond(LegId leg, const Reply& reply) = 0;
  // Answers a request kept for a later answer (an UPDATE: `request` as given to on_update).
  virtual void respond_kept(LegId leg, std::uint64_t request, const Reply& reply) = 0;
  // Sends a new INVITE for `leg`'s owner; 0 when it cannot be sent.
  virtual LegId invite(const OutboundInvite& invite) = 0;
  virtual void reinvite(LegId leg, const std::string& sdp) = 0;
  // An UPDATE (RFC 3311), with an offer when `sdp` is not empty.
  virtual void update(LegId leg, const std::string& sdp) = 0;
  virtual void bye(LegId leg, const std::string& reason) = 0;
  virtual void cancel(LegId leg) = 0;
  // Sends the INVITE again with credentials "Digest:<realm>:<user>:<password>".
  virtual void authenticate(LegId leg, const std::string& credentials) = 0;
  // Every later request on `leg` (ACK, BYE, re-INVITE, UPDATE) goes to `to`, the address the
  // party's requests came from, instead of its Contact (a phone behind NAT: Kamailio's
  // fix_nated_contact, Asterisk's rewrite_contact).
  virtual void route_via(LegId leg, const Source& to) = 0;
  // The leg's handle is no longer needed; no event names it afterwards.
  virtual void release(LegId leg) = 0;
  virtual std::unique_ptr<Timer> start_timer(std::chrono::milliseconds after,
                                             std::function<void()> fire) = 0;
};

// The call layer's ownership of a LegId.
class LegLink {
 public:
  LegLink() = default;
  LegLink(SignallingPort& port, LegId id) : port_(&port), id_(id) {}
  ~LegLink() { reset(); }
  LegLink(LegLink&& o) noexcept : port_(o.port_), id_(std::exchange(o.id_, 0)) {}
  LegLink& operator=(LegLink&& o) noexcept {
    if (this != &o) {
      reset();
      port_ = o.port_;
      id_ = std::exchange(o.id_, 0);
    }
    return *this;
  }
  LegLink(const LegLink&) = delete;
  LegLink& operator=(const LegLink&) = delete;
  LegId id() const noexcept { return id_; }
  explicit operator bool() const noexcept { return id_ != 0; }
  void reset() noexcept {
    if (id_ != 0) port_->release(std::exchange(id_, 0));
  }

 private:
  SignallingPort* port_ = nullptr;
  LegId id_ = 0;
};

}  // namespace icegate::sip
