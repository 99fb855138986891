// The watchdog's verdict (gateway/daemon/notify.hpp) and its STATUS= text, without systemd.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>

#include "gateway/daemon/notify.hpp"

namespace icegate::gateway::notify {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

TEST(Notify, AliveWhenTheProbeRanAndEveryWorkerTurnedRecently) {
  const auto now = Clock::now();
  EXPECT_TRUE(judge(true, 500ms, {now - 100ms, now - 1400ms}, now, 1500ms).alive);
  EXPECT_TRUE(judge(true, 500ms, {}, now, 1500ms).alive);
}

TEST(Notify, AStuckSignallingThreadIsNamed) {
  const auto now = Clock::now();
  const auto v = judge(false, 500ms, {now}, now, 1500ms);
  EXPECT_FALSE(v.alive);
  EXPECT_THAT(v.why, HasSubstr("signalling thread did not run a probe within 500 ms"));
}

TEST(Notify, AStuckWorkerIsNamedWithItsAge) {
  const auto now = Clock::now();
  const auto v = judge(true, 500ms, {now, now - 2000ms, now - 3000ms}, now, 1500ms);
  EXPECT_FALSE(v.alive);
  EXPECT_EQ(v.why, "media worker 1 has not turned its loop for 2000 ms");
}

TEST(Notify, StatusCountsCallsAndRegistrations) {
  EXPECT_EQ(status_text({0, 0}), "0 calls, 0 registrations");
  EXPECT_EQ(status_text({1, 1}), "1 call, 1 registration");
  EXPECT_EQ(status_text({12, 3}), "12 calls, 3 registrations");
}

TEST(Notify, NoWatchdogWithoutWatchdogUsec) {
  ::unsetenv("WATCHDOG_USEC");
  EXPECT_FALSE(watchdog_interval().has_value());
  ::setenv("WATCHDOG_USEC", "2000000", 1);
  ::unsetenv("WATCHDOG_PID");
  ASSERT_TRUE(watchdog_interval().has_value());
  EXPECT_EQ(*watchdog_interval(), 2s);
  ::unsetenv("WATCHDOG_USEC");
}

}  // namespace
}  // namespace icegate::gateway::notify
