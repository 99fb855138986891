// The daemon's main loop: starts the gateway and serves until SIGTERM/SIGINT. SIGHUP reloads the
// configuration: a valid new file replaces the snapshot, an invalid one is reported and the
// running configuration is kept. SIGUSR1 reopens the --log-file (after logrotate moved it).
// Under systemd (NOTIFY_SOCKET) it speaks sd_notify(3): READY=1 once started, RELOADING=1 ...
// READY=1 around each reload, STOPPING=1, and the watchdog and STATUS= of notify.hpp.
#pragma once

#include <memory>
#include <string>

#include "conf/config.hpp"

namespace icegate::gateway {

struct RunSettings {
  std::string config_file;  // read again on SIGHUP
  std::string log_level;    // overrides the configured level, across reloads too; empty: none
                            // (is_log_level() of log.hpp: checked by the caller)
  std::string log_file;     // empty: stderr
};

// Sets up logging, starts the gateway with `cfg` (loaded from settings.config_file) and blocks
// until a stop signal. False when the gateway could not start (the reason is logged).
bool run_daemon(const RunSettings& settings, std::shared_ptr<const conf::Config> cfg);

}  // namespace icegate::gateway
