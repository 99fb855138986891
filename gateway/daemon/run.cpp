#include "gateway/daemon/run.hpp"

#include <csignal>

#include "gateway/daemon/gateway.hpp"
#include "gateway/daemon/log.hpp"

namespace icegate::gateway {

bool run_daemon(const RunSettings& settings, std::shared_ptr<const conf::Config> cfg) {
  init_logging(settings.log_level.empty() ? cfg->logging.level : settings.log_level,
               settings.log_file);
  auto log = logger("gateway");

  // Block the signals before any thread starts so that only sigwaitinfo below sees them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  const std::string& file = settings.config_file;
  Gateway gw(file);
  if (!gw.start(std::move(cfg))) {
    log->critical("icegate could not start, see the errors above");
    return false;
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
      if (settings.log_level.empty()) set_log_level(fresh->config->logging.level);
      gw.reload(fresh->config);
      continue;
    }
    log->info("{}: shutting down", info.si_signo == SIGINT ? "SIGINT" : "SIGTERM");
    break;
  }
  gw.stop();
  log->info("stopped");
  return true;
}

}  // namespace icegate::gateway
