#include "gateway/daemon/gateway.hpp"

#include <stdexcept>

#include "conf/values.hpp"
#include "gateway/daemon/log.hpp"
#include "gateway/daemon/media_engine.hpp"
#include "gateway/daemon/public_address.hpp"
#include "sip/b2bua.hpp"
#include "sip/stack.hpp"

namespace icegate::gateway {
namespace {

// spdlog level name -> Sofia's 0..9 verbosity.
int sofia_level(const std::string& level) {
  if (level == "trace") return 9;
  if (level == "debug") return 5;
  if (level == "info") return 3;
  if (level == "warn") return 1;
  return 0;
}

}  // namespace

Gateway::Gateway(std::string config_file) : file_(std::move(config_file)) {}
Gateway::~Gateway() { stop(); }

std::shared_ptr<const conf::Config> Gateway::config() const { return std::atomic_load(&cfg_); }

bool Gateway::start(std::shared_ptr<const conf::Config> cfg) {
  auto log = logger("gateway");
  logger("sip");
  logger("sofia");
  logger("media");
  std::atomic_store(&cfg_, std::move(cfg));
  const auto c = config();
  log->info("icegate {} starting with {}", ICEGATE_VERSION, file_);
  for (const auto& l : c->sip.listeners) {
    log->info("SIP listener {}: {} {}:{}", l.name, conf::to_string(l.transport),
              l.address.to_string(), l.port);
  }
  try {
    media_ = std::make_unique<MediaEngine>(c->media, c->dtls);
  } catch (const std::exception& e) {
    log->critical("cannot start the media engine: {}", e.what());
    return false;
  }
  if (c->media.public_address) {
    log->info("public address {} (static setting): srflx candidates are offered",
              c->media.public_address->to_string());
  } else if (!c->stun.enabled) {
    log->info("STUN disabled and no public address: only host candidates are offered");
  }
  stack_ = std::make_unique<sip::Stack>();
  b2bua_ = std::make_unique<sip::B2bua>(*stack_, *media_, c);
  std::string error;
  if (!stack_->start(c->sip, *b2bua_, sofia_level(c->logging.sofia_level), error)) {
    log->critical("cannot start SIP: {}", error);
    b2bua_.reset();
    stack_.reset();
    media_.reset();
    return false;
  }
  start_public_address_discovery(discovery_, *media_, *c);  // STUN on: its own thread, once (public_address.hpp)
  log->info("icegate is up");
  return true;
}

void Gateway::reload(std::shared_ptr<const conf::Config> cfg) {
  const auto old = config();
  std::atomic_store(&cfg_, cfg);
  if (media_) media_->reload(cfg->media, cfg->dtls);
  if (media_ && old) reload_public_address_discovery(discovery_, *media_, *old, *cfg);
  if (stack_ && b2bua_) {
    stack_->post([b = b2bua_.get(), cfg] { b->reload(cfg); });
  }
  logger("gateway")->info("configuration reloaded from {}", file_);
}

void Gateway::stop() {
  if (stack_) stack_->stop();  // ends every call, shuts nua down, joins the thread
  b2bua_.reset();
  stack_.reset();
  discovery_.reset();  // joins the discovery thread before the media engine goes
  media_.reset();  // joins the media workers
}

}  // namespace icegate::gateway
