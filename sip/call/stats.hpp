// What the SIP side counts (style.md §23: counters beside the code that moves them; the admin
// surface only reads them, on the signalling thread, through a copy).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "acl/histogram.hpp"

namespace icegate::sip {

// Direction of a call as telephony names it: from a trunk to a phone, from a phone to a trunk,
// between two phones (a trunk-to-trunk call is not routed by icegate).
constexpr const char* kInbound = "inbound";
constexpr const char* kOutbound = "outbound";
constexpr const char* kInternal = "internal";

struct SipStats {
  // Requests outside dialogs, before any check (the request rate).
  std::map<std::string, std::uint64_t> requests;  // method -> count
  // Calls that passed routing and got media, by (direction, status icegate sent the caller:
  // 200 answered, 487 cancelled, 4xx-6xx failed); counted when the call is gone.
  std::map<std::pair<std::string, int>, std::uint64_t> calls_ended;
  std::map<std::string, std::uint64_t> calls_active;  // direction -> calls alive now
  // INVITEs answered with a final error before a call existed, by (status, reason).
  std::map<std::pair<int, std::string>, std::uint64_t> invites_rejected;
  // Requests refused by a SIP ACL (behaviour.md §9 pattern 4), by (ACL name, method).
  std::map<std::pair<std::string, std::string>, std::uint64_t> acl_rejections;
  // Digest credentials that did not verify (wrong password, unknown user, bad response), by
  // method: first challenges are not failures.
  std::map<std::string, std::uint64_t> auth_failures;
  // Digest credentials whose response was right but whose nonce was not acceptable (answered with
  // a new challenge, stale=true), by reason: expired, other-source, replayed (nonce-count not
  // increasing, or an INVITE's nonce used twice), unknown (not issued by this process).
  std::map<std::string, std::uint64_t> nonces_refused;
  // The SIP edge's bans (sip/flood/guard.hpp): sources banned, by reason (flood, auth); requests
  // dropped because their source was banned; users locked after too many failures.
  std::map<std::string, std::uint64_t> sources_banned;
  std::uint64_t requests_dropped_banned = 0;
  std::uint64_t users_locked = 0;
  // 488 Not Acceptable Here, by cause (pattern 5: candidates blocked by the ACL).
  std::map<std::string, std::uint64_t> sdp_rejections;
  std::uint64_t ice_timeouts = 0;      // a phone leg's ICE (or DTLS after it) did not complete
  std::uint64_t calls_answered = 0;    // 200 sent to the caller
  std::uint64_t registrations = 0;     // REGISTERs accepted
  std::uint64_t operator_hangups = 0;  // calls ended through the control API
  // INVITE received -> 200 sent to the caller, seconds (includes the callee's ringing).
  Histogram setup_seconds{{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}};
};

}  // namespace icegate::sip
