// The running gateway: owns the configuration snapshot, the media engine (ports, ICE-lite,
// relay workers) and the SIP signalling thread with the B2BUA on it.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "conf/config.hpp"
#include "gateway/admin/control.hpp"

namespace icegate::sip {
class Stack;
class B2bua;
}  // namespace icegate::sip

namespace icegate::admin {
class Server;
}

namespace icegate::gateway {

class MediaEngine;
class PublicAddressDiscovery;
class DaemonControl;
namespace notify {
class Watchdog;
}

class Gateway {
 public:
  // `log_level_fixed`: --log-level was given, a reload keeps it. `drained` runs (on the signalling
  // thread) when a drain asked through the control API has seen its last call end.
  Gateway(std::string config_file, bool log_level_fixed, std::function<void()> drained);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // Starts serving with `cfg`; false (after logging why) when a component cannot start.
  bool start(std::shared_ptr<const conf::Config> cfg);
  // Swaps in a new snapshot; components pick up what they can change at run time (users,
  // ACLs, routes, timeouts). Listeners, the media address and the port range need a restart.
  void reload(std::shared_ptr<const conf::Config> cfg);
  // Loads the file again and swaps it in (SIGHUP and the control API; one at a time). The
  // outcome: 200 with the warnings, or 422 with every error (the running configuration stays).
  admin::Outcome reload_file();
  void stop();

  std::shared_ptr<const conf::Config> config() const;

 private:
  std::string file_;
  bool log_level_fixed_ = false;
  std::function<void()> drained_;
  std::mutex reload_mutex_;
  std::shared_ptr<const conf::Config> cfg_;
  std::unique_ptr<MediaEngine> media_;
  std::unique_ptr<sip::Stack> stack_;
  std::unique_ptr<sip::B2bua> b2bua_;
  std::unique_ptr<PublicAddressDiscovery> discovery_;  // STUN on: learns the public address
  std::unique_ptr<DaemonControl> control_;            // <admin>: what the admin listener asks
  std::unique_ptr<admin::Server> admin_;
  std::unique_ptr<notify::Watchdog> watchdog_;  // under systemd: WATCHDOG=1 and STATUS=
};

}  // namespace icegate::gateway
