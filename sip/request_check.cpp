#include "sip/request_check.hpp"

#include <strings.h>

namespace icegate::sip {

bool branch_is_valid(std::string_view branch) {
  constexpr std::string_view kCookie = "z9hG4bK";
  if (branch.size() < kCookie.size()) return !branch.empty();
  if (strncasecmp(branch.data(), kCookie.data(), kCookie.size()) != 0) return true;  // RFC 2543
  return branch.size() > kCookie.size();
}

std::optional<std::string> malformed_reason(const sip_t* sip) {
  if (!sip) return std::string("unparsable request");
  if (sip->sip_via && sip->sip_via->v_branch && !branch_is_valid(sip->sip_via->v_branch)) {
    return std::string("Via branch has no transaction identifier after z9hG4bK");
  }
  return std::nullopt;
}

}  // namespace icegate::sip
