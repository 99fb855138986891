// The commands over a configuration file: check-config and acl-check work offline, run hands the
// loaded configuration to the daemon (gateway/daemon/run.hpp).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace icegate::gateway {

int cmd_check_config(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int cmd_acl_check(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int cmd_run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace icegate::gateway
