#include "gateway/daemon/public_address.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <map>

#include "gateway/daemon/log.hpp"
#include "gateway/daemon/media_engine.hpp"
#include "gateway/stunio/stun_io.hpp"
#include "media/stunclient/discovery.hpp"

namespace icegate::gateway {
namespace sc = media::stunclient;
namespace {

// stun_views(): the last answers per media address.
struct ViewRegistry {
  std::mutex mutex;
  std::map<std::string, std::vector<StunView>> by_address;
};
ViewRegistry& views() {
  static ViewRegistry r;
  return r;
}
void publish_views(const acl::Address& media_address, std::vector<StunView> v) {
  auto& r = views();
  std::lock_guard lock(r.mutex);
  if (v.empty()) {
    r.by_address.erase(media_address.to_string());
  } else {
    r.by_address[media_address.to_string()] = std::move(v);
  }
}

}  // namespace

std::vector<StunView> stun_views(const acl::Address& media_address) {
  auto& r = views();
  std::lock_guard lock(r.mutex);
  const auto it = r.by_address.find(media_address.to_string());
  return it == r.by_address.end() ? std::vector<StunView>{} : it->second;
}

PublicAddressDiscovery::PublicAddressDiscovery(conf::Stun stun, acl::Address media_address,
                                               Sink sink, Options options, Log log)
    : stun_(std::move(stun)),
      media_address_(media_address),
      sink_(std::move(sink)),
      options_(options),
      log_(std::move(log)),
      wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!log_) {
    log_ = [](Level l, const std::string& text) {
      auto lg = logger("stun");
      if (l == Level::warn) {
        lg->warn("{}", text);
      } else {
        lg->info("{}", text);
      }
    };
  }
  thread_ = std::thread([this] { run(); });
}

PublicAddressDiscovery::~PublicAddressDiscovery() {
  stop();
}

void PublicAddressDiscovery::stop() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  if (wake_fd_) {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(wake_fd_.get(), &one, sizeof one);
  }
  if (thread_.joinable()) thread_.join();
  publish_views(media_address_, {});
}

std::optional<acl::Address> PublicAddressDiscovery::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

void PublicAddressDiscovery::run() {
  for (unsigned failed = 0; !stop_;) {
    if (round(failed + 1)) return;
    ++failed;
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, sc::retry_delay(failed, options_.first_retry, options_.max_retry),
                 [this] { return stop_.load(); });
  }
}

bool PublicAddressDiscovery::round(unsigned attempt) {
  const auto retry = sc::retry_delay(attempt, options_.first_retry, options_.max_retry);
  const auto retry_s = std::chrono::ceil<std::chrono::seconds>(retry).count();
  std::vector<sc::DiscoveryTarget> targets;
  struct Failure {
    std::string server;  // "STUN server X (host:port)"
    std::string reason;
  };
  std::vector<Failure> failures;  // resolution failures first, logged with the others
  for (const auto& s : stun_.servers) {
    const std::string label = s.host + ":" + std::to_string(s.port);
    auto ep = resolve(s.host, s.port, media_address_.family());
    if (!ep) {
      failures.push_back({"STUN server " + s.name + " (" + label + ")", ep.error()});
      continue;
    }
    targets.push_back({s.name, label, *ep});
  }
  std::vector<sc::DiscoveryAnswer> answers;
  if (!targets.empty()) {
    auto sockets = bind_sockets(media_address_, targets.size());
    if (!sockets) {
      log_(Level::warn, "STUN: " + sockets.error() + ": no public candidate is offered; retrying in " +
                            std::to_string(retry_s) + " s");
      return false;
    }
    for (std::size_t i = 0; i < targets.size(); ++i) connect_socket((*sockets)[i], targets[i].server);
    sc::DiscoveryRound engine(targets, options_.policy, sc::Clock::now());
    if (drive(engine, *sockets, std::nullopt, &stop_, wake_fd_.get()) == DriveResult::stopped) {
      return true;
    }
    answers = engine.answers();
  }
  const auto outcome = sc::evaluate(answers);
  for (const auto& a : answers) {
    if (a.mapped) {
      log_(Level::info, "STUN server " + a.name + " (" + a.label + ") says " + a.mapped->to_string() +
                            " (from the media address " + media_address_.to_string() + ", RTT " +
                            sc::format_millis(a.rtt) + " ms)");
    } else {
      failures.push_back({"STUN server " + a.name + " (" + a.label + ")", a.failure});
    }
  }
  if (!outcome.chosen) {
    for (const auto& f : failures) {
      log_(Level::warn, f.server + " unreachable: no public candidate is offered; retrying in " +
                            std::to_string(retry_s) + " s (" + f.reason + ")");
    }
    if (stun_.servers.empty()) {
      log_(Level::warn, "STUN is enabled but no STUN server is configured: no public candidate is offered");
      return true;
    }
    return false;
  }
  for (const auto& f : failures) log_(Level::warn, f.server + " unreachable (" + f.reason + ")");
  if (outcome.conflict) log_(Level::warn, sc::conflict_message(answers, outcome));
  std::vector<StunView> seen;
  for (const auto& a : answers) {
    if (a.mapped) seen.push_back({a.name, a.mapped->address});
  }
  publish_views(media_address_, std::move(seen));
  const auto& chosen = answers[*outcome.chosen];
  const acl::Address addr = chosen.mapped->address;
  {
    std::lock_guard lock(mutex_);
    current_ = addr;
  }
  sink_(addr);
  if (addr == media_address_) {
    log_(Level::info, "public address " + addr.to_string() + " from STUN server " + chosen.name +
                          ": the media address is not behind a NAT, no srflx candidate is needed");
  } else {
    log_(Level::info, "public address " + addr.to_string() + " from STUN server " + chosen.name +
                          " (" + chosen.label + "): srflx candidates are offered");
  }
  return true;
}

bool same_stun_settings(const conf::Stun& a, const conf::Stun& b) {
  if (a.enabled != b.enabled || a.servers.size() != b.servers.size()) return false;
  for (std::size_t i = 0; i < a.servers.size(); ++i) {
    const auto &x = a.servers[i], &y = b.servers[i];
    if (x.name != y.name || x.host != y.host || x.port != y.port) return false;
  }
  return true;
}

void start_public_address_discovery(std::unique_ptr<PublicAddressDiscovery>& slot,
                                    MediaEngine& media, const conf::Config& cfg) {
  slot.reset();
  if (!cfg.stun.enabled) return;
  slot = std::make_unique<PublicAddressDiscovery>(
      cfg.stun, cfg.media.address,
      [&media](const acl::Address& a) { media.set_public_address(a); },
      PublicAddressDiscovery::Options{});
}

void reload_public_address_discovery(std::unique_ptr<PublicAddressDiscovery>& slot,
                                     MediaEngine& media, const conf::Config& old_cfg,
                                     const conf::Config& new_cfg) {
  if (same_stun_settings(old_cfg.stun, new_cfg.stun)) {
    // MediaEngine::reload may have put the static setting back: the learned address wins.
    if (slot) {
      if (auto learned = slot->current()) media.set_public_address(learned);
    }
    return;
  }
  // The media address only changes with a restart: keep asking from the running one.
  const acl::Address running = slot ? slot->media_address() : old_cfg.media.address;
  slot.reset();  // joins the old discovery thread
  if (!new_cfg.stun.enabled) {
    logger("stun")->info("STUN switched off by the reload: {}",
                         new_cfg.media.public_address
                             ? "the static public address " + new_cfg.media.public_address->to_string() + " is used"
                             : std::string("no public candidate is offered"));
    media.set_public_address(new_cfg.media.public_address);
    return;
  }
  logger("stun")->info("STUN settings changed by the reload: asking the STUN server(s) again");
  conf::Config running_cfg;
  running_cfg.stun = new_cfg.stun;
  running_cfg.media.address = running;
  start_public_address_discovery(slot, media, running_cfg);
}

}  // namespace icegate::gateway
