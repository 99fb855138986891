// Runs the operator CLI in-process and captures its exit code and output (tests only).
#pragma once

#include <sstream>
#include <string>
#include <vector>

#include "gateway/cli/cli.hpp"

namespace icegate::gateway::test {

struct CliResult {
  int code;
  std::string out;
  std::string err;
};

inline CliResult cli(std::vector<std::string> args) {
  std::ostringstream out, err;
  const int code = run_cli(args, out, err);
  return {code, out.str(), err.str()};
}

}  // namespace icegate::gateway::test
