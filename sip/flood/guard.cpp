#include "sip/flood/guard.hpp"

#include "sip/log.hpp"

namespace icegate::sip::flood {
namespace {

long long seconds(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::seconds>(d).count();
}

}  // namespace

void EdgeGuard::configure(const conf::Security& s, Trusted trusted) {
  settings_ = s;
  trusted_ = std::move(trusted);
  limiter_.set_settings({s.requests_per_second, s.ban_time, s.max_tracked_sources});
}

Admission EdgeGuard::admit(const acl::Address& source, Clock::time_point now) {
  if (trusted(source)) return {};
  const auto out = limiter_.on_request(source, now);
  switch (out.verdict) {
    case RateLimiter::Verdict::pass:
      return {};
    case RateLimiter::Verdict::banned_now:
      // Once per ban: a flood must not turn into a flood of log lines.
      log().warn("IP {} banned for {}s: {:.0f} requests/s (limit {}/s)", source.to_string(),
                 seconds(settings_.ban_time), out.rate, settings_.requests_per_second);
      ++stats_.sources_banned["flood"];
      ++stats_.requests_dropped_banned;
      return {Admission::Action::drop, 0, true};
    case RateLimiter::Verdict::first_drop:
      ++stats_.requests_dropped_banned;
      if (settings_.reply_503) {
        // RFC 3261 §21.5.4: Retry-After tells an honest client when to come back.
        return {Admission::Action::reply_503, static_cast<std::uint32_t>(std::max<long long>(
                                                  1, seconds(out.banned_until - now)))};
      }
      return {Admission::Action::drop, 0};
    case RateLimiter::Verdict::dropped:
      ++stats_.requests_dropped_banned;
      return {Admission::Action::drop, 0};
  }
  return {};
}

void EdgeGuard::auth_failed(const acl::Address& source, const std::string& user, bool known_user,
                            Clock::time_point now) {
  if (trusted(source)) return;
  if (settings_.auth_failures > 0) {
    const unsigned n =
        by_source_.add(source.to_string(), settings_.auth_failures, settings_.auth_window, now);
    if (n >= settings_.auth_failures && limiter_.ban(source, now)) {
      log().warn("IP {} banned for {}s: {} failed authentications within {}s (last as \"{}\")",
                 source.to_string(), seconds(settings_.ban_time), n, seconds(settings_.auth_window),
                 user);
      ++stats_.sources_banned["auth"];
      by_source_.clear(source.to_string());
    }
  }
  // Only configured users are counted: unknown names are unbounded (and lock nobody out).
  if (known_user && settings_.user_auth_failures > 0) {
    const unsigned n = by_user_.add(user, settings_.user_auth_failures, settings_.auth_window, now);
    if (n >= settings_.user_auth_failures) {
      auto& until = locked_users_[user];
      if (until <= now) {
        log().warn(
            "user \"{}\" locked for {}s: {} failed authentications within {}s (last from {})", user,
            seconds(settings_.ban_time), n, seconds(settings_.auth_window), source.to_string());
        ++stats_.users_locked;
      }
      until = now + settings_.ban_time;
      by_user_.clear(user);
    }
  }
}

bool EdgeGuard::user_locked(const std::string& user, const acl::Address& source,
                            Clock::time_point now) const {
  auto it = locked_users_.find(user);
  return it != locked_users_.end() && it->second > now && !trusted(source);
}

}  // namespace icegate::sip::flood
