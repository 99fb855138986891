#include "gateway/gateway.hpp"

#include "conf/values.hpp"
#include "gateway/log.hpp"

namespace icegate::gateway {

Gateway::Gateway(std::string config_file) : file_(std::move(config_file)) {}
Gateway::~Gateway() { stop(); }

std::shared_ptr<const conf::Config> Gateway::config() const { return std::atomic_load(&cfg_); }

bool Gateway::start(std::shared_ptr<const conf::Config> cfg) {
  auto log = logger("gateway");
  std::atomic_store(&cfg_, std::move(cfg));
  const auto c = config();
  log->info("icegate {} starting with {}", ICEGATE_VERSION, file_);
  for (const auto& l : c->sip.listeners) {
    log->info("SIP listener {}: {} {}:{}", l.name, conf::to_string(l.transport),
              l.address.to_string(), l.port);
  }
  log->info("media address {} RTP ports {}-{}", c->media.address.to_string(), c->media.rtp_min,
            c->media.rtp_max);
  log->info("STUN {}", c->stun.enabled ? "enabled" : "disabled: no public candidate is offered");
  return true;
}

void Gateway::reload(std::shared_ptr<const conf::Config> cfg) {
  std::atomic_store(&cfg_, std::move(cfg));
  logger("gateway")->info("configuration reloaded from {}", file_);
}

void Gateway::stop() {}

}  // namespace icegate::gateway
