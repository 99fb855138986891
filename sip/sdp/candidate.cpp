#include "sip/sdp/candidate.hpp"

#include <algorithm>
#include <cctype>
#include <limits>

#include "sip/sdp/description.hpp"

namespace icegate::sip::sdp {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// RFC 8839 §5.1: connection-address = IP4-address / IP6-address / fqdn. An FQDN here is a
// dotted sequence of letters, digits and hyphens (RFC 1123 host name syntax).
bool is_fqdn(std::string_view s) {
  if (s.empty() || s.size() > 253 || s.front() == '.' || s.front() == '-') return false;
  bool previous_dot = false;
  for (char c : s) {
    const bool dot = c == '.';
    if (dot && previous_dot) return false;
    if (!dot && !std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    previous_dot = dot;
  }
  return true;
}

bool is_connection_address(std::string_view s) {
  return acl::Address::parse(s).has_value() || is_fqdn(s);
}

Unexpected<std::string> bad(std::string reason) {
  return unexpected(std::move(reason));
}

}  // namespace

std::string_view to_string(CandidateType t) {
  switch (t) {
    case CandidateType::host:
      return "host";
    case CandidateType::srflx:
      return "srflx";
    case CandidateType::prflx:
      return "prflx";
    case CandidateType::relay:
      return "relay";
    case CandidateType::other:
      return "other";
  }
  return "other";
}

bool is_ice_chars(std::string_view s) noexcept {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/';
  });
}

Expected<Candidate, std::string> Candidate::parse(std::string_view text) {
  if (text.starts_with("a=")) text.remove_prefix(2);
  if (text.starts_with("candidate:")) text.remove_prefix(10);
  const auto p = split_spaces(text);
  if (p.size() < 8)
    return bad(
        "too few fields: <foundation> <component> <transport> <priority> <address> <port> typ "
        "<type>");
  if (std::any_of(p.begin(), p.end(), [](std::string_view x) { return x.empty(); })) {
    return bad("fields must be separated by single spaces");
  }
  Candidate c;
  if (p[0].size() > 32 || !is_ice_chars(p[0]))
    return bad("bad foundation '" + std::string(p[0]) + "' (1-32 ice-chars)");
  c.foundation = p[0];
  const auto component = parse_decimal(p[1], 256);
  if (!component || *component == 0)
    return bad("bad component id '" + std::string(p[1]) + "' (1-256)");
  c.component = static_cast<std::uint32_t>(*component);
  if (!is_token(p[2])) return bad("bad transport '" + std::string(p[2]) + "'");
  c.transport = p[2];
  const auto priority = parse_decimal(p[3], std::numeric_limits<std::uint32_t>::max());
  if (!priority) return bad("bad priority '" + std::string(p[3]) + "'");
  c.priority = static_cast<std::uint32_t>(*priority);
  if (!is_connection_address(p[4]))
    return bad("bad connection address '" + std::string(p[4]) + "'");
  c.address = p[4];
  const auto port = parse_decimal(p[5], 65535);
  if (!port) return bad("bad port '" + std::string(p[5]) + "'");
  c.port = static_cast<std::uint16_t>(*port);
  if (p[6] != "typ") return bad("expected 'typ' after the port, got '" + std::string(p[6]) + "'");
  if (!is_token(p[7])) return bad("bad candidate type '" + std::string(p[7]) + "'");
  c.type = p[7];

  std::size_t i = 8;
  // RFC 8839 §5.1: rel-addr and rel-port, when present, come right after the type, in this order.
  if (i + 1 < p.size() && p[i] == "raddr") {
    if (!is_connection_address(p[i + 1])) return bad("bad raddr '" + std::string(p[i + 1]) + "'");
    c.related_address = std::string(p[i + 1]);
    i += 2;
  }
  if (i + 1 < p.size() && p[i] == "rport") {
    const auto rport = parse_decimal(p[i + 1], 65535);
    if (!rport) return bad("bad rport '" + std::string(p[i + 1]) + "'");
    c.related_port = static_cast<std::uint16_t>(*rport);
    i += 2;
  }
  for (; i < p.size(); i += 2) {
    if (i + 1 == p.size()) return bad("extension '" + std::string(p[i]) + "' has no value");
    if (!is_token(p[i])) return bad("bad extension name '" + std::string(p[i]) + "'");
    if (p[i] == "raddr" || p[i] == "rport" || p[i] == "typ") {
      return bad("'" + std::string(p[i]) +
                 "' out of place (RFC 8839 §5.1 order: typ, raddr, rport, extensions)");
    }
    // extension-att-value = *VCHAR (RFC 8839 §5.1)
    if (!std::all_of(p[i + 1].begin(), p[i + 1].end(),
                     [](char ch) { return ch > 0x20 && ch < 0x7f; })) {
      return bad("bad value for extension '" + std::string(p[i]) + "'");
    }
    c.extensions.emplace_back(std::string(p[i]), std::string(p[i + 1]));
  }
  return c;
}

std::string Candidate::to_string() const {
  std::string s = foundation + " " + std::to_string(component) + " " + transport + " " +
                  std::to_string(priority) + " " + address + " " + std::to_string(port) + " typ " +
                  type;
  if (related_address) s += " raddr " + *related_address;
  if (related_port) s += " rport " + std::to_string(*related_port);
  for (const auto& [name, value] : extensions) {
    s += ' ';
    s += name;
    s += ' ';
    s += value;
  }
  return s;
}

CandidateTransport Candidate::transport_kind() const noexcept {
  if (iequals(transport, "udp")) return CandidateTransport::udp;
  if (iequals(transport, "tcp")) return CandidateTransport::tcp;
  return CandidateTransport::other;
}

CandidateType Candidate::type_kind() const noexcept {
  // RFC 8839 §5.1 spells the types in lowercase; they are compared as written.
  if (type == "host") return CandidateType::host;
  if (type == "srflx") return CandidateType::srflx;
  if (type == "prflx") return CandidateType::prflx;
  if (type == "relay") return CandidateType::relay;
  return CandidateType::other;
}

std::optional<acl::Address> Candidate::ip() const {
  auto a = acl::Address::parse(address);
  if (!a) return std::nullopt;
  return *a;
}

bool Candidate::is_mdns() const noexcept {
  constexpr std::string_view kSuffix = ".local";
  return address.size() > kSuffix.size() &&
         iequals(std::string_view(address).substr(address.size() - kSuffix.size()), kSuffix);
}

std::optional<std::string_view> Candidate::extension(std::string_view name) const {
  for (const auto& [n, v] : extensions) {
    if (n == name) return std::string_view(v);
  }
  return std::nullopt;
}

}  // namespace icegate::sip::sdp
