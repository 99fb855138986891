// `icegate stun-check`: asks the STUN servers from the media address, as the running gateway does.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace icegate::gateway {

int cmd_stun_check(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace icegate::gateway
