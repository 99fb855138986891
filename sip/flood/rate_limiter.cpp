#include "sip/flood/rate_limiter.hpp"

#include <algorithm>

namespace icegate::sip::flood {
namespace {

constexpr Clock::duration kWindow = std::chrono::seconds(1);
constexpr Clock::duration kSweepEvery = std::chrono::seconds(5);

}  // namespace

void RateLimiter::sweep(Clock::time_point now) {
  last_sweep_ = now;
  std::erase_if(sources_, [&](const auto& kv) {
    return kv.second.banned_until <= now && now - kv.second.last_seen > 2 * kWindow;
  });
}

RateLimiter::Entry* RateLimiter::entry(const acl::Address& source, Clock::time_point now) {
  if (now - last_sweep_ > kSweepEvery) sweep(now);
  auto it = sources_.find(source);
  if (it != sources_.end()) return &it->second;
  if (sources_.size() >= settings_.max_sources) {
    sweep(now);
    if (sources_.size() >= settings_.max_sources) return nullptr;
  }
  Entry& e = sources_[source];
  e.window_start = now;
  return &e;
}

RateLimiter::Outcome RateLimiter::on_request(const acl::Address& source, Clock::time_point now) {
  Outcome out;
  Entry* e = entry(source, now);
  if (!e) {
    ++untracked_;
    return out;
  }
  e->last_seen = now;
  // Windows: roll forward; after two idle windows nothing of the past counts.
  const auto elapsed = now - e->window_start;
  if (elapsed >= 2 * kWindow) {
    e->previous = 0;
    e->current = 0;
    e->window_start = now;
  } else if (elapsed >= kWindow) {
    e->previous = e->current;
    e->current = 0;
    e->window_start += kWindow;
  }
  ++e->current;
  const double into =
      std::chrono::duration<double>(now - e->window_start) / std::chrono::duration<double>(kWindow);
  out.rate = e->current + e->previous * std::max(0.0, 1.0 - into);
  if (e->banned_until > now) {
    out.verdict = e->dropped_one ? Verdict::dropped : Verdict::first_drop;
    e->dropped_one = true;
    out.banned_until = e->banned_until;
    return out;
  }
  if (settings_.per_second > 0 && out.rate > settings_.per_second) {
    e->banned_until = now + settings_.ban_time;
    e->dropped_one = false;
    out.verdict = Verdict::banned_now;
    out.banned_until = e->banned_until;
  }
  return out;
}

bool RateLimiter::ban(const acl::Address& source, Clock::time_point now) {
  Entry* e = entry(source, now);
  if (!e) return false;
  e->last_seen = now;
  if (e->banned_until > now) return false;
  e->banned_until = now + settings_.ban_time;
  e->dropped_one = false;
  return true;
}

std::optional<Clock::time_point> RateLimiter::banned_until(const acl::Address& source,
                                                           Clock::time_point now) const {
  auto it = sources_.find(source);
  if (it == sources_.end() || it->second.banned_until <= now) return std::nullopt;
  return it->second.banned_until;
}

std::size_t RateLimiter::banned(Clock::time_point now) const {
  return static_cast<std::size_t>(
      std::count_if(sources_.begin(), sources_.end(),
                    [&](const auto& kv) { return kv.second.banned_until > now; }));
}

std::vector<acl::Address> RateLimiter::banned_list(Clock::time_point now) const {
  std::vector<acl::Address> out;
  for (const auto& [a, e] : sources_) {
    if (e.banned_until > now) out.push_back(a);
  }
  return out;
}

void FailureCounter::sweep(Clock::duration window, Clock::time_point now) {
  last_sweep_ = now;
  std::erase_if(
      keys_, [&](const auto& kv) { return kv.second.empty() || now - kv.second.back() > window; });
}

unsigned FailureCounter::add(const std::string& key, unsigned limit, Clock::duration window,
                             Clock::time_point now) {
  if (now - last_sweep_ > window) sweep(window, now);
  if (keys_.size() >= max_keys_ && !keys_.count(key)) {
    sweep(window, now);
    if (keys_.size() >= max_keys_) return 0;
  }
  auto& stamps = keys_[key];
  std::erase_if(stamps, [&](Clock::time_point t) { return now - t >= window; });
  stamps.push_back(now);
  const std::size_t keep = std::max<std::size_t>(limit, 1);
  if (stamps.size() > keep) stamps.erase(stamps.begin(), stamps.end() - static_cast<long>(keep));
  return static_cast<unsigned>(stamps.size());
}

}  // namespace icegate::sip::flood
