#include <iostream>
#include <string>
#include <vector>

#include "gateway/cli/cli.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return icegate::gateway::run_cli(args, std::cout, std::cerr);
}
