// Which of a softphone's ICE candidates the gateway may use (behaviour.md §3 and §6): a pure
// function of the phone's description and the candidate ACL. The result names every dropped
// candidate with its reason, so that "candidates blocked" (behaviour.md §9, pattern 5) can be told
// from the log alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "acl/acl.hpp"
#include "sip/sdp/candidate.hpp"
#include "sip/sdp/description.hpp"

namespace icegate::sip::sdp {

enum class DropReason : std::uint8_t {
  malformed,              // a=candidate that does not follow RFC 8839 §5.1
  not_udp,                // TCP or other transport: the gateway relays RTP over UDP only
  unresolved_name,        // FQDN or mDNS "<uuid>.local": no name resolution on the media path
  unspecified_address,    // 0.0.0.0 / :: (never a destination)
  zero_port,              // port 0 is never a destination
  unsupported_component,  // neither RTP (1) nor RTCP (2)
  blocked_by_acl,
};
std::string_view to_string(DropReason r);

struct DroppedCandidate {
  std::string candidate;  // the a=candidate value (or "c=/m= <addr>:<port>"), verbatim
  DropReason reason = DropReason::malformed;
  std::string detail;  // parse error, transport, or the ACL's Decision::explain()
  std::string to_string() const;
};

struct RemoteAddress {
  acl::Address address;
  std::uint16_t port = 0;
  std::string to_string() const;  // "192.0.2.1:5000" / "[2001:db8::1]:5000"
  friend bool operator==(const RemoteAddress&, const RemoteAddress&) = default;
};

struct MediaCandidates {
  std::size_t index = 0;          // m= section index
  bool disabled = false;          // port 0: nothing to check
  bool ice = false;               // the section has a=candidate lines
  std::vector<Candidate> usable;  // components 1 and 2, SDP order
  std::vector<DroppedCandidate> dropped;
  // The initial media destination and pin-hole target: the first usable component-1 candidate,
  // or the c=/m= address when the section has no candidates or none of them is usable.
  std::optional<RemoteAddress> destination;
  bool destination_from_connection = false;  // destination taken from c=/m=
  bool trickle = false;            // a=ice-options:trickle (RFC 8838, RFC 8840)
  bool end_of_candidates = false;  // a=end-of-candidates, media or session level (RFC 8840 §8.2)
  // No usable RTP candidate, yet media can arrive (behaviour.md §3): the section has ICE
  // credentials and either only candidates the gateway cannot send to (mDNS or other names,
  // non-UDP: the phone still checks from the addresses behind them) or no candidates yet
  // (trickle, or c= 0.0.0.0 / port 9) without a=end-of-candidates. The phone's first
  // authenticated check then gives its address (peer-reflexive, RFC 8445 §7.3.1.3), to which
  // the media side applies the candidate ACL. No destination, and c=/m= is not used.
  bool awaits_peer_reflexive = false;
};

struct CandidateFilterResult {
  std::vector<MediaCandidates> media;  // one per m= section
  // Set when an active section has no usable remote address: answer 488 Not Acceptable Here.
  // The text names the section, each dropped candidate with its reason, and the ACL.
  std::optional<std::string> reject_reason;
  bool reject() const noexcept { return reject_reason.has_value(); }
};

// `acl` is the candidate ACL; nullptr allows every address.
CandidateFilterResult filter_remote_candidates(const Description& phone, const acl::Acl* acl);

}  // namespace icegate::sip::sdp
