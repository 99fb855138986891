// `icegate stun-check`: "check reachability of this STUN server" (behaviour.md §8). Asks every
// configured server (or one) from the media address, exactly as the running gateway does, and
// prints the mapped address, the round-trip time, whether it equals --expect, and whether the
// servers agree (the "several public IPs / several NICs" fault, behaviour.md §9.3).
#include "gateway/cli/stun_check.hpp"

#include <ostream>

#include "gateway/cli/cli.hpp"
#include "gateway/cli/json_output.hpp"
#include "gateway/cli/options.hpp"
#include "gateway/cli/stun_cli.hpp"
#include "gateway/stunio/stun_io.hpp"
#include "media/stunclient/discovery.hpp"

namespace icegate::gateway {
namespace po = boost::program_options;
namespace sc = media::stunclient;

int cmd_stun_check(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  po::options_description desc("icegate stun-check -c FILE [--server NAME] [--expect ADDRESS] [--json]");
  desc.add_options()("help,h", "this help")("config,c", po::value<std::string>(),
                                             "configuration file")(
      "server", po::value<std::string>(), "only this configured STUN server")(
      "stun", po::value<std::string>(), "an extra STUN server HOST[:PORT] instead of the configured ones")(
      "expect", po::value<std::string>(), "the public IP address every server must report")(
      "timeout", po::value<double>()->default_value(10.0),
      "seconds to wait per server (RFC 5389 retransmissions up to then)")(
      "json", "machine-readable output");
  auto vm = parse_options(args, desc, {}, err);
  if (!vm) return kExitUsage;
  if (vm->count("help")) {
    out << desc
        << "\nAsks each STUN server from the media address (a new port on it per server) and\n"
           "prints the mapped address and RTT. Exit code 0 when every server answered (and\n"
           "matched --expect when given), 1 otherwise.\n";
    return kExitOk;
  }
  if (!vm->count("config")) {
    err << "icegate stun-check: no configuration file given (-c FILE)\n" << desc;
    return kExitUsage;
  }
  std::optional<acl::Address> expect;
  if (vm->count("expect")) {
    auto a = acl::Address::parse((*vm)["expect"].as<std::string>());
    if (!a) {
      err << "icegate stun-check: --expect: " << a.error() << "\n";
      return kExitUsage;
    }
    expect = *a;
  }
  const double timeout = (*vm)["timeout"].as<double>();
  if (!(timeout > 0 && timeout <= 600)) {
    err << "icegate stun-check: --timeout must be between 0 and 600 seconds\n";
    return kExitUsage;
  }
  auto loaded = load_and_report((*vm)["config"].as<std::string>(), err);
  if (!loaded) return kExitFailure;
  const auto& cfg = *loaded->config;
  const bool json = vm->count("json") > 0;
  auto opt = [&](const char* k) -> std::optional<std::string> {
    return vm->count(k) ? std::optional((*vm)[k].as<std::string>()) : std::nullopt;
  };
  auto targets = select_stun_targets(cfg, opt("server"), opt("stun"));
  if (!targets) {
    err << "icegate stun-check: " << targets.error() << "\n";
    return kExitFailure;
  }
  const auto& local = cfg.media.address;

  // Resolve (at lookup time, like the gateway) and ask every server at once.
  std::vector<sc::DiscoveryTarget> resolved;
  std::vector<std::string> resolve_errors(targets->size());
  std::vector<std::size_t> index_of;  // resolved[i] is targets[index_of[i]]
  for (std::size_t i = 0; i < targets->size(); ++i) {
    const auto& t = (*targets)[i];
    auto ep = resolve(t.host, t.port, local.family());
    if (!ep) {
      resolve_errors[i] = ep.error();
      continue;
    }
    resolved.push_back({t.name, t.label(), *ep});
    index_of.push_back(i);
  }
  std::vector<sc::DiscoveryAnswer> answers(targets->size());
  for (std::size_t i = 0; i < targets->size(); ++i) {
    answers[i].name = (*targets)[i].name;
    answers[i].label = (*targets)[i].label();
    answers[i].failure = resolve_errors[i];
  }
  if (!resolved.empty()) {
    auto sockets = bind_sockets(local, resolved.size());
    if (!sockets) {
      err << "icegate stun-check: " << sockets.error()
          << " (the media address must be an address of this host)\n";
      return kExitFailure;
    }
    for (std::size_t i = 0; i < resolved.size(); ++i) connect_socket((*sockets)[i], resolved[i].server);
    sc::RetransmitPolicy policy;
    policy.give_up_after = std::chrono::milliseconds(static_cast<long>(timeout * 1000));
    sc::DiscoveryRound engine(resolved, policy, sc::Clock::now());
    drive(engine, *sockets);
    auto got = engine.answers();
    for (std::size_t i = 0; i < got.size(); ++i) answers[index_of[i]] = got[i];
  }
  const auto outcome = sc::evaluate(answers);
  bool all_ok = true;
  for (const auto& a : answers) {
    all_ok = all_ok && a.mapped && (!expect || a.mapped->address == *expect);
  }

  if (json) {
    Json servers = Json::array();
    for (const auto& a : answers) {
      Json s = Json::object();
      s["name"] = a.name;
      s["host"] = a.label;
      s["address"] = a.server.port ? Json(a.server.to_string()) : Json(nullptr);
      s["answered"] = a.mapped.has_value();
      if (a.mapped) {
        s["mapped"] = a.mapped->to_string();
        s["public_ip"] = a.mapped->address.to_string();
        s["rtt_ms"] = json_millis(a.rtt);
        s["transmissions"] = a.transmissions;
        if (expect) s["matches_expect"] = a.mapped->address == *expect;
      } else {
        s["error"] = a.failure;
      }
      servers.push_back(std::move(s));
    }
    Json j = Json::object();
    j["media_address"] = local.to_string();
    j["stun_enabled"] = cfg.stun.enabled;
    j["expect"] = string_or_null(expect);
    j["servers"] = std::move(servers);
    j["agree"] = !outcome.conflict;
    j["public_ip"] = outcome.chosen ? Json(answers[*outcome.chosen].mapped->address.to_string())
                                    : Json(nullptr);
    if (outcome.conflict) j["warning"] = sc::conflict_message(answers, outcome);
    j["ok"] = all_ok;
    out << json_line(j);
    return all_ok ? kExitOk : kExitFailure;
  }

  out << "STUN check from the media address " << local.to_string() << " (one new port per server)";
  if (!cfg.stun.enabled) out << "; note: STUN is disabled in the configuration";
  out << "\n";
  for (const auto& a : answers) {
    out << "  " << a.name << " (" << a.label;
    if (a.server.port && a.server.address.to_string() + ":" + std::to_string(a.server.port) != a.label)
      out << " = " << a.server.to_string();
    out << "): ";
    if (!a.mapped) {
      out << "UNREACHABLE: " << a.failure << "\n";
      continue;
    }
    out << "mapped address " << a.mapped->to_string() << ", RTT " << sc::format_millis(a.rtt) << " ms";
    if (a.transmissions > 1) out << " (answered after " << a.transmissions << " requests)";
    if (expect) {
      out << (a.mapped->address == *expect ? ", matches --expect " : ", DOES NOT MATCH --expect ")
          << expect->to_string();
    }
    if (a.mapped->address == local) out << " (no NAT: the media address itself)";
    out << "\n";
  }
  if (outcome.conflict) {
    out << "WARNING: " << sc::conflict_message(answers, outcome) << "\n";
  } else if (outcome.chosen) {
    std::size_t n = 0;
    for (const auto& a : answers) n += a.mapped.has_value();
    out << (n > 1 ? "all " + std::to_string(n) + " answering servers agree: " : "")
        << "public IP " << answers[*outcome.chosen].mapped->address.to_string() << "\n";
  }
  out << (all_ok ? "result: OK\n" : "result: FAILED\n");
  return all_ok ? kExitOk : kExitFailure;
}

}  // namespace icegate::gateway
