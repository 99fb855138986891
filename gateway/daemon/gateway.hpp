// The running gateway: owns the configuration snapshot, the media engine (ports, ICE-lite,
// relay workers) and the SIP signalling thread with the B2BUA on it.
#pragma once

#include <memory>
#include <string>

#include "conf/config.hpp"

namespace icegate::sip {
class Stack;
class B2bua;
}  // namespace icegate::sip

namespace icegate::gateway {

class MediaEngine;
class PublicAddressDiscovery;

class Gateway {
 public:
  explicit Gateway(std::string config_file);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // Starts serving with `cfg`; false (after logging why) when a component cannot start.
  bool start(std::shared_ptr<const conf::Config> cfg);
  // Swaps in a new snapshot; components pick up what they can change at run time (users,
  // ACLs, routes, timeouts). Listeners, the media address and the port range need a restart.
  void reload(std::shared_ptr<const conf::Config> cfg);
  void stop();

  std::shared_ptr<const conf::Config> config() const;

 private:
  std::string file_;
  std::shared_ptr<const conf::Config> cfg_;
  std::unique_ptr<MediaEngine> media_;
  std::unique_ptr<sip::Stack> stack_;
  std::unique_ptr<sip::B2bua> b2bua_;
  std::unique_ptr<PublicAddressDiscovery> discovery_;  // STUN on: learns the public address
};

}  // namespace icegate::gateway
