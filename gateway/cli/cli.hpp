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
// Every command has the same shape, int cmd_x(args, out, err), where `args` excludes the
// command name; each is declared in the header of its own file (commands.hpp, stun_check.hpp,
// nat_detect.hpp, turn_check.hpp, turn_ice_servers.hpp).
int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace icegate::gateway
