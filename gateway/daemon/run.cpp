#include "gateway/daemon/run.hpp"

#include <unistd.h>

#include <csignal>

#include "gateway/daemon/gateway.hpp"
#include "gateway/daemon/log.hpp"
#include "gateway/daemon/notify.hpp"

namespace icegate::gateway {

bool run_daemon(const RunSettings& settings, std::shared_ptr<const conf::Config> cfg) {
  const std::string level = settings.log_level.empty() ? cfg->logging.level : settings.log_level;
  if (auto error = init_logging(level, settings.log_file); !error.empty()) {
    init_logging(level);  // stderr
    logger("gateway")->critical("icegate could not start: cannot open the log file {}: {}",
                                settings.log_file, error);
    return false;
  }
  auto log = logger("gateway");

  // Block the signals before any thread starts so that only sigwaitinfo below sees them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGUSR1);  // reopen the --log-file (logrotate's postrotate)
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  const std::string& file = settings.config_file;
  // A drain through the control API ends like SIGTERM once the last call is gone.
  Gateway gw(file, !settings.log_level.empty(), [] { ::kill(::getpid(), SIGTERM); });
  if (!gw.start(std::move(cfg))) {
    log->critical("icegate could not start, see the errors above");
    return false;
  }
  notify::ready();  // every listener is bound (systemd Type=notify)
  for (;;) {
    siginfo_t info;
    if (sigwaitinfo(&set, &info) < 0) continue;
    if (info.si_signo == SIGHUP) {
      log->info("SIGHUP: reloading {}", file);
      gw.reload_file();
      continue;
    }
    if (info.si_signo == SIGUSR1) {
      if (settings.log_file.empty()) {
        log->info("SIGUSR1: no log file to reopen (logging to stderr)");
      } else if (auto error = reopen_log_file(); error.empty()) {
        log->info("SIGUSR1: reopened the log file {}", settings.log_file);
      } else {
        log->error("SIGUSR1: cannot reopen the log file {}: {}; still logging to the old one",
                   settings.log_file, error);
      }
      continue;
    }
    log->info("{}: shutting down", info.si_signo == SIGINT ? "SIGINT" : "SIGTERM");
    break;
  }
  notify::stopping();
  gw.stop();
  log->info("stopped");
  return true;
}

}  // namespace icegate::gateway
