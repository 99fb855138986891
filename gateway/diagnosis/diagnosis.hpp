// Per-call diagnosis (behaviour.md §9, issue 12 item 3): which known failure pattern a call
// without media both ways matches, with the evidence in figures, from what an ICE-lite relay can
// observe. Pure functions: no I/O, no clock (the caller passes the times), no SIP types.
//
// What icegate can see of a phone leg, and what it cannot. A lite agent sends no checks on the
// media path (RFC 8445 §2.5); it only sees what reaches its own RTP port:
//   - checks from the phone: answered (right credentials) or refused (401);
//   - answers to its own pin-hole Binding Requests (behaviour.md §4), with the XOR-MAPPED-ADDRESS
//     the phone saw them come from;
//   - DTLS from the phone: a full agent starts DTLS only once one of its checks succeeded, so DTLS
//     arriving means icegate's answers reached the phone;
//   - media, accepted or dropped by reason (wrong-source: not from the ICE path / latched address).
// It never sees whether its own answers or media arrive, except through the phone's reaction.
//
// The rules, first match wins (docs/troubleshooting.md repeats them for operators):
//   media both ways (A's far end in and out on B, and the reverse)       -> media_ok
//   a phone leg sent DTLS that failed / never finished                   -> dtls_failed
//     (not one of the six; the failure text is the evidence; judged even on a short call)
//   the callee never answered and ICE did not time out                   -> not_answered
//   less than kMinJudgeable since the answer (ICE did not time out)      -> too_short
//   then per leg, phone legs before trunk legs, A before B; a leg whose far end's media was
//   accepted (packets_in > 0) has no finding. A phone leg with ICE:
//     nothing at all arrived on its port(s) (no STUN, no DTLS, no media, no drop):
//       icegate offered no public address, its media address is private
//       and the phone is outside (a public candidate or SIP source)      -> pattern 2
//       otherwise: the range is not reachable from the phone             -> pattern 6
//     no check answered, checks refused by the candidate ACL (their source,
//       e.g. a peer-reflexive address, is denied; LegEvidence::blocked)  -> pattern 5
//     only checks with wrong credentials (401), none answered            -> ice_credentials
//     no check answered, but the phone answered icegate's Binding Requests:
//       no public address offered (as for pattern 2; the address the
//       phone saw is icegate's NAT's, named in the evidence)            -> pattern 2
//       it saw icegate under another address than the one offered       -> pattern 3
//     no check answered, otherwise                                       -> unknown
//     checks answered, media dropped as wrong-source (not from the path)  -> pattern 3
//     checks answered, nothing else from the phone (no DTLS/media/drop):
//       it saw icegate under another address than the one offered, or
//       its checks come from a public address none of its candidates has
//       while it offered a srflx, or a pin-hole answer came from another
//       address than the request went to, or a STUN server sees icegate
//       under another public address than the one offered              -> pattern 3
//       otherwise: icegate's answers do not get back to the phone        -> pattern 1
//     anything else (e.g. ICE and DTLS up, no media, no wrong-source)     -> unknown
//   A phone without ICE (latching) or a trunk:
//     nothing arrived: phone -> pattern 2 (same condition) or 6; trunk   -> trunk_silent
//     media dropped as wrong-source (from another address)               -> pattern 3
//     anything else                                                      -> unknown
// The leg with the finding names the verdict; both legs' figures are in the evidence. Media that
// reached icegate on both legs but was not relayed both ways is unknown. Patterns 4 and 5 end
// the call before it has media: sip_acl_rejected() and candidate_acl_rejected() render them.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "acl/acl.hpp"
#include "acl/address.hpp"
#include "media/endpoint.hpp"
#include "media/events.hpp"
#include "media/ice/agent.hpp"
#include "media/relay/stats.hpp"

namespace icegate::diagnosis {

using Clock = media::relay::Clock;
using TimePoint = Clock::time_point;

// Below this much time after the answer, a call without any media is not judged.
inline constexpr std::chrono::milliseconds kMinJudgeable{2000};

enum class LegKind : std::uint8_t {
  phone_ice,       // softphone with ICE (checks, usually DTLS-SRTP)
  phone_latching,  // phone without ICE: plain RTP or SDES, symmetric RTP (latching)
  trunk,           // PBX / SIP trunk: plain RTP (or SDES)
};
std::string_view to_string(LegKind k) noexcept;

enum class CandidateType : std::uint8_t { host, srflx, prflx, relay, other };
std::string_view to_string(CandidateType t) noexcept;

// A remote candidate the phone offered that survived the candidate ACL.
struct RemoteCandidate {
  media::Endpoint endpoint;
  CandidateType type = CandidateType::host;
  std::uint16_t component = 1;
};

// A remote candidate the candidate ACL removed (behaviour.md §6).
struct BlockedCandidate {
  std::string candidate;  // the a=candidate value, verbatim
  std::string acl;        // the ACL's name, e.g. "remote-candidates"
  std::string rule;       // acl::Decision::explain(), e.g. "blacklist 10.0.0.0/8 (icegate.xml:42)"
};

// What icegate offered as its public (srflx) candidate toward a phone leg.
enum class PublicCandidate : std::uint8_t {
  offered,          // srflx with CallEvidence::public_address
  no_nat,           // STUN says the media address is public: its host candidate is enough
  not_configured,   // STUN off and no public-address: host candidate only
  stun_unanswered,  // STUN on, no server answered (yet): host candidate only
  withheld_by_acl,  // the public-candidate ACL does not allow it for this party
};
std::string_view to_string(PublicCandidate p) noexcept;

struct LegEvidence {
  LegKind kind = LegKind::trunk;
  media::relay::LegStats stats;  // the relay's figures (a snapshot)
  // icegate's RTP port of this leg (its RTCP port is the next one without rtcp-mux); 0: unknown.
  std::uint16_t local_port = 0;
  std::optional<acl::Address> sip_source;  // where this leg's SIP came from (its party)
  // Phone legs with ICE: the candidates after the candidate ACL, in SDP order, and the removed.
  std::vector<RemoteCandidate> candidates;
  std::vector<BlockedCandidate> blocked;  // also check sources the ACL refused (peer-reflexive)
  // Per pin-hole target (media::ice::AgentStats::punches): the address the phone saw icegate's
  // requests come from. Empty when the relay does not report it.
  std::vector<media::ice::PunchTarget> punches;
  PublicCandidate public_candidate = PublicCandidate::not_configured;
};

// What one STUN server saw icegate's media address as, in the last round that got answers.
struct StunAnswer {
  std::string server;  // its configured name
  acl::Address address;
};

struct CallEvidence {
  LegEvidence a;                               // the caller's side
  LegEvidence b;                               // the callee's side
  acl::Address media_address;                  // icegate's host candidate / c= address
  std::optional<acl::Address> public_address;  // icegate's public (srflx) address, if known
  // Every STUN server's view of the media address. Two different addresses: icegate is seen
  // under several public addresses, and its answers may leave from one the phone never checked.
  std::vector<StunAnswer> stun_answers;
  std::uint16_t rtp_min = 30000, rtp_max = 33000;  // icegate's RTP port range
  TimePoint start;                                 // the INVITE
  std::optional<TimePoint> answered;               // the callee's 2xx; media is expected from here
  TimePoint end;                                   // call end, or now for a live call
  bool ended = true;                               // false: a live call diagnosed on demand
  bool ice_timed_out = false;  // a phone leg did not pass ICE within ice-timeout
  int final_status = 0;        // SIP final status toward the caller; 0: none yet
};

enum class Finding : std::uint8_t {
  media_ok,            // media both ways: no verdict
  too_short,           // no media, but ended too soon after the answer to judge
  not_answered,        // the callee never answered: no media was expected
  binding_unanswered,  // pattern 1: the phone's checks answered, the answers do not get back
  missing_candidates,  // pattern 2: no public candidate for a phone outside (STUN unreachable)
  address_mismatch,    // pattern 3: several public addresses / NICs
  sip_acl,             // pattern 4: 403 by the SIP ACL
  candidate_acl,       // pattern 5: 488, every candidate removed by the candidate ACL; or the
                       // phone's checks refused, their sources denied by it (peer-reflexive)
  port_range_blocked,  // pattern 6: nothing reaches icegate's RTP port from the phone
  dtls_failed,         // not one of the six: ICE worked, DTLS did not
  ice_credentials,     // not one of the six: checks arrive with credentials icegate did not give
  trunk_silent,        // not one of the six: the PBX / trunk sent no RTP
  unknown,             // none fits: the evidence only
};
// "media-ok", "port-range-blocked", ... (stable: for JSON and labels)
std::string_view to_string(Finding f) noexcept;
// 1..6 for the patterns of behaviour.md §9, 0 otherwise.
int pattern_number(Finding f) noexcept;
// "pattern 6 (RTP port range blocked)", "DTLS failed (not one of the six patterns)", ...
std::string title(Finding f);

struct Verdict {
  Finding finding = Finding::unknown;
  std::optional<media::Leg> leg;  // the leg the finding is about
  // One line with figures, e.g. "pattern 1: the phone's 9 checks from 198.51.100.7:40000 were
  // answered, but it never completed ICE (...)".
  std::string summary;
  std::vector<std::string> evidence;  // one fact with figures per line
  std::string action;                 // what to do
  double seconds = 0;                 // time judged: since the answer (or the INVITE)

  bool media_both_ways() const noexcept { return finding == Finding::media_ok; }
  int pattern() const noexcept { return pattern_number(finding); }
};

Verdict diagnose(const CallEvidence& call);

// Pattern 4: a request refused with 403 by the SIP ACL `acl_name` for `source`, `decision` being
// that ACL's answer. `method` e.g. "INVITE", "REGISTER".
Verdict sip_acl_rejected(std::string_view acl_name, const acl::Address& source,
                         const acl::Decision& decision, std::string_view method = "INVITE");

// Pattern 5: an offer refused with 488 because the candidate ACL removed its candidates. `others`
// are the candidates dropped for other reasons, as the SIP side words them (not UDP, mDNS name...).
// Without any ACL-removed candidate the verdict is unknown: that 488 is not pattern 5.
Verdict candidate_acl_rejected(std::span<const BlockedCandidate> blocked,
                               std::span<const std::string> others = {});

// The call's log line: "diagnosis: pattern 6 (RTP port range blocked) leg A: ...; evidence: ...;
// do: ...", or "diagnosis: media both ways (...)".
std::string log_line(const Verdict& v);

// The same for the control API, as plain fields (the caller turns it into JSON).
struct VerdictFields {
  std::string finding;  // to_string(Finding)
  int pattern = 0;      // 1..6, 0 otherwise
  bool media_both_ways = false;
  std::string leg;    // "A", "B" or empty
  std::string title;  // title(Finding)
  std::string summary;
  std::vector<std::string> evidence;
  std::string action;
  double seconds = 0;
};
VerdictFields to_fields(const Verdict& v);

}  // namespace icegate::diagnosis
