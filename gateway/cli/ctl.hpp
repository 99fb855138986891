// `icegate ctl -c FILE <command>`: the control API of a running icegate (gateway/admin/), found
// through the configuration's <admin> element, with human tables by default and --json.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace icegate::gateway {

int cmd_ctl(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace icegate::gateway
