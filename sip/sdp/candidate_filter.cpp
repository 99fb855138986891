#include "sip/sdp/candidate_filter.hpp"

#include <algorithm>

#include "sip/sdp/attributes.hpp"

namespace icegate::sip::sdp {
namespace {

struct Verdict {
  std::optional<DropReason> reason;  // nullopt: usable
  std::string detail;
};

std::string acl_detail(const acl::Acl& acl, const acl::Decision& d) {
  return "\"" + acl.name() + "\" (" + d.explain() + ")";
}

// The checks every remote media address goes through, candidate or c=/m=.
Verdict check_address(const std::optional<acl::Address>& ip, std::uint16_t port,
                      const acl::Acl* acl) {
  if (!ip) return {DropReason::unresolved_name, "not an IP address; names are not resolved"};
  if (ip->is_unspecified()) return {DropReason::unspecified_address, ip->to_string()};
  if (port == 0) return {DropReason::zero_port, {}};
  if (acl != nullptr) {
    const auto decision = acl->check(*ip);
    if (!decision.allowed()) return {DropReason::blocked_by_acl, acl_detail(*acl, decision)};
  }
  return {};
}

Verdict check_candidate(const Candidate& c, const acl::Acl* acl) {
  if (c.transport_kind() != CandidateTransport::udp) return {DropReason::not_udp, c.transport};
  if (!c.ip()) {
    return {DropReason::unresolved_name,
            c.is_mdns() ? "mDNS name, not resolved" : "FQDN, not resolved"};
  }
  if (c.component != 1 && c.component != 2) {
    return {DropReason::unsupported_component, std::to_string(c.component)};
  }
  return check_address(c.ip(), c.port, acl);
}

// Dropped only because the gateway cannot send to it; the phone itself still checks from it.
bool hidden_address(const DroppedCandidate& d) {
  return d.reason == DropReason::unresolved_name || d.reason == DropReason::not_udp;
}

// behaviour.md §3: whether a section without a usable RTP candidate can still receive media
// through peer-reflexive learning. ICE credentials are the sign that the phone will check.
bool media_can_arrive_by_checks(const Description& d, const MediaSection& m,
                                const MediaCandidates& mc) {
  if (!ice_ufrag(d, m) || !ice_pwd(d, m)) return false;
  if (mc.ice) {
    // Only names and non-UDP candidates: an offer whose candidates the ACL blocked stays
    // refused (behaviour.md §6, §9 pattern 5).
    return !mc.dropped.empty() && std::all_of(mc.dropped.begin(), mc.dropped.end(), hidden_address);
  }
  // No candidates yet (trickle ICE, RFC 8838 / RFC 8840: c=IN IP4 0.0.0.0 and port 9). With
  // a=end-of-candidates the phone said it has none at all: nothing will check.
  if (mc.end_of_candidates) return false;
  if (mc.trickle) return true;
  auto conn = m.connection();
  if (!conn) conn = d.connection();
  const auto ip = conn ? conn->ip() : std::nullopt;
  return !ip || ip->is_unspecified();
}

std::string describe_failure(const MediaSection& m, const MediaCandidates& mc) {
  std::string s = "no usable remote media address in m= section " + std::to_string(mc.index) +
                  " (" + m.m.media + ")";
  if (mc.dropped.empty()) return s;
  s += ":";
  for (std::size_t i = 0; i < mc.dropped.size(); ++i)
    s += (i == 0 ? " " : "; ") + mc.dropped[i].to_string();
  return s;
}

}  // namespace

std::string_view to_string(DropReason r) {
  switch (r) {
    case DropReason::malformed:
      return "malformed";
    case DropReason::not_udp:
      return "not UDP";
    case DropReason::unresolved_name:
      return "not an IP address";
    case DropReason::unspecified_address:
      return "unspecified address";
    case DropReason::zero_port:
      return "port 0";
    case DropReason::unsupported_component:
      return "unsupported component";
    case DropReason::blocked_by_acl:
      return "rejected by acl";
  }
  return "dropped";
}

std::string DroppedCandidate::to_string() const {
  // The c=/m= fallback is named as such, not as a candidate.
  std::string s = candidate.starts_with("c=/m=") ? candidate : "candidate \"" + candidate + "\"";
  s += " ";
  s += sdp::to_string(reason);
  // Reads like the SIP ACL's log line: ... rejected by acl "name" (blacklist 10.0.0.0/8 (file:3))
  if (!detail.empty()) s += (reason == DropReason::blocked_by_acl ? " " : ": ") + detail;
  return s;
}

std::string RemoteAddress::to_string() const {
  const std::string a = address.to_string();
  return (address.is_v4() ? a : "[" + a + "]") + ":" + std::to_string(port);
}

CandidateFilterResult filter_remote_candidates(const Description& phone, const acl::Acl* acl) {
  CandidateFilterResult result;
  std::string failures;
  for (std::size_t i = 0; i < phone.media.size(); ++i) {
    const MediaSection& m = phone.media[i];
    MediaCandidates mc;
    mc.index = i;
    if (m.rejected()) {
      mc.disabled = true;
      result.media.push_back(std::move(mc));
      continue;
    }
    for (const Attribute* a : m.attributes_named("candidate")) {
      mc.ice = true;
      const std::string text = a->value.value_or("");
      auto c = Candidate::parse(text);
      if (!c) {
        mc.dropped.push_back({text, DropReason::malformed, c.error()});
        continue;
      }
      auto v = check_candidate(*c, acl);
      if (v.reason) {
        mc.dropped.push_back({text, *v.reason, std::move(v.detail)});
        continue;
      }
      // behaviour.md §3: the first valid candidate in SDP order is the initial destination.
      if (c->component == 1 && !mc.destination) mc.destination = RemoteAddress{*c->ip(), c->port};
      mc.usable.push_back(std::move(*c));
    }
    const auto options = ice_options(phone, m);
    mc.trickle = std::find(options.begin(), options.end(), "trickle") != options.end();
    mc.end_of_candidates =
        m.has_attribute("end-of-candidates") || phone.attribute("end-of-candidates") != nullptr;
    if (!mc.destination && media_can_arrive_by_checks(phone, m, mc)) {
      mc.awaits_peer_reflexive = true;
      result.media.push_back(std::move(mc));
      continue;
    }
    if (!mc.destination) {
      // RFC 8839 §4.2: c=/m= carry the default destination; without ICE it is the only one.
      auto conn = m.connection();
      if (!conn) conn = phone.connection();
      const std::optional<acl::Address> ip = conn ? conn->ip() : std::nullopt;
      auto v = check_address(ip, m.m.port, acl);
      if (v.reason) {
        const std::string where =
            conn ? conn->address + ":" + std::to_string(m.m.port) : "(no c= line)";
        mc.dropped.push_back({"c=/m= " + where, *v.reason, std::move(v.detail)});
      } else {
        mc.destination = RemoteAddress{*ip, m.m.port};
        mc.destination_from_connection = true;
      }
    }
    if (!mc.destination) failures += (failures.empty() ? "" : " | ") + describe_failure(m, mc);
    result.media.push_back(std::move(mc));
  }
  if (!failures.empty()) result.reject_reason = std::move(failures);
  return result;
}

}  // namespace icegate::sip::sdp
