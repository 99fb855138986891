// The operator CLI: `icegate <command> [options]`.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace icegate::gateway {

// Exit codes shared by every command.
enum ExitCode : int { kExitOk = 0, kExitFailure = 1, kExitUsage = 2 };

// Dispatches to a command; `args` excludes the program name. Output goes to `out`, diagnostics
// and errors to `err`.
int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// The commands (each parses its own options from `args`, which excludes the command name).
int cmd_check_config(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int cmd_acl_check(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int cmd_run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
// STUN / NAT / TURN checks (stun_check.cpp, nat_detect.cpp, turn_check.cpp, turn_ice_servers.cpp).
int cmd_stun_check(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int cmd_nat_detect(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int cmd_turn_check(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int cmd_ice_servers(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace icegate::gateway
