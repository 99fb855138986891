// Per-source request rate and bans (Kamailio's pike in spirit): each source address has a
// one-second window and the previous one; its rate is the current count plus the previous
// count weighted by how much of the previous second still lies within the last second. A source
// over the limit is banned for a while: its requests are dropped. Pure state with an injected
// clock (no I/O): tests/sip/rate_limiter_test.cpp drives it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "acl/address.hpp"

namespace icegate::sip::flood {

using Clock = std::chrono::steady_clock;

struct RateSettings {
  unsigned per_second = 200;  // 0: no limit (bans still apply)
  Clock::duration ban_time = std::chrono::seconds(60);
  std::size_t max_sources = 100000;
};

class RateLimiter {
 public:
  using Settings = RateSettings;
  enum class Verdict : std::uint8_t {
    pass,
    banned_now,  // this request took the source over the limit: it is dropped, the ban starts
    first_drop,  // the first request dropped during a ban (the one a 503 may answer)
    dropped,
  };
  struct Outcome {
    Verdict verdict = Verdict::pass;
    double rate = 0;                   // requests per second at this request
    Clock::time_point banned_until{};  // for a dropped request
  };

  explicit RateLimiter(Settings s = {}) : settings_(s) {}
  void set_settings(Settings s) { settings_ = s; }
  const Settings& settings() const { return settings_; }

  // Counts one request from `source`.
  Outcome on_request(const acl::Address& source, Clock::time_point now);
  // Bans `source` until now + ban_time (authentication failures); false if already banned.
  bool ban(const acl::Address& source, Clock::time_point now);
  std::optional<Clock::time_point> banned_until(const acl::Address& source,
                                                Clock::time_point now) const;
  // Sources in the table (tracked or banned), and how many are banned now.
  std::size_t tracked() const { return sources_.size(); }
  std::size_t banned(Clock::time_point now) const;
  std::vector<acl::Address> banned_list(Clock::time_point now) const;
  // Requests not tracked because the table was full of active sources.
  std::uint64_t untracked() const { return untracked_; }

 private:
  struct Entry {
    Clock::time_point window_start{};
    std::uint32_t current = 0;
    std::uint32_t previous = 0;
    Clock::time_point banned_until{};
    bool dropped_one = false;  // a request was dropped during the current ban
    Clock::time_point last_seen{};
  };
  // Forgets sources idle for two windows and not banned.
  void sweep(Clock::time_point now);
  Entry* entry(const acl::Address& source, Clock::time_point now);

  Settings settings_;
  std::map<acl::Address, Entry> sources_;
  Clock::time_point last_sweep_{};
  std::uint64_t untracked_ = 0;
};

// Events (authentication failures) per key within a sliding window: reports when a key reaches
// `limit` events within `window`. Each key keeps at most `limit` time stamps.
class FailureCounter {
 public:
  explicit FailureCounter(std::size_t max_keys = 100000) : max_keys_(max_keys) {}
  // Records one event; returns how many `key` had within the window, this one included (0: the
  // table is full of keys active within the window, the event is not recorded).
  unsigned add(const std::string& key, unsigned limit, Clock::duration window,
               Clock::time_point now);
  void clear(const std::string& key) { keys_.erase(key); }
  std::size_t size() const { return keys_.size(); }

 private:
  void sweep(Clock::duration window, Clock::time_point now);
  std::size_t max_keys_;
  std::map<std::string, std::vector<Clock::time_point>> keys_;
  Clock::time_point last_sweep_{};
};

}  // namespace icegate::sip::flood
