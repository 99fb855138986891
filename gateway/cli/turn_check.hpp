// `icegate turn-check -c FILE NAME`: an allocation on a configured TURN server, relaying data
// both ways.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace icegate::gateway {

int cmd_turn_check(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace icegate::gateway
