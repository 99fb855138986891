// Public address discovery for the srflx candidate (behaviour.md §2): when STUN is enabled,
// every configured server is asked once, at start and again only after a reload that changes
// the STUN settings, never per call. Each server gets its own socket bound to the media address
// on a kernel-chosen port (outside the RTP range, same address and so the same uplink and NAT
// mapping rules; only the IP of the answer is used, the srflx candidate keeps the RTP port).
// Runs on its own thread; the answer goes to a sink (MediaEngine::set_public_address).
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "acl/address.hpp"
#include "acl/unique_fd.hpp"
#include "conf/config.hpp"
#include "media/stunclient/transaction.hpp"

namespace icegate::gateway {

class MediaEngine;

class PublicAddressDiscovery {
 public:
  enum class Level : std::uint8_t { info, warn };
  using Sink = std::function<void(const acl::Address&)>;
  using Log = std::function<void(Level, const std::string&)>;

  struct Options {
    media::stunclient::RetransmitPolicy policy;  // RFC 5389 defaults: 39.5 s per round
    media::stunclient::Duration first_retry = std::chrono::seconds(5);
    media::stunclient::Duration max_retry = std::chrono::minutes(5);
  };

  // Starts the thread at once. `log` defaults to the "stun" logger.
  PublicAddressDiscovery(conf::Stun stun, acl::Address media_address, Sink sink, Options options,
                         Log log = {});
  ~PublicAddressDiscovery();  // stops and joins
  PublicAddressDiscovery(const PublicAddressDiscovery&) = delete;
  PublicAddressDiscovery& operator=(const PublicAddressDiscovery&) = delete;

  void stop();
  const acl::Address& media_address() const noexcept { return media_address_; }
  // The address learned so far.
  std::optional<acl::Address> current() const;

 private:
  void run();
  // One round over every server; true when one of them answered.
  bool round(unsigned failed_rounds);

  conf::Stun stun_;
  acl::Address media_address_;
  Sink sink_;
  Options options_;
  Log log_;
  std::atomic<bool> stop_{false};
  UniqueFd wake_fd_;  // an eventfd: stop() wakes the poll() in drive() through it
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::optional<acl::Address> current_;
  std::thread thread_;
};

// What the STUN servers said about a media address in the last round one of them answered: one
// entry per server that answered, in configuration order. Two different addresses mean several
// public IPs or NICs (behaviour.md §9 pattern 3); the per-call diagnosis reads it. Process-wide:
// the NATs in front of an address belong to the host, not to one Gateway. Written by the
// discovery thread, read by the signalling thread (a mutex); dropped when the discovery of that
// address stops.
struct StunView {
  std::string server;    // the server's configured name
  acl::Address address;  // the public address it saw the media address as
};
std::vector<StunView> stun_views(const acl::Address& media_address);

// Same STUN behaviour (enabled flag and server name/host/port list; comments do not count).
bool same_stun_settings(const conf::Stun& a, const conf::Stun& b);

// The gateway's hooks (gateway.cpp); `slot` is the Gateway's discovery, the sink is
// MediaEngine::set_public_address.
void start_public_address_discovery(std::unique_ptr<PublicAddressDiscovery>& slot,
                                    MediaEngine& media, const conf::Config& cfg);
// After a reload: restarts discovery when the STUN settings changed, stops it when STUN was
// switched off, otherwise re-applies the learned address (which MediaEngine::reload may have
// replaced with the static setting).
void reload_public_address_discovery(std::unique_ptr<PublicAddressDiscovery>& slot,
                                     MediaEngine& media, const conf::Config& old_cfg,
                                     const conf::Config& new_cfg);

}  // namespace icegate::gateway
