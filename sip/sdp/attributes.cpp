#include "sip/sdp/attributes.hpp"

#include <limits>

namespace icegate::sip::sdp {
namespace {

// "<pt> <rest>" for rtpmap / fmtp / rtcp-fb: the rest when the payload type matches.
std::optional<std::string_view> for_payload(const Attribute& a, std::string_view pt) {
  if (!a.value) return std::nullopt;
  const std::string_view v = *a.value;
  const auto sp = v.find(' ');
  if (sp == std::string_view::npos || v.substr(0, sp) != pt) return std::nullopt;
  return v.substr(sp + 1);
}

std::optional<std::string_view> value_of(const Attribute* a) {
  if (a == nullptr || !a->value) return std::nullopt;
  return std::string_view(*a->value);
}

}  // namespace

const Attribute* find_effective(const Description& d, const MediaSection& m,
                                std::string_view name) {
  if (const Attribute* a = m.attribute(name)) return a;
  return d.attribute(name);
}

std::optional<RtpMap> rtpmap(const MediaSection& m, unsigned payload_type) {
  const std::string pt = std::to_string(payload_type);
  for (const Attribute* a : m.attributes_named("rtpmap")) {
    const auto rest = for_payload(*a, pt);
    if (!rest) continue;
    const auto slash = rest->find('/');
    if (slash == std::string_view::npos || slash == 0) return std::nullopt;
    RtpMap r;
    r.payload_type = payload_type;
    r.encoding = rest->substr(0, slash);
    std::string_view clock = rest->substr(slash + 1);
    if (const auto slash2 = clock.find('/'); slash2 != std::string_view::npos) {
      r.parameters = std::string(clock.substr(slash2 + 1));
      clock = clock.substr(0, slash2);
    }
    const auto rate = parse_decimal(clock, std::numeric_limits<std::uint32_t>::max());
    if (!rate) return std::nullopt;
    r.clock_rate = static_cast<std::uint32_t>(*rate);
    return r;
  }
  return std::nullopt;
}

std::optional<std::string_view> fmtp(const MediaSection& m, unsigned payload_type) {
  const std::string pt = std::to_string(payload_type);
  for (const Attribute* a : m.attributes_named("fmtp")) {
    if (auto rest = for_payload(*a, pt)) return rest;
  }
  return std::nullopt;
}

std::vector<std::string_view> rtcp_fb(const MediaSection& m, unsigned payload_type) {
  const std::string pt = std::to_string(payload_type);
  std::vector<std::string_view> out;
  for (const Attribute* a : m.attributes_named("rtcp-fb")) {
    if (auto rest = for_payload(*a, pt)) {
      out.push_back(*rest);
    } else if (auto any = for_payload(*a, "*")) {
      out.push_back(*any);
    }
  }
  return out;
}

std::string_view to_string(Direction d) {
  switch (d) {
    case Direction::sendrecv:
      return "sendrecv";
    case Direction::sendonly:
      return "sendonly";
    case Direction::recvonly:
      return "recvonly";
    case Direction::inactive:
      return "inactive";
  }
  return "sendrecv";
}

Direction direction(const Description& d, const MediaSection& m) {
  for (const Block* level : {static_cast<const Block*>(&m), static_cast<const Block*>(&d)}) {
    for (const auto& a : level->attributes) {
      for (auto dir :
           {Direction::sendrecv, Direction::sendonly, Direction::recvonly, Direction::inactive}) {
        if (!a.value && a.name == to_string(dir)) return dir;
      }
    }
  }
  return Direction::sendrecv;
}

bool rtcp_mux(const MediaSection& m) {
  return m.has_attribute("rtcp-mux");
}

std::optional<Rtcp> rtcp(const MediaSection& m) {
  const auto v = value_of(m.attribute("rtcp"));
  if (!v) return std::nullopt;
  const auto sp = v->find(' ');
  const auto port = parse_decimal(v->substr(0, sp), 65535);
  if (!port) return std::nullopt;
  Rtcp r;
  r.port = static_cast<std::uint16_t>(*port);
  if (sp != std::string_view::npos) {
    auto c = Connection::parse(v->substr(sp + 1));
    if (!c) return std::nullopt;
    r.connection = *c;
  }
  return r;
}

std::optional<std::string_view> ice_ufrag(const Description& d, const MediaSection& m) {
  return value_of(find_effective(d, m, "ice-ufrag"));
}

std::optional<std::string_view> ice_pwd(const Description& d, const MediaSection& m) {
  return value_of(find_effective(d, m, "ice-pwd"));
}

std::vector<std::string_view> ice_options(const Description& d, const MediaSection& m) {
  std::vector<std::string_view> out;
  const auto v = value_of(find_effective(d, m, "ice-options"));
  if (!v) return out;
  for (auto tag : split_spaces(*v)) {
    if (!tag.empty()) out.push_back(tag);
  }
  return out;
}

bool ice_lite(const Description& d, const MediaSection& m) {
  return find_effective(d, m, "ice-lite") != nullptr;
}

std::vector<Candidate> candidates(const MediaSection& m) {
  std::vector<Candidate> out;
  for (const Attribute* a : m.attributes_named("candidate")) {
    if (!a->value) continue;
    if (auto c = Candidate::parse(*a->value)) out.push_back(std::move(*c));
  }
  return out;
}

bool is_ice_attribute(std::string_view name) {
  // RFC 8839 §5: candidate, remote-candidates, ice-lite, ice-mismatch, ice-ufrag, ice-pwd,
  // ice-pacing, ice-options; RFC 8840 §8.2: end-of-candidates.
  return name.starts_with("ice-") || name == "candidate" || name == "remote-candidates" ||
         name == "end-of-candidates";
}

std::vector<Fingerprint> fingerprints(const Description& d, const MediaSection& m) {
  const Block& level =
      m.has_attribute("fingerprint") ? static_cast<const Block&>(m) : static_cast<const Block&>(d);
  std::vector<Fingerprint> out;
  for (const Attribute* a : level.attributes_named("fingerprint")) {
    if (!a->value) continue;
    const auto parts = split_spaces(*a->value);
    if (parts.size() != 2 || parts[0].empty() || parts[1].empty()) continue;
    out.push_back(Fingerprint{std::string(parts[0]), std::string(parts[1])});
  }
  return out;
}

std::string_view to_string(Setup s) {
  switch (s) {
    case Setup::active:
      return "active";
    case Setup::passive:
      return "passive";
    case Setup::actpass:
      return "actpass";
    case Setup::holdconn:
      return "holdconn";
  }
  return "actpass";
}

std::optional<Setup> setup(const Description& d, const MediaSection& m) {
  const auto v = value_of(find_effective(d, m, "setup"));
  if (!v) return std::nullopt;
  for (auto s : {Setup::active, Setup::passive, Setup::actpass, Setup::holdconn}) {
    if (*v == to_string(s)) return s;
  }
  return std::nullopt;
}

std::optional<std::string_view> mid(const MediaSection& m) {
  return value_of(m.attribute("mid"));
}

std::vector<std::string_view> bundle_group(const Description& d) {
  std::vector<std::string_view> out;
  for (const Attribute* a : d.attributes_named("group")) {
    if (!a->value) continue;
    const auto parts = split_spaces(*a->value);
    if (parts.empty() || parts[0] != "BUNDLE") continue;
    for (std::size_t i = 1; i < parts.size(); ++i) {
      if (!parts[i].empty()) out.push_back(parts[i]);
    }
    return out;
  }
  return out;
}

std::vector<Crypto> crypto(const MediaSection& m) {
  std::vector<Crypto> out;
  for (const Attribute* a : m.attributes_named("crypto")) {
    if (!a->value) continue;
    const auto parts = split_spaces(*a->value);
    // RFC 4568 §9.1: tag = 1*9DIGIT
    if (parts.size() < 3 || parts[0].size() > 9) continue;
    const auto tag = parse_decimal(parts[0], 999999999);
    if (!tag || parts[1].empty() || parts[2].empty()) continue;
    Crypto c{static_cast<std::uint32_t>(*tag), std::string(parts[1]), std::string(parts[2]), {}};
    for (std::size_t i = 3; i < parts.size(); ++i) {
      if (!parts[i].empty()) c.session_params.emplace_back(parts[i]);
    }
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace icegate::sip::sdp
