#include "gateway/daemon/gateway.hpp"

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "conf/host_checks.hpp"
#include "conf/values.hpp"
#include "gateway/admin/server.hpp"
#include "gateway/daemon/control.hpp"
#include "gateway/daemon/log.hpp"
#include "gateway/daemon/media_engine.hpp"
#include "gateway/daemon/notify.hpp"
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

// The admin page's static files: installed beside the program, or in the source tree.
std::string admin_page_dir() {
  for (const char* dir : {ICEGATE_ADMIN_PAGE_DIR}) {
    std::error_code ec;
    if (std::filesystem::is_directory(dir, ec)) return dir;
  }
  return {};
}

// The webphone's static files (tools/webphone/), found the same way.
std::string webphone_dir() {
  for (const char* dir : {ICEGATE_WEBPHONE_DIR}) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(std::filesystem::path(dir) / "index.html", ec)) return dir;
  }
  return {};
}

}  // namespace

Gateway::Gateway(std::string config_file, bool log_level_fixed, std::function<void()> drained)
    : file_(std::move(config_file)), log_level_fixed_(log_level_fixed), drained_(std::move(drained)) {}
Gateway::~Gateway() { stop(); }

namespace {

// The ports a call's SIP may use, for a per-call capture: the listeners' and the trunks'.
std::vector<std::uint16_t> sip_ports(const conf::Config& c) {
  std::vector<std::uint16_t> ports;
  for (const auto& l : c.sip.listeners) ports.push_back(l.port);
  for (const auto& t : c.trunks) {
    for (const auto& a : t.addresses) ports.push_back(a.port);
  }
  return ports;
}

}  // namespace

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
  // A media address that is not this host's would start fine and fail every call with 503.
  if (auto problem = conf::media_address_problem(*c)) {
    log->critical("{}", *problem);
    return false;
  }
  try {
    media_ = std::make_unique<MediaEngine>(c->media, c->dtls);
    media_->set_stun_enabled(c->stun.enabled);
    media_->configure_captures(c->capture, sip_ports(*c));
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
  if (c->admin) {
    ControlHooks hooks;
    hooks.reload = [this] { return reload_file(); };
    hooks.drained = [this] {
      logger("gateway")->info("drained: no call left");
      if (drained_) drained_();
    };
    hooks.config_file = file_;
    control_ = std::make_unique<DaemonControl>(*stack_, *b2bua_, *media_, std::move(hooks));
    admin_ =
        std::make_unique<admin::Server>(*c->admin, *control_, admin_page_dir(), webphone_dir());
    if (auto err = admin_->start()) {
      log->critical("cannot start the admin listener: {}", *err);
      admin_.reset();
      control_.reset();
      stop();
      return false;
    }
  }
  log->info("icegate is up");
  if (std::getenv("NOTIFY_SOCKET")) {  // under systemd (notify.hpp)
    notify::Watchdog::Probes probes;
    probes.post = [s = stack_.get()](std::function<void()> fn) { s->post(std::move(fn)); };
    probes.counts = [b = b2bua_.get()] {
      return notify::Counts{b->active_calls(),
                            b->registrar().all(sip::Registrar::Clock::now()).size()};
    };
    probes.worker_heartbeats = [m = media_.get()] { return m->worker_heartbeats(); };
    watchdog_ = std::make_unique<notify::Watchdog>(std::move(probes), notify::watchdog_interval());
  }
  return true;
}

admin::Outcome Gateway::reload_file() {
  std::lock_guard lock(reload_mutex_);
  // systemd: reloading until READY=1, which follows a refused file too (the old one serves).
  notify::reloading();
  struct ReadyAgain {
    ~ReadyAgain() { notify::ready(); }
  } ready_again;
  auto log = logger("gateway");
  auto fresh = conf::load_file(file_);
  nlohmann::json body;
  if (!fresh) {
    nlohmann::json errors = nlohmann::json::array();
    for (const auto& d : fresh.error()) {
      log->error("{}", d.to_string());
      errors.push_back(d.to_string());
    }
    log->error("reload refused: {} error(s), the running configuration stays",
               fresh.error().size());
    return {422, {{"reloaded", false}, {"errors", errors}}};
  }
  nlohmann::json warnings = nlohmann::json::array();
  for (const auto& w : fresh->warnings) {
    log->warn("{}", w.to_string());
    warnings.push_back(w.to_string());
  }
  if (!log_level_fixed_) set_log_level(fresh->config->logging.level);
  // The admin listener itself is not rebound on reload (like the SIP listeners): say so when
  // its settings changed, or the operator believes a new token is in force.
  const auto& was = config()->admin;
  const auto& now = fresh->config->admin;
  const bool admin_changed =
      was.has_value() != now.has_value() ||
      (was && (was->address != now->address || was->port != now->port ||
               was->token != now->token || was->certificate_file != now->certificate_file ||
               was->private_key_file != now->private_key_file ||
               was->client_ca_file != now->client_ca_file));
  if (admin_changed) {
    const std::string w = "<admin> changed: the admin listener keeps its old settings (address, "
                          "port, token, TLS) until icegate is restarted";
    log->warn("{}", w);
    warnings.push_back(w);
  }
  reload(fresh->config);
  return {200, {{"reloaded", true}, {"warnings", warnings}}};
}

void Gateway::reload(std::shared_ptr<const conf::Config> cfg) {
  const auto old = config();
  std::atomic_store(&cfg_, cfg);
  if (media_) {
    media_->reload(cfg->media, cfg->dtls);
    media_->set_stun_enabled(cfg->stun.enabled);
  }
  if (media_ && old) reload_public_address_discovery(discovery_, *media_, *old, *cfg);
  if (stack_ && b2bua_) {
    stack_->post([b = b2bua_.get(), cfg] { b->reload(cfg); });
  }
  if (stack_ && media_) {
    stack_->post([m = media_.get(), cfg] { m->configure_captures(cfg->capture, sip_ports(*cfg)); });
  }
  logger("gateway")->info("configuration reloaded from {}", file_);
}

void Gateway::stop() {
  watchdog_.reset();  // before the signalling thread and the workers it probes
  admin_.reset();  // no more questions to the signalling thread
  control_.reset();
  if (stack_) stack_->stop();  // ends every call, shuts nua down, joins the thread
  b2bua_.reset();
  stack_.reset();
  discovery_.reset();  // joins the discovery thread before the media engine goes
  media_.reset();  // joins the media workers
}

}  // namespace icegate::gateway
