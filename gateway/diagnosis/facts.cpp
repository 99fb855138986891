#include <cstdio>

#include "gateway/diagnosis/facts.hpp"

namespace icegate::diagnosis::detail {
namespace {

using media::relay::Drop;
using media::relay::LegStats;

std::vector<acl::Cidr> private_prefixes() {
  std::vector<acl::Cidr> out;
  for (const char* p : {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
                        "169.254.0.0/16", "127.0.0.0/8", "fc00::/7", "fe80::/10", "::1/128"}) {
    out.push_back(acl::Cidr::parse(p).value());
  }
  return out;
}

std::string endpoint_text(const std::optional<media::Endpoint>& e) {
  return e ? e->to_string() : std::string("none");
}

}  // namespace

bool is_private(const acl::Address& address) {
  static const std::vector<acl::Cidr> kPrivate = private_prefixes();
  for (const auto& p : kPrivate) {
    if (p.contains(address)) return true;  // contains() unmaps ::ffff:a.b.c.d itself
  }
  return false;
}

std::string seconds_text(double s) {
  char buf[32];
  if (s >= 10 || s == static_cast<double>(static_cast<long long>(s))) {
    std::snprintf(buf, sizeof buf, "%.0f s", s);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f s", s);
  }
  return buf;
}

IceFigures ice_figures(const LegStats& s) {
  IceFigures f;
  for (const auto* c : {&s.ice, &s.ice_rtcp}) {
    if (!*c) continue;
    f.checks_answered += (*c)->checks_answered;
    f.refused += (*c)->bad_integrity + (*c)->bad_username;
    f.punches_sent += (*c)->punches_sent;
    f.punches_answered += (*c)->punches_answered;
    f.consent_lost = f.consent_lost || (*c)->consent_lost;
  }
  if (s.ice) {
    f.last_check_from = s.ice->last_check_from;
    f.selected = s.ice->selected;
  }
  return f;
}

std::uint64_t dtls_in(const LegStats& s) noexcept {
  return (s.dtls ? s.dtls->datagrams_in : 0) + (s.dtls_rtcp ? s.dtls_rtcp->datagrams_in : 0);
}

std::uint64_t received_drops(const LegStats& s) noexcept {
  // send-failed counts icegate's own sends that the kernel refused (e.g. a Binding Request to a
  // private candidate icegate has no route to): nothing arrived for it.
  return s.dropped_total() - s.drops(Drop::send_failed);
}

std::uint64_t arrived(const LegStats& s) noexcept {
  return s.stun_in + s.packets_in + received_drops(s) + dtls_in(s);
}

std::string leg_name(media::Leg side, LegKind kind) {
  std::string s = "leg ";
  s += media::to_string(side);
  s += " (";
  s += to_string(kind);
  s += ")";
  return s;
}

std::string drops_text(const LegStats& s) {
  std::string out;
  for (std::size_t i = 0; i < s.dropped.size(); ++i) {
    if (s.dropped[i] == 0) continue;
    if (!out.empty()) out += ", ";
    out += media::relay::to_string(static_cast<Drop>(i));
    out += "=";
    out += std::to_string(s.dropped[i]);
  }
  return out.empty() ? std::string("none") : out;
}

std::string figures_line(media::Leg side, const LegEvidence& leg) {
  const LegStats& s = leg.stats;
  std::string out = leg_name(side, leg.kind) + ": media in " + std::to_string(s.packets_in) +
                    " packets, out " + std::to_string(s.packets_out) + ", drops " + drops_text(s);
  if (leg.kind == LegKind::phone_ice) {
    const IceFigures f = ice_figures(s);
    out += "; STUN in " + std::to_string(s.stun_in) + ", checks answered " +
           std::to_string(f.checks_answered) + ", refused (401) " + std::to_string(f.refused) +
           ", binding requests sent " + std::to_string(f.punches_sent) + ", answered " +
           std::to_string(f.punches_answered) + ", last check from " +
           endpoint_text(f.last_check_from) + ", path " + endpoint_text(f.selected);
    if (f.consent_lost) out += ", consent lost";
  } else {
    out += "; " + media::relay::describe_source(s);
  }
  if (s.dtls) {
    out += "; DTLS " + std::string(s.dtls->state) + " (in " + std::to_string(dtls_in(s)) +
           ", out " + std::to_string(s.dtls->datagrams_out) + ")";
    if (!s.dtls->failure.empty()) out += ": " + s.dtls->failure;
  }
  return out;
}

std::string candidates_text(const std::vector<RemoteCandidate>& cands) {
  std::string out;
  for (const auto& c : cands) {
    if (!out.empty()) out += ", ";
    out += c.endpoint.to_string();
    out += " ";
    out += to_string(c.type);
    if (c.component != 1) out += " (RTCP)";
  }
  return out.empty() ? std::string("none") : out;
}

std::string offer_line(const CallEvidence& call, const LegEvidence& leg) {
  std::string out = "icegate offered host " + call.media_address.to_string();
  if (leg.public_candidate == PublicCandidate::offered && call.public_address) {
    out += " and srflx " + call.public_address->to_string();
  } else {
    out += " only (" + std::string(to_string(leg.public_candidate)) + ")";
  }
  return out;
}

std::string port_text(const LegEvidence& leg) {
  if (leg.local_port == 0) return "icegate's RTP port";
  return "icegate's port " + std::to_string(leg.local_port);
}

std::string range_text(const CallEvidence& call) {
  return std::to_string(call.rtp_min) + "-" + std::to_string(call.rtp_max);
}

std::optional<media::Endpoint> first_target(const LegEvidence& leg) {
  if (!leg.punches.empty()) return leg.punches.front().target;
  // Without the per-target figures: the first component-1 candidate is the default target.
  for (const auto& c : leg.candidates) {
    if (c.component == 1) return c.endpoint;
  }
  return std::nullopt;
}

std::string punch_targets(const LegEvidence& leg) {
  if (leg.punches.size() > 1) return std::to_string(leg.punches.size()) + " candidates";
  const auto t = first_target(leg);
  return t ? t->to_string() : std::string("the phone");
}

bool missing_public(const CallEvidence& call, const LegEvidence& leg) {
  if (leg.public_candidate == PublicCandidate::offered ||
      leg.public_candidate == PublicCandidate::no_nat || !is_private(call.media_address)) {
    return false;
  }
  if (leg.sip_source && !is_private(*leg.sip_source)) return true;
  if (leg.stats.signalled_rtp && !is_private(leg.stats.signalled_rtp->address)) return true;
  for (const auto& c : leg.candidates) {
    if (!is_private(c.endpoint.address)) return true;
  }
  return false;
}

std::string missing_public_why(const LegEvidence& leg) {
  switch (leg.public_candidate) {
    case PublicCandidate::stun_unanswered:
      return "STUN is on but no STUN server answered";
    case PublicCandidate::withheld_by_acl:
      return "the public-candidate ACL does not allow it for this party";
    case PublicCandidate::not_configured:
      return "STUN is off and no public-address is set";
    case PublicCandidate::offered:
    case PublicCandidate::no_nat:
      break;
  }
  return "";
}

std::string public_seen(const CallEvidence& call, const LegEvidence& leg,
                        std::optional<acl::Address>* seen) {
  if (leg.public_candidate == PublicCandidate::offered || !is_private(call.media_address)) {
    return "";
  }
  for (const auto& p : leg.punches) {
    if (!p.answered || !p.mapped || p.mapped->address.unmapped() == call.media_address.unmapped()) {
      continue;
    }
    if (seen) *seen = p.mapped->address;
    return "the phone saw icegate's binding request to " + p.target.to_string() + " come from " +
           p.mapped->address.to_string() + " (icegate's public address, not offered)";
  }
  return "";
}

std::string punches_text(const LegEvidence& leg) {
  std::string out;
  for (const auto& p : leg.punches) {
    if (!out.empty()) out += "; ";
    out += p.target.to_string() + " " + std::to_string(p.sent) + " sent, ";
    if (!p.answered) {
      out += "unanswered";
      if (p.error_code != 0) out += " (error " + std::to_string(p.error_code) + ")";
      continue;
    }
    out += "answered";
    if (p.answered_from) out += " from " + p.answered_from->to_string();
    if (p.mapped) out += ", it saw icegate as " + p.mapped->to_string();
  }
  return out;
}

std::string mapped_mismatch(const CallEvidence& call, const LegEvidence& leg) {
  // What the phone must see icegate's packets come from: the srflx offered, else the host.
  const bool srflx = leg.public_candidate == PublicCandidate::offered && call.public_address;
  const acl::Address expected = srflx ? *call.public_address : call.media_address;
  if (!srflx && is_private(expected)) return "";
  for (const auto& p : leg.punches) {
    if (!p.answered || !p.mapped || p.mapped->address.unmapped() == expected.unmapped()) continue;
    return "the phone saw icegate's binding request to " + p.target.to_string() + " come from " +
           p.mapped->address.to_string() + " but icegate's " + (srflx ? "srflx" : "host") +
           " candidate says " + expected.to_string();
  }
  return "";
}

std::string check_source_mismatch(const LegEvidence& leg) {
  const auto& from = leg.stats.ice ? leg.stats.ice->last_check_from : std::nullopt;
  if (!from || is_private(from->address)) return "";
  std::string srflx;
  for (const auto& c : leg.candidates) {
    if (c.endpoint.address == from->address) return "";  // one of its own addresses
    if (c.type == CandidateType::srflx && srflx.empty()) srflx = c.endpoint.address.to_string();
  }
  // Without a srflx candidate the phone claims no public address: peer-reflexive is expected.
  if (srflx.empty()) return "";
  return "the phone's checks come from " + from->to_string() + " but its srflx candidate says " +
         srflx;
}

std::string punch_answer_mismatch(const LegEvidence& leg) {
  for (const auto& p : leg.punches) {
    if (!p.answered || !p.answered_from ||
        p.answered_from->address.unmapped() == p.target.address.unmapped()) {
      continue;
    }
    return "icegate's binding request to " + p.target.to_string() + " was answered from " +
           p.answered_from->to_string();
  }
  return "";
}

std::string stun_mismatch(const CallEvidence& call, const LegEvidence& leg) {
  const bool srflx = leg.public_candidate == PublicCandidate::offered && call.public_address;
  if (!srflx && is_private(call.media_address)) return "";
  const acl::Address offered = srflx ? *call.public_address : call.media_address;
  for (const auto& a : call.stun_answers) {
    if (a.address.unmapped() == offered.unmapped()) continue;
    return "the phone checked icegate's " + std::string(srflx ? "srflx " : "host ") +
           offered.to_string() + ", but STUN also sees icegate as " + a.address.to_string() + " (" +
           a.server + "): its answers can leave from there";
  }
  return "";
}

std::string stun_views_line(const CallEvidence& call) {
  bool differ = false;
  for (const auto& a : call.stun_answers) {
    differ = differ || a.address.unmapped() != call.stun_answers.front().address.unmapped();
  }
  if (!differ) return "";
  std::string out =
      "STUN servers see icegate's media address " + call.media_address.to_string() + " as:";
  for (std::size_t i = 0; i < call.stun_answers.size(); ++i) {
    out += (i == 0 ? " " : ", ") + call.stun_answers[i].server + " " +
           call.stun_answers[i].address.to_string();
  }
  return out;
}

}  // namespace icegate::diagnosis::detail
