// The running gateway: owns the configuration snapshot and, as later issues land, the SIP
// signalling thread and the media workers.
#pragma once

#include <memory>
#include <string>

#include "conf/config.hpp"

namespace icegate::gateway {

class Gateway {
 public:
  explicit Gateway(std::string config_file);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // Starts serving with `cfg`; false (after logging why) when a component cannot start.
  bool start(std::shared_ptr<const conf::Config> cfg);
  // Swaps in a new snapshot; components pick up what they can change at run time.
  void reload(std::shared_ptr<const conf::Config> cfg);
  void stop();

  std::shared_ptr<const conf::Config> config() const;

 private:
  std::string file_;
  std::shared_ptr<const conf::Config> cfg_;
};

}  // namespace icegate::gateway
