// Patterns 4 and 5: requests refused before the call has media. The SIP side's log line and the
// control API render the same verdict from these.
#include "gateway/diagnosis/diagnosis.hpp"

namespace icegate::diagnosis {

Verdict sip_acl_rejected(std::string_view acl_name, const acl::Address& source,
                         const acl::Decision& decision, std::string_view method) {
  const std::string ip = source.to_string();
  const std::string acl = "acl \"" + std::string(acl_name) + "\"";
  const std::string rule = decision.explain();
  Verdict v;
  v.finding = Finding::sip_acl;
  // The words of the SIP side's line (behaviour.md §6), which support engineers grep for.
  v.summary = title(v.finding) + ": IP " + ip + " Rejected by " + acl + " (" + rule +
              "): " + std::string(method) + " answered 403 Forbidden";
  v.evidence.push_back("source " + ip);
  v.evidence.push_back(acl + ", deciding rule: " + rule);
  std::string fix;
  if (decision.entry != nullptr && decision.entry->kind == acl::ListKind::blacklist) {
    fix = "remove or narrow the blacklist entry " + decision.entry->cidr.to_string();
    if (!decision.entry->origin.empty()) fix += " (" + decision.entry->origin + ")";
  } else {
    fix = "add a whitelist entry for it";
  }
  v.action = "if " + ip + " is your PBX, trunk or phone, " + fix + " in " + acl +
             " (a single-host setup needs 127.0.0.1/32 too); `icegate acl-check -c FILE --acl " +
             std::string(acl_name) + " " + ip +
             "` shows the decision; otherwise the ACL did its job";
  return v;
}

Verdict candidate_acl_rejected(std::span<const BlockedCandidate> blocked,
                               std::span<const std::string> others) {
  Verdict v;
  for (const auto& b : blocked) {
    v.evidence.push_back("candidate \"" + b.candidate + "\" rejected by acl \"" + b.acl + "\" (" +
                         b.rule + ")");
  }
  for (const auto& o : others) v.evidence.push_back(o);
  if (blocked.empty()) {
    // A 488 for candidates that are not IP/UDP (mDNS names, TCP only): not the candidate ACL.
    v.finding = Finding::unknown;
    v.summary = title(v.finding) +
                ": 488 Not Acceptable Here, no usable ICE candidate, none "
                "removed by the candidate ACL";
    v.action =
        "the phone offered no UDP candidate with an IP address (mDNS names, TCP only): "
        "configure it to offer its IP addresses";
    return v;
  }
  v.finding = Finding::candidate_acl;
  std::string acls;
  for (const auto& b : blocked) {
    const std::string quoted = "\"" + b.acl + "\"";
    if (acls.find(quoted) == std::string::npos) acls += (acls.empty() ? "" : ", ") + quoted;
  }
  v.summary = title(v.finding) + ": " + std::to_string(blocked.size()) + " candidate" +
              (blocked.size() == 1 ? "" : "s") + " of the phone removed by acl " + acls +
              (others.empty() ? "" : " (" + std::to_string(others.size()) + " more unusable)") +
              ", none left: 488 Not Acceptable Here";
  v.action =
      "if the phone is legitimate, allow its addresses (at least its srflx / public one) "
      "in acl " +
      acls +
      "; `icegate acl-check -c FILE --acl NAME ADDRESS` shows the "
      "decision";
  return v;
}

}  // namespace icegate::diagnosis
