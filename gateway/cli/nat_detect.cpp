// `icegate nat-detect`: the NAT in front of the media address, by RFC 5780 (behaviour.md §8).
#include "gateway/cli/nat_detect.hpp"

#include <ostream>

#include "gateway/cli/cli.hpp"
#include "gateway/cli/nat_report.hpp"
#include "gateway/cli/options.hpp"
#include "gateway/cli/stun_cli.hpp"
#include "gateway/stunio/stun_io.hpp"

namespace icegate::gateway {
namespace po = boost::program_options;
namespace sc = media::stunclient;

int cmd_nat_detect(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  po::options_description desc(
      "icegate nat-detect -c FILE [--server NAME | --stun HOST[:PORT]] [--json] [--lifetime]");
  desc.add_options()("help,h", "this help")("config,c", po::value<std::string>(),
                                             "configuration file")(
      "server", po::value<std::string>(), "the configured STUN server to use (default: the first)")(
      "stun", po::value<std::string>(), "another STUN server, HOST[:PORT] (port 3478 by default)")(
      "timeout", po::value<double>()->default_value(3.0),
      "seconds to wait for each test's answer (a filtered test waits this long)")(
      "lifetime", "also estimate the binding lifetime (RFC 5780 4.6); takes --lifetime-max")(
      "lifetime-max", po::value<double>()->default_value(60.0),
      "longest binding lifetime to test, in seconds (bounded to 600)")(
      "json", "machine-readable output");
  auto vm = parse_options(args, desc, {}, err);
  if (!vm) return kExitUsage;
  if (vm->count("help")) {
    out << desc
        << "\nRuns the RFC 5780 mapping, filtering and hairpinning tests from the media address\n"
           "and names the RFC 3489 NAT class with a recommendation. Needs a server that supports\n"
           "RFC 5780 (two addresses: OTHER-ADDRESS); with another one the answer is partial.\n"
           "Exit code 0 when the server answered, 1 when it did not or on a configuration error.\n";
    return kExitOk;
  }
  if (!vm->count("config")) {
    err << "icegate nat-detect: no configuration file given (-c FILE)\n" << desc;
    return kExitUsage;
  }
  if (vm->count("server") && vm->count("stun")) {
    err << "icegate nat-detect: give --server or --stun, not both\n";
    return kExitUsage;
  }
  const double timeout = (*vm)["timeout"].as<double>();
  const double lifetime_max = (*vm)["lifetime-max"].as<double>();
  if (!(timeout > 0 && timeout <= 60) || !(lifetime_max >= 1 && lifetime_max <= 600)) {
    err << "icegate nat-detect: --timeout must be in (0, 60] and --lifetime-max in [1, 600] seconds\n";
    return kExitUsage;
  }
  auto loaded = load_and_report((*vm)["config"].as<std::string>(), err);
  if (!loaded) return kExitFailure;
  const auto& cfg = *loaded->config;
  auto opt = [&](const char* k) -> std::optional<std::string> {
    return vm->count(k) ? std::optional((*vm)[k].as<std::string>()) : std::nullopt;
  };
  auto targets = select_stun_targets(cfg, opt("server"), opt("stun"));
  if (!targets) {
    err << "icegate nat-detect: " << targets.error() << "\n";
    return kExitFailure;
  }
  const auto target = targets->front();
  const auto& local = cfg.media.address;
  auto server = resolve(target.host, target.port, local.family());
  if (!server) {
    err << "icegate nat-detect: STUN server " << target.name << ": " << server.error() << "\n";
    return kExitFailure;
  }
  auto sockets = bind_sockets(local, sc::NatDetector::kSockets);
  if (!sockets) {
    err << "icegate nat-detect: " << sockets.error()
        << " (the media address must be an address of this host)\n";
    return kExitFailure;
  }
  std::vector<media::Endpoint> locals;
  for (const auto& s : *sockets) locals.push_back(s.local());
  sc::RetransmitPolicy policy;
  policy.give_up_after = std::chrono::milliseconds(static_cast<long>(timeout * 1000));

  NatDetectResult result{target.name, target.label(), {}, std::nullopt};
  {
    sc::NatDetector engine(*server, locals, policy, sc::Clock::now());
    drive(engine, *sockets);
    result.report = engine.report();
  }
  if (vm->count("lifetime") && result.report.answered) {
    const auto waits = sc::lifetime_waits(std::chrono::milliseconds(static_cast<long>(lifetime_max * 1000)));
    auto lsockets = bind_sockets(local, waits.size() + 1);
    if (!lsockets) {
      err << "icegate nat-detect: " << lsockets.error() << "\n";
      return kExitFailure;
    }
    if (!vm->count("json")) {
      err << "estimating the binding lifetime: up to " << static_cast<long>(lifetime_max)
          << " s...\n";
    }
    sc::LifetimeProber prober(*server, waits, policy, sc::Clock::now());
    drive(prober, *lsockets);
    result.lifetime = prober.estimate();
  }
  out << (vm->count("json") ? format_nat_json(result, cfg.media) : format_nat_text(result, cfg.media));
  return result.report.answered ? kExitOk : kExitFailure;
}

}  // namespace icegate::gateway
