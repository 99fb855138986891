// The per-source rate limiter, the failure counter and the edge guard (sip/flood/), with an
// injected clock.
#include <gtest/gtest.h>

#include "sip/flood/guard.hpp"
#include "sip/flood/rate_limiter.hpp"

namespace icegate::sip::flood {
namespace {

using namespace std::chrono_literals;
const acl::Address kFlooder = *acl::Address::parse("203.0.113.5");
const acl::Address kPhone = *acl::Address::parse("192.0.2.10");
const acl::Address kTrunk = *acl::Address::parse("198.51.100.1");

// Sends `n` requests spread evenly over `over`, returns the verdicts' counts.
struct Counts {
  unsigned pass = 0, banned_now = 0, first_drop = 0, dropped = 0;
};
Counts send(RateLimiter& l, const acl::Address& a, unsigned n, Clock::duration over,
            Clock::time_point& now) {
  Counts c;
  const auto step = over / n;
  for (unsigned i = 0; i < n; ++i) {
    switch (l.on_request(a, now).verdict) {
      case RateLimiter::Verdict::pass:
        ++c.pass;
        break;
      case RateLimiter::Verdict::banned_now:
        ++c.banned_now;
        break;
      case RateLimiter::Verdict::first_drop:
        ++c.first_drop;
        break;
      case RateLimiter::Verdict::dropped:
        ++c.dropped;
        break;
    }
    now += step;
  }
  return c;
}

TEST(RateLimiter, SteadyRateUnderTheLimitPasses) {
  RateLimiter l({100, 60s, 1000});
  Clock::time_point now{};
  const auto c = send(l, kPhone, 900, 10s, now);  // 90/s for 10 s
  EXPECT_EQ(c.pass, 900U);
  EXPECT_FALSE(l.banned_until(kPhone, now));
}

TEST(RateLimiter, BurstOverTheLimitBansForTheBanTime) {
  RateLimiter l({100, 60s, 1000});
  Clock::time_point now{};
  const auto c = send(l, kFlooder, 400, 1s, now);  // 400/s
  EXPECT_EQ(c.banned_now, 1U);
  EXPECT_EQ(c.pass, 100U) << "the limit passes, the one over it starts the ban";
  EXPECT_EQ(c.first_drop, 1U);
  EXPECT_EQ(c.dropped, 298U);
  ASSERT_TRUE(l.banned_until(kFlooder, now));
  // Another source is not affected.
  EXPECT_EQ(l.on_request(kPhone, now).verdict, RateLimiter::Verdict::pass);
  // Still banned just before the end, free after (and counted afresh).
  EXPECT_NE(l.on_request(kFlooder, now + 58s).verdict, RateLimiter::Verdict::pass);
  EXPECT_EQ(l.on_request(kFlooder, now + 61s).verdict, RateLimiter::Verdict::pass);
  EXPECT_EQ(l.banned(now + 61s), 0U);
}

TEST(RateLimiter, RateSpansTheWindowBoundary) {
  // 80 at the end of one second and 80 at the start of the next are 160 within a second.
  RateLimiter l({100, 10s, 1000});
  Clock::time_point now{};
  l.on_request(kFlooder, now);  // the window starts here
  now += 900ms;
  auto c = send(l, kFlooder, 80, 90ms, now);
  EXPECT_EQ(c.pass, 80U);
  c = send(l, kFlooder, 80, 90ms, now);
  EXPECT_EQ(c.banned_now, 1U) << "a fixed one-second window would have missed it";
}

TEST(RateLimiter, TableIsBoundedAndIdleSourcesAreForgotten) {
  RateLimiter l({100, 10s, 3});
  Clock::time_point now{};
  for (std::uint8_t i = 1; i <= 5; ++i) {
    l.on_request(acl::Address::v4({10, 0, 0, i}), now);
  }
  EXPECT_EQ(l.tracked(), 3U);
  EXPECT_EQ(l.untracked(), 2U);
  now += 10s;
  l.on_request(kPhone, now);
  EXPECT_EQ(l.tracked(), 1U) << "idle sources swept";
}

TEST(FailureCounter, CountsWithinTheWindow) {
  FailureCounter f;
  Clock::time_point now{};
  EXPECT_EQ(f.add("a", 3, 60s, now), 1U);
  EXPECT_EQ(f.add("a", 3, 60s, now + 10s), 2U);
  EXPECT_EQ(f.add("b", 3, 60s, now + 10s), 1U);
  EXPECT_EQ(f.add("a", 3, 60s, now + 65s), 2U) << "the first one left the window";
  EXPECT_EQ(f.add("a", 3, 60s, now + 66s), 3U);
  EXPECT_EQ(f.add("a", 3, 60s, now + 67s), 3U) << "capped at the limit";
}

TEST(FailureCounter, KeysAreBounded) {
  FailureCounter f(2);
  Clock::time_point now{};
  EXPECT_EQ(f.add("a", 3, 60s, now), 1U);
  EXPECT_EQ(f.add("b", 3, 60s, now), 1U);
  EXPECT_EQ(f.add("c", 3, 60s, now), 0U) << "full of active keys";
  EXPECT_EQ(f.add("a", 3, 60s, now), 2U) << "known keys still count";
  EXPECT_EQ(f.add("c", 3, 60s, now + 61s), 1U) << "old keys swept";
  EXPECT_EQ(f.size(), 1U);
}

struct GuardTest : ::testing::Test {
  SipStats stats;
  EdgeGuard guard{stats};
  conf::Security s;
  Clock::time_point now{};
  void SetUp() override {
    s.requests_per_second = 50;
    s.auth_failures = 5;
    s.user_auth_failures = 8;
    s.ban_time = 30s;
    s.auth_window = 60s;
    guard.configure(s, [](const acl::Address& a) { return a == kTrunk; });
  }
};

TEST_F(GuardTest, FloodIsBannedAndCountedTrunkIsExempt) {
  unsigned passed = 0;
  for (int i = 0; i < 500; ++i) {
    if (guard.admit(kFlooder, now).action == Admission::Action::pass) ++passed;
    if (guard.admit(kTrunk, now).action != Admission::Action::pass) FAIL() << "trunk limited";
    now += 2ms;  // 500/s each
  }
  EXPECT_EQ(passed, 50U);
  EXPECT_EQ(stats.sources_banned["flood"], 1U) << "one ban, however long the flood";
  EXPECT_EQ(stats.requests_dropped_banned, 450U);
  EXPECT_EQ(guard.admit(kPhone, now).action, Admission::Action::pass);
}

TEST_F(GuardTest, OptionalFirst503CarriesRetryAfter) {
  s.reply_503 = true;
  guard.configure(s, nullptr);
  for (int i = 0; i <= 50; ++i) guard.admit(kFlooder, now);  // the 51st starts the ban
  const auto first = guard.admit(kFlooder, now);
  EXPECT_EQ(first.action, Admission::Action::reply_503);
  EXPECT_EQ(first.retry_after, 30U);
  EXPECT_EQ(guard.admit(kFlooder, now).action, Admission::Action::drop) << "once per ban";
}

TEST_F(GuardTest, PasswordGuessingBansTheSource) {
  for (int i = 0; i < 4; ++i)
    guard.auth_failed(kFlooder, "1001", true, now + std::chrono::seconds(i));
  EXPECT_EQ(guard.admit(kFlooder, now + 5s).action, Admission::Action::pass);
  guard.auth_failed(kFlooder, "1001", true, now + 5s);
  EXPECT_EQ(stats.sources_banned["auth"], 1U);
  EXPECT_EQ(guard.admit(kFlooder, now + 6s).action, Admission::Action::drop);
  EXPECT_EQ(guard.admit(kFlooder, now + 40s).action, Admission::Action::pass) << "ban over";
  // Failures spread wider than the window never ban.
  for (int i = 0; i < 20; ++i)
    guard.auth_failed(kPhone, "1002", true, now + std::chrono::seconds(20 * i));
  EXPECT_EQ(stats.sources_banned["auth"], 1U);
  // Trusted sources are never banned.
  for (int i = 0; i < 20; ++i) guard.auth_failed(kTrunk, "x", false, now);
  EXPECT_EQ(guard.admit(kTrunk, now).action, Admission::Action::pass);
}

TEST_F(GuardTest, GuessingOneUserFromManySourcesLocksTheUser) {
  for (std::uint8_t i = 1; i <= 8; ++i) {
    guard.auth_failed(acl::Address::v4({10, 0, 0, i}), "1001", true, now);
  }
  EXPECT_EQ(stats.users_locked, 1U);
  EXPECT_TRUE(guard.user_locked("1001", kPhone, now + 1s));
  EXPECT_FALSE(guard.user_locked("1001", kTrunk, now + 1s)) << "trusted sources excepted";
  EXPECT_FALSE(guard.user_locked("1002", kPhone, now + 1s));
  EXPECT_FALSE(guard.user_locked("1001", kPhone, now + 31s));
  // Unknown names lock nobody (and are not tracked).
  for (int i = 0; i < 50; ++i)
    guard.auth_failed(acl::Address::v4({10, 0, 1, 1}), "nobody", false, now);
  EXPECT_FALSE(guard.user_locked("nobody", kPhone, now));
}

}  // namespace
}  // namespace icegate::sip::flood
