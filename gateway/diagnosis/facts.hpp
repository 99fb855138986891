// Internal to gateway/diagnosis/: the figures the rules read from a leg's evidence, and how they
// are worded in evidence lines. Not part of the library's interface.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gateway/diagnosis/diagnosis.hpp"

namespace icegate::diagnosis::detail {

// RFC 1918, RFC 6598 (carrier-grade NAT), link-local, loopback, RFC 4193 ULA: not reachable from
// the Internet.
bool is_private(const acl::Address& a);

// "8 s", "1.5 s", "0.3 s".
std::string seconds_text(double s);

// Both ICE components added up (component 2 only without rtcp-mux).
struct IceFigures {
  std::uint64_t checks_answered = 0;
  std::uint64_t refused = 0;  // 401: bad MESSAGE-INTEGRITY or USERNAME
  std::uint64_t punches_sent = 0;
  std::uint64_t punches_answered = 0;
  std::optional<media::Endpoint> last_check_from;
  std::optional<media::Endpoint> selected;
  bool consent_lost = false;
};
IceFigures ice_figures(const media::relay::LegStats& s);

std::uint64_t dtls_in(const media::relay::LegStats& s) noexcept;
// Datagrams that reached the leg's port(s) and were dropped (send-failed is not one of them).
std::uint64_t received_drops(const media::relay::LegStats& s) noexcept;
// Every datagram that reached the leg's port(s): STUN, DTLS, media, dropped ones.
std::uint64_t arrived(const media::relay::LegStats& s) noexcept;

std::string leg_name(media::Leg side, LegKind kind);      // "leg A (phone with ICE)"
std::string drops_text(const media::relay::LegStats& s);  // "wrong-source=12, ..." or "none"
std::string figures_line(media::Leg side, const LegEvidence& leg);  // the leg's evidence line
std::string candidates_text(const std::vector<RemoteCandidate>& c);
std::string offer_line(const CallEvidence& call, const LegEvidence& leg);  // icegate's candidates
std::string port_text(const LegEvidence& leg);     // "icegate's port 31234" / "icegate's RTP port"
std::string range_text(const CallEvidence& call);  // "30000-33000"

// icegate's first pin-hole target: the first component-1 candidate in SDP order.
std::optional<media::Endpoint> first_target(const LegEvidence& leg);
// Where the phone's binding requests went: "203.0.113.9:50122" or "2 candidates".
std::string punch_targets(const LegEvidence& leg);

// icegate offered no public address although its media address is private, to a party that is
// outside (one of its addresses is public): the phone's checks go to a private address.
bool missing_public(const CallEvidence& call, const LegEvidence& leg);
std::string missing_public_why(const LegEvidence& leg);

// Pattern 2 evidence: an answer to icegate's request saw icegate under another address than the
// private host it offered (its NAT's public address, which icegate did not offer); empty when not
// seen. `seen` gets that address.
std::string public_seen(const CallEvidence& call, const LegEvidence& leg,
                        std::optional<acl::Address>* seen = nullptr);
// Per pin-hole target: "203.0.113.9:50122 3 sent, answered from ..., it saw icegate as ...";
// empty without targets.
std::string punches_text(const LegEvidence& leg);

// Pattern 3 evidence, each empty when not seen. mapped_mismatch() compares with the srflx
// offered, or with a public host address: a private host seen under another address is only
// icegate's NAT (pattern 2 when the phone is outside).
std::string mapped_mismatch(const CallEvidence& call, const LegEvidence& leg);
std::string check_source_mismatch(const LegEvidence& leg);
std::string punch_answer_mismatch(const LegEvidence& leg);
// A STUN server sees icegate under another public address than the one offered (srflx, or a
// public host address): "the phone checked icegate's srflx X, but STUN also sees icegate as Y
// (server)". Empty otherwise.
std::string stun_mismatch(const CallEvidence& call, const LegEvidence& leg);
// "STUN servers see icegate's media address 10.0.0.5 as: a 203.0.113.1, b 198.51.100.7" when
// they disagree; empty otherwise.
std::string stun_views_line(const CallEvidence& call);

// What one leg shows, before the call-level choice.
struct LegFinding {
  bool ok = false;  // media from this leg's far end reached icegate
  Finding finding = Finding::unknown;
  std::string headline;  // the summary without the title
  std::vector<std::string> evidence;
  std::string action;
};
LegFinding judge_leg(const CallEvidence& call, const LegEvidence& leg, media::Leg side,
                     double seconds);

// DTLS that the phone started but that failed or never finished; nullopt otherwise.
std::optional<LegFinding> dtls_failure(const CallEvidence& call, const LegEvidence& leg,
                                       media::Leg side);

}  // namespace icegate::diagnosis::detail
