// `icegate turn-check -c FILE NAME`: proves that an allocation on a configured TURN server works
// (behaviour.md §8): Allocate with the 401 round, CreatePermission, a Send indication to a local
// UDP peer this command binds on the media address, the peer's reply as a Data indication, and
// the release. Each step is reported with its time.
#include "gateway/cli/turn_check.hpp"

#include <chrono>
#include <ostream>

#include "gateway/cli/cli.hpp"
#include "gateway/cli/json_output.hpp"
#include "gateway/cli/options.hpp"
#include "gateway/cli/turn_ice_servers.hpp"
#include "gateway/stunio/stun_io.hpp"
#include "media/stunclient/turn_client.hpp"

namespace icegate::gateway {
namespace po = boost::program_options;
namespace sc = media::stunclient;

int cmd_turn_check(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  po::options_description desc("icegate turn-check -c FILE NAME [--user USER] [--json]");
  desc.add_options()("help,h", "this help")("config,c", po::value<std::string>(),
                                             "configuration file")(
      "name", po::value<std::string>(), "the TURN server (its configured name)")(
      "user", po::value<std::string>()->default_value("icegate-turn-check"),
      "user part of time-limited credentials (shared-secret servers)")(
      "timeout", po::value<double>()->default_value(5.0), "seconds to wait for each step")(
      "json", "machine-readable output");
  po::positional_options_description pos;
  pos.add("name", 1);
  auto vm = parse_options(args, desc, pos, err);
  if (!vm) return kExitUsage;
  if (vm->count("help")) {
    out << desc
        << "\nAllocates a relay on the TURN server from the media address and sends data through\n"
           "it to a local peer and back. Exit code 0 when every step worked, 1 otherwise.\n";
    return kExitOk;
  }
  if (!vm->count("config") || !vm->count("name")) {
    err << "icegate turn-check: needs -c FILE and the TURN server NAME\n" << desc;
    return kExitUsage;
  }
  const double timeout = (*vm)["timeout"].as<double>();
  if (!(timeout > 0 && timeout <= 60)) {
    err << "icegate turn-check: --timeout must be in (0, 60] seconds\n";
    return kExitUsage;
  }
  auto loaded = load_and_report((*vm)["config"].as<std::string>(), err);
  if (!loaded) return kExitFailure;
  const auto& cfg = *loaded->config;
  const auto name = (*vm)["name"].as<std::string>();
  const conf::TurnServer* t = cfg.find_turn_server(name);
  if (t == nullptr) {
    err << "icegate turn-check: no TURN server named \"" << name << "\" (known:";
    for (const auto& s : cfg.turn_servers) err << " " << s.name;
    err << ")\n";
    return kExitFailure;
  }
  if (t->transport != conf::Transport::udp) {
    err << "icegate turn-check: " << name << " uses " << conf::to_string(t->transport)
        << "; turn-check speaks TURN over UDP only\n";
    return kExitFailure;
  }
  const auto& local = cfg.media.address;
  auto server = resolve(t->host, t->port, local.family());
  if (!server) {
    err << "icegate turn-check: " << name << ": " << server.error() << "\n";
    return kExitFailure;
  }
  auto sockets = bind_sockets(local, sc::TurnClient::kSockets);
  if (!sockets) {
    err << "icegate turn-check: " << sockets.error()
        << " (the media address must be an address of this host)\n";
    return kExitFailure;
  }
  const auto now_unix = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  const auto creds = turn_credentials(*t, (*vm)["user"].as<std::string>(), now_unix);
  sc::RetransmitPolicy policy;
  policy.give_up_after = std::chrono::milliseconds(static_cast<long>(timeout * 1000));
  sc::TurnClient engine(*server, creds, (*sockets)[1].local(), policy, sc::Clock::now());
  drive(engine, *sockets);
  const auto& r = engine.report();
  const std::string kind = t->shared_secret ? "time-limited (shared secret)" : "long-term";

  if (vm->count("json")) {
    Json steps = Json::array();
    for (const auto& s : r.steps) {
      Json step = Json::object();
      step["step"] = s.name;
      step["ok"] = s.ok;
      step["ms"] = json_millis(s.elapsed);
      step["detail"] = s.detail;
      steps.push_back(std::move(step));
    }
    Json j = Json::object();
    j["name"] = name;
    j["server"] = server->to_string();
    j["credentials"] = t->shared_secret ? "shared-secret" : "long-term";
    j["username"] = creds.username;
    j["realm"] = r.realm;
    j["relayed"] = string_or_null(r.relayed);
    j["mapped"] = string_or_null(r.mapped);
    j["steps"] = std::move(steps);
    j["ok"] = r.ok;
    out << json_line(j);
    return r.ok ? kExitOk : kExitFailure;
  }
  out << "TURN check of " << name << " (" << t->host << ":" << t->port << " = " << server->to_string()
      << ", udp) from " << (*sockets)[0].local().to_string() << ", " << kind
      << " credentials, username " << creds.username << "\n";
  for (const auto& s : r.steps) {
    out << "  [" << (s.ok ? " ok " : "FAIL") << "] " << s.name << " (" << sc::format_millis(s.elapsed)
        << " ms): " << s.detail << "\n";
  }
  out << (r.ok ? "result: OK, the allocation works\n" : "result: FAILED\n");
  return r.ok ? kExitOk : kExitFailure;
}

}  // namespace icegate::gateway
