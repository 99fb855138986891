// A user's static contact (<user contact="sip:...">): a SIP URI read with Sofia-SIP's own URL
// parser, then held to what icegate can send to without DNS: sip or sips, an IP literal host,
// transport udp, tcp or tls.
#pragma once

#include <string>
#include <string_view>

#include "acl/expected.hpp"
#include "conf/config.hpp"

namespace icegate::conf {

// The error is a sentence the loader prefixes with file:line.
Expected<StaticContact, std::string> parse_static_contact(std::string_view text);

}  // namespace icegate::conf
