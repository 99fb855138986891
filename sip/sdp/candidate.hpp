// ICE candidates as they appear in SDP (RFC 8839 §5.1, tcptype from RFC 6544 §4.5).
//
// candidate-attribute = "candidate" ":" foundation SP component-id SP transport SP priority SP
//                       connection-address SP port SP "typ" SP cand-type
//                       [SP "raddr" SP connection-address] [SP "rport" SP port]
//                       *(SP extension-att-name SP extension-att-value)
//
// Text that the gateway does not interpret (transport and type spelling, the address, the
// extensions such as "generation 0" or "tcptype active") is kept verbatim, so a candidate
// round-trips exactly: to_string(parse(x)) == x for every x that parses (without the optional
// "a=" / "candidate:" prefixes, which to_string does not write).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "acl/address.hpp"
#include "acl/expected.hpp"

namespace icegate::sip::sdp {

enum class CandidateTransport : std::uint8_t { udp, tcp, other };
enum class CandidateType : std::uint8_t { host, srflx, prflx, relay, other };
std::string_view to_string(CandidateType t);

struct Candidate {
  std::string foundation;         // 1-32 ice-chars
  std::uint32_t component = 1;    // 1 = RTP, 2 = RTCP (RFC 8839: 1-256)
  std::string transport = "udp";  // as written: "UDP", "udp", "tcp", ...
  std::uint32_t priority = 0;
  std::string address;  // IPv4, IPv6 or FQDN (e.g. an mDNS "<uuid>.local" name), as written
  std::uint16_t port = 0;
  std::string type = "host";  // as written
  std::optional<std::string> related_address;
  std::optional<std::uint16_t> related_port;
  // Extension attributes in input order, e.g. {"generation","0"}, {"tcptype","active"}.
  std::vector<std::pair<std::string, std::string>> extensions;

  // Accepts the attribute value, optionally prefixed by "candidate:" or "a=candidate:" (trickle
  // ICE fragments carry the full line). On error: the reason.
  static Expected<Candidate, std::string> parse(std::string_view text);
  // The attribute value, without "candidate:".
  std::string to_string() const;

  CandidateTransport transport_kind() const noexcept;  // case-insensitive (RFC 8839 §5.1)
  CandidateType type_kind() const noexcept;
  // The address as IP, or nullopt for an FQDN.
  std::optional<acl::Address> ip() const;
  // RFC 8839 §5.1 allows FQDNs; browsers hide host addresses behind mDNS names ("<uuid>.local").
  bool is_mdns() const noexcept;
  std::optional<std::string_view> extension(std::string_view name) const;
  std::optional<std::string_view> tcptype() const { return extension("tcptype"); }

  friend bool operator==(const Candidate&, const Candidate&) = default;
};

// RFC 8445 §5.1.2.1: priority = 2^24 * type preference + 2^8 * local preference + (256 -
// component).
constexpr std::uint32_t candidate_priority(std::uint32_t type_preference,
                                           std::uint32_t local_preference,
                                           std::uint32_t component) {
  return (type_preference << 24) + (local_preference << 8) + (256 - component);
}
// RFC 8445 §5.1.2.2 recommended type preferences.
inline constexpr std::uint32_t kHostTypePreference = 126;
inline constexpr std::uint32_t kSrflxTypePreference = 100;

// RFC 8839 §5.4: ice-char = ALPHA / DIGIT / "+" / "/"
bool is_ice_chars(std::string_view s) noexcept;

}  // namespace icegate::sip::sdp
