// `icegate run`: loads the configuration, starts the gateway and serves until SIGTERM/SIGINT.
// SIGHUP reloads the configuration: a valid new file replaces the snapshot, an invalid one is
// reported and the running configuration is kept.
#include <csignal>
#include <ostream>

#include "gateway/cli.hpp"
#include "gateway/gateway.hpp"
#include "gateway/log.hpp"
#include "gateway/options.hpp"

namespace icegate::gateway {
namespace po = boost::program_options;

int cmd_run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  po::options_description desc("icegate run -c FILE");
  desc.add_options()("help,h", "this help")("config,c", po::value<std::string>(),
                                             "configuration file")(
      "log-level", po::value<std::string>(), "override the configured log level")(
      "log-file", po::value<std::string>(), "log to this file instead of stderr");
  auto vm = parse_options(args, desc, {}, err);
  if (!vm) return kExitUsage;
  if (vm->count("help")) {
    out << desc;
    return kExitOk;
  }
  if (!vm->count("config")) {
    err << "icegate run: no configuration file given (-c FILE)\n" << desc;
    return kExitUsage;
  }
  const auto file = (*vm)["config"].as<std::string>();
  auto loaded = load_and_report(file, err);
  if (!loaded) return kExitFailure;
  const std::string level_override =
      vm->count("log-level") ? (*vm)["log-level"].as<std::string>() : std::string();
  init_logging(level_override.empty() ? loaded->config->logging.level : level_override,
               vm->count("log-file") ? (*vm)["log-file"].as<std::string>() : std::string());
  auto log = logger("gateway");

  // Block the signals before any thread starts so that only sigwaitinfo below sees them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  Gateway gw(file);
  if (!gw.start(loaded->config)) {
    log->critical("icegate could not start, see the errors above");
    return kExitFailure;
  }
  for (;;) {
    siginfo_t info;
    if (sigwaitinfo(&set, &info) < 0) continue;
    if (info.si_signo == SIGHUP) {
      log->info("SIGHUP: reloading {}", file);
      auto fresh = conf::load_file(file);
      if (!fresh) {
        for (const auto& d : fresh.error()) log->error("{}", d.to_string());
        log->error("reload refused: {} error(s), the running configuration stays",
                   fresh.error().size());
        continue;
      }
      for (const auto& w : fresh->warnings) log->warn("{}", w.to_string());
      if (level_override.empty()) set_log_level(fresh->config->logging.level);
      gw.reload(fresh->config);
      continue;
    }
    log->info("{}: shutting down", info.si_signo == SIGINT ? "SIGINT" : "SIGTERM");
    break;
  }
  gw.stop();
  log->info("stopped");
  return kExitOk;
}

}  // namespace icegate::gateway
