#include "gateway/cli.hpp"

#include <functional>
#include <map>
#include <ostream>

namespace icegate::gateway {
namespace {

struct Command {
  std::function<int(const std::vector<std::string>&, std::ostream&, std::ostream&)> fn;
  const char* synopsis;
};

const std::map<std::string, Command>& commands() {
  static const std::map<std::string, Command> c = {
      {"run", {cmd_run, "run -c FILE            run the gateway in the foreground"}},
      {"check-config",
       {cmd_check_config, "check-config FILE      validate a configuration, print a summary"}},
      {"acl-check",
       {cmd_acl_check, "acl-check -c FILE [--acl NAME] ADDRESS...  explain ACL decisions"}},
  };
  return c;
}

void usage(std::ostream& os) {
  os << "usage: icegate <command> [options]\n\ncommands:\n";
  for (const auto& [name, c] : commands()) os << "  " << c.synopsis << "\n";
  os << "\n`icegate <command> --help` describes a command's options.\n";
}

}  // namespace

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty()) {
    usage(err);
    return kExitUsage;
  }
  const std::string& name = args.front();
  if (name == "help" || name == "--help" || name == "-h") {
    usage(out);
    return kExitOk;
  }
  if (name == "version" || name == "--version") {
    out << "icegate " << ICEGATE_VERSION << "\n";
    return kExitOk;
  }
  auto it = commands().find(name);
  if (it == commands().end()) {
    err << "icegate: unknown command \"" << name << "\"\n";
    usage(err);
    return kExitUsage;
  }
  return it->second.fn({args.begin() + 1, args.end()}, out, err);
}

}  // namespace icegate::gateway
