// Names of the diagnosis' enums and the two renderings of a verdict: the log line and the fields
// the control API turns into JSON.
#include "gateway/diagnosis/diagnosis.hpp"

namespace icegate::diagnosis {

std::string_view to_string(LegKind k) noexcept {
  switch (k) {
    case LegKind::phone_ice:
      return "phone with ICE";
    case LegKind::phone_latching:
      return "phone without ICE";
    case LegKind::trunk:
      return "trunk";
  }
  return "unknown";
}

std::string_view to_string(CandidateType t) noexcept {
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
      break;
  }
  return "other";
}

std::string_view to_string(PublicCandidate p) noexcept {
  switch (p) {
    case PublicCandidate::offered:
      return "srflx offered";
    case PublicCandidate::no_nat:
      return "no NAT: the host address is public";
    case PublicCandidate::not_configured:
      return "no STUN, no public-address";
    case PublicCandidate::stun_unanswered:
      return "STUN on, no server answered";
    case PublicCandidate::withheld_by_acl:
      return "withheld by the public-candidate ACL";
  }
  return "unknown";
}

std::string_view to_string(Finding f) noexcept {
  switch (f) {
    case Finding::media_ok:
      return "media-ok";
    case Finding::too_short:
      return "too-short";
    case Finding::not_answered:
      return "not-answered";
    case Finding::binding_unanswered:
      return "binding-unanswered";
    case Finding::missing_candidates:
      return "missing-candidates";
    case Finding::address_mismatch:
      return "address-mismatch";
    case Finding::sip_acl:
      return "sip-acl";
    case Finding::candidate_acl:
      return "candidate-acl";
    case Finding::port_range_blocked:
      return "port-range-blocked";
    case Finding::dtls_failed:
      return "dtls-failed";
    case Finding::ice_credentials:
      return "ice-credentials";
    case Finding::trunk_silent:
      return "trunk-silent";
    case Finding::unknown:
      break;
  }
  return "unknown";
}

int pattern_number(Finding f) noexcept {
  switch (f) {
    case Finding::binding_unanswered:
      return 1;
    case Finding::missing_candidates:
      return 2;
    case Finding::address_mismatch:
      return 3;
    case Finding::sip_acl:
      return 4;
    case Finding::candidate_acl:
      return 5;
    case Finding::port_range_blocked:
      return 6;
    default:
      return 0;
  }
}

std::string title(Finding f) {
  const auto pattern = [&](const char* what) {
    std::string s = "pattern ";
    s += std::to_string(pattern_number(f));
    s += " (";
    s += what;
    s += ")";
    return s;
  };
  switch (f) {
    case Finding::media_ok:
      return "media both ways";
    case Finding::too_short:
      return "too short to judge";
    case Finding::not_answered:
      return "not answered";
    case Finding::binding_unanswered:
      return pattern("binding requests without success");
    case Finding::missing_candidates:
      return pattern("missing candidates: STUN unreachable");
    case Finding::address_mismatch:
      return pattern("addresses do not match");
    case Finding::sip_acl:
      return pattern("SIP ACL: 403");
    case Finding::candidate_acl:
      return pattern("candidate ACL");  // 488, or a refused peer-reflexive check (issue 11)
    case Finding::port_range_blocked:
      return pattern("RTP port range blocked");
    case Finding::dtls_failed:
      return "DTLS failed (not one of the six patterns)";
    case Finding::ice_credentials:
      return "ICE credentials do not match (not one of the six patterns)";
    case Finding::trunk_silent:
      return "the trunk sent no media (not one of the six patterns)";
    case Finding::unknown:
      break;
  }
  return "unknown (no known pattern fits)";
}

std::string log_line(const Verdict& v) {
  std::string out = "diagnosis: " + v.summary;
  if (v.finding == Finding::media_ok) return out;
  if (!v.evidence.empty()) {
    out += " | evidence: ";
    for (std::size_t i = 0; i < v.evidence.size(); ++i) {
      if (i != 0) out += "; ";
      out += v.evidence[i];
    }
  }
  if (!v.action.empty()) out += " | do: " + v.action;
  return out;
}

VerdictFields to_fields(const Verdict& v) {
  VerdictFields f;
  f.finding = std::string(to_string(v.finding));
  f.pattern = v.pattern();
  f.media_both_ways = v.media_both_ways();
  if (v.leg) f.leg = std::string(media::to_string(*v.leg));
  f.title = title(v.finding);
  f.summary = v.summary;
  f.evidence = v.evidence;
  f.action = v.action;
  f.seconds = v.seconds;
  return f;
}

}  // namespace icegate::diagnosis
