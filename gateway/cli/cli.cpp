#include "gateway/cli/cli.hpp"

#include <functional>
#include <map>
#include <ostream>

#include "gateway/cli/commands.hpp"
#include "gateway/cli/ctl.hpp"
#include "gateway/cli/nat_detect.hpp"
#include "gateway/cli/passwd.hpp"
#include "gateway/cli/stun_check.hpp"
#include "gateway/cli/turn_check.hpp"
#include "gateway/cli/turn_ice_servers.hpp"
#include "gateway/cli/version.hpp"

namespace icegate::gateway {
namespace {

struct Command {
  std::function<int(const std::vector<std::string>&, std::ostream&, std::ostream&)> fn;
  const char* synopsis;
};

const std::map<std::string, Command>& commands() {
  static const std::map<std::string, Command> c = {
      {"run", {cmd_run, "run [-c] FILE          run the gateway in the foreground"}},
      {"check-config",
       {cmd_check_config, "check-config FILE      validate a configuration, print a summary"}},
      {"acl-check",
       {cmd_acl_check, "acl-check -c FILE [--acl NAME] ADDRESS...  explain ACL decisions"}},
      {"stun-check",
       {cmd_stun_check,
        "stun-check -c FILE [--server NAME] [--expect ADDRESS] [--json]  ask the STUN servers"}},
      {"nat-detect",
       {cmd_nat_detect,
        "nat-detect -c FILE [--server NAME | --stun HOST[:PORT]] [--json] [--lifetime]  NAT type"}},
      {"turn-check",
       {cmd_turn_check, "turn-check -c FILE NAME  allocate on a TURN server, relay data both ways"}},
      {"ctl",
       {cmd_ctl, "ctl -c FILE [--json] COMMAND [CALL-ID]  ask or control a running icegate"}},
      {"passwd",
       {cmd_passwd, "passwd [-c FILE | --realm REALM] USER  digest hashes for <user ha1=...>"}},
      {"ice-servers",
       {cmd_ice_servers, "ice-servers -c FILE USER [--json]  the STUN/TURN list for a user"}},
  };
  return c;
}

void usage(std::ostream& os) {
  os << "usage: icegate <command> [options]\n\ncommands:\n";
  for (const auto& [name, c] : commands()) os << "  " << c.synopsis << "\n";
  os << "\n`icegate <command> --help` describes a command's options; `icegate --version` the\n"
        "versions of icegate and of the libraries it runs on.\n";
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
    print_version(out);
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
