// What the media side tells its owner (the signalling side). Events travel on a queue the owner
// drains (Relay::drain_events); each carries the session id so the owner can find its call.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "media/endpoint.hpp"
#include "media/relay/stats.hpp"

namespace icegate::media {

using SessionId = std::uint64_t;

enum class Leg : std::uint8_t { a = 0, b = 1 };
inline constexpr std::string_view to_string(Leg l) noexcept {
  return l == Leg::a ? "A" : "B";
}

enum class EventKind : std::uint8_t {
  session_started,    // create() succeeded on its worker
  session_failed,     // create() was refused (detail says why); the leases were released
  session_closed,     // destroy() done: sockets closed, ports in quarantine; carries final stats
  ice_connected,      // first pair answered on `leg` (component 1; detail: component 2 state)
  nominated_changed,  // the selected pair of `leg` changed (USE-CANDIDATE, RFC 8445 §7.3.1.5)
  consent_lost,       // RFC 7675 §5.1: no checks for the consent timeout on `leg`: end the call
  media_timeout,      // no media from either leg for the session's media timeout: end the call
  port_exhausted,     // the port range is used up (the caller answers 503)
  pinhole_answered,   // diagnostics: one of our pin-hole Binding Requests was answered
  stats,              // reply to request_stats()
  // DTLS-SRTP on `leg` (RFC 5764): handshake done and SRTP keys installed; detail: profile, role.
  dtls_connected,
  // The handshake failed (detail: the engine's reason, e.g. fingerprint mismatch, timeout) or
  // its keys could not be used. Media on the leg stays blocked: end the call.
  dtls_failed,
  // ICE component 2 (RTCP without rtcp-mux) of `leg` connected, changed path or lost consent
  // (detail says which). Informational: RTCP trouble does not end the call.
  ice_rtcp_changed,
  // DTLS-SRTP on component 2 of `leg` (RTCP without rtcp-mux, RFC 5764 §4.1: one association
  // per port pair) connected or failed (detail says which). Informational like the above.
  dtls_rtcp_changed,
  // An authenticated ICE check on `leg` from `remote`, an address the candidate ACL denies, was
  // not answered (behaviour.md §3: the ACL applies to peer-reflexive addresses too); detail: the
  // ACL's decision. Once per source address and agent.
  ice_check_refused,
};
constexpr std::string_view to_string(EventKind k) noexcept {
  switch (k) {
    case EventKind::session_started:
      return "session-started";
    case EventKind::session_failed:
      return "session-failed";
    case EventKind::session_closed:
      return "session-closed";
    case EventKind::ice_connected:
      return "ice-connected";
    case EventKind::nominated_changed:
      return "nominated-changed";
    case EventKind::consent_lost:
      return "consent-lost";
    case EventKind::media_timeout:
      return "media-timeout";
    case EventKind::port_exhausted:
      return "port-exhausted";
    case EventKind::pinhole_answered:
      return "pinhole-answered";
    case EventKind::stats:
      return "stats";
    case EventKind::dtls_connected:
      return "dtls-connected";
    case EventKind::dtls_failed:
      return "dtls-failed";
    case EventKind::ice_rtcp_changed:
      return "ice-rtcp-changed";
    case EventKind::dtls_rtcp_changed:
      return "dtls-rtcp-changed";
    case EventKind::ice_check_refused:
      return "ice-check-refused";
  }
  return "unknown";
}

struct MediaEvent {
  EventKind kind = EventKind::session_started;
  SessionId session = 0;
  std::optional<Leg> leg;
  std::optional<Endpoint> remote;
  std::string detail;
  std::optional<relay::SessionStats> stats;  // stats and session_closed
};

}  // namespace icegate::media
