// Checks of RFC 3261 grammar that Sofia-SIP's parser tolerates but a server should refuse
// (RFC 4475 §3.2.1): the caller answers 400 with the reason. White space inside <...>
// (RFC 4475 §3.1.2.14) is tolerated: Sofia keeps no raw header text to check, and the RFC allows
// an element to ignore the spaces.
#pragma once

#include "sip/sofia_fwd.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace icegate::sip {

// The reason a request is malformed, or nullopt.
std::optional<std::string> malformed_reason(const sip_t* sip);

// Pure helpers, exposed for tests.
// RFC 3261 §8.1.1.7: a branch starting with the magic cookie must carry an identifier after it.
bool branch_is_valid(std::string_view branch);

}  // namespace icegate::sip
