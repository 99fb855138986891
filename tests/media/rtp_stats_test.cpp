// Sequence tracking (RFC 3550 A.1), loss (A.3) and interarrival jitter (A.8).
#include <gtest/gtest.h>

#include <chrono>

#include "media/rtp/stream_stats.hpp"

namespace icegate::media::rtp {
namespace {

using namespace std::chrono_literals;
using Update = SequenceTracker::Update;

TEST(SequenceTracker, ProbationThenCounting) {
  SequenceTracker t;
  t.start(100);
  EXPECT_EQ(t.update(100), Update::probation);
  EXPECT_EQ(t.update(101), Update::valid);
  EXPECT_EQ(t.update(102), Update::valid);
  EXPECT_EQ(t.received(), 2u);
  EXPECT_EQ(t.expected(), 2u);  // base restarts at the packet that ended probation
  EXPECT_EQ(t.lost(), 0);
}

TEST(SequenceTracker, OutOfOrderDuringProbationRestartsIt) {
  SequenceTracker t;
  t.start(10);
  EXPECT_EQ(t.update(10), Update::probation);
  EXPECT_EQ(t.update(12), Update::probation);  // not 11: probation again from 12
  EXPECT_EQ(t.update(13), Update::valid);
}

TEST(SequenceTracker, WrapAroundExtendsTheSequence) {
  SequenceTracker t;
  t.start(65534);
  t.update(65534);
  t.update(65535);
  EXPECT_EQ(t.update(0), Update::valid);
  EXPECT_EQ(t.update(1), Update::valid);
  EXPECT_EQ(t.extended_max(), 65536u + 1);
  EXPECT_EQ(t.expected(), 3u);
  EXPECT_EQ(t.received(), 3u);
}

TEST(SequenceTracker, GapsLossAndLatePackets) {
  SequenceTracker t;
  t.start(1);
  for (std::uint16_t s : {1, 2, 3, 6, 7, 5, 10}) t.update(s);
  // counted from 2: 2 3 6 7 5 10 -> expected 2..10 = 9, received 6
  EXPECT_EQ(t.expected(), 9u);
  EXPECT_EQ(t.received(), 6u);
  EXPECT_EQ(t.lost(), 3);
  EXPECT_EQ(t.gaps(), 2u);  // 3->6 and 7->10
  EXPECT_EQ(t.late(), 1u);  // 5
}

TEST(SequenceTracker, LargeJumpNeedsConfirmation) {
  SequenceTracker t;
  t.start(1);
  t.update(1);
  t.update(2);
  EXPECT_EQ(t.update(20000), Update::jump);
  EXPECT_EQ(t.received(), 1u);
  EXPECT_EQ(t.update(20001), Update::restarted);  // A.1: the sender restarted
  EXPECT_EQ(t.received(), 1u);
  EXPECT_EQ(t.expected(), 1u);
  // A lone jump that is not followed is ignored.
  EXPECT_EQ(t.update(50000), Update::jump);
  EXPECT_EQ(t.update(20002), Update::valid);
}

TEST(Jitter, SteadyStreamHasNone) {
  JitterEstimator j;
  for (std::uint32_t i = 0; i < 100; ++i) j.update(i * 160, 5000 + i * 160);
  EXPECT_EQ(j.jitter(), 0u);
}

TEST(Jitter, ConvergesToTheTransitDifference) {
  // Transit alternating between +0 and +80 units: |D| is always 80, so J -> 80 (A.8).
  JitterEstimator j;
  for (std::uint32_t i = 0; i < 500; ++i) j.update(i * 160, i * 160 + (i % 2 ? 80 : 0));
  EXPECT_NEAR(static_cast<double>(j.jitter()), 80.0, 1.0);
}

TEST(Jitter, FirstStepIsOneSixteenth) {
  JitterEstimator j;
  j.update(0, 0);
  j.update(160, 160 + 32);  // D = 32 -> J = 32/16 = 2
  EXPECT_EQ(j.jitter(), 2u);
}

TEST(StreamStats, ArrivalUnitsAndJitterInTime) {
  EXPECT_EQ(StreamStats::to_rtp_units(1s, 8000), 8000u);
  EXPECT_EQ(StreamStats::to_rtp_units(20ms, 8000), 160u);
  EXPECT_EQ(StreamStats::to_rtp_units(20ms, 90000), 1800u);

  StreamStats s(8000);
  const auto t0 = StreamStats::Clock::time_point{} + 1h;
  // 20 ms packets arriving 0 or 10 ms late alternately: |D| = 80 units = 10 ms.
  for (std::uint32_t i = 0; i < 400; ++i) {
    s.on_packet(0x1234, static_cast<std::uint16_t>(i), i * 160,
                t0 + i * 20ms + (i % 2 ? 10ms : 0ms));
  }
  EXPECT_NEAR(static_cast<double>(s.jitter().count()), 10'000.0, 200.0);
  EXPECT_EQ(s.sequence().lost(), 0);
}

TEST(StreamStats, NewSsrcRestartsTheStream) {
  StreamStats s(8000);
  const auto t0 = StreamStats::Clock::time_point{};
  for (std::uint16_t i = 0; i < 10; ++i) s.on_packet(1, i, i * 160u, t0 + i * 20ms);
  EXPECT_EQ(s.sequence().received(), 9u);
  s.on_packet(2, 500, 0, t0 + 1s);
  s.on_packet(2, 501, 160, t0 + 1s + 20ms);
  EXPECT_EQ(s.ssrc(), 2u);
  EXPECT_EQ(s.ssrc_changes(), 1u);
  EXPECT_EQ(s.sequence().received(), 1u);
}

}  // namespace
}  // namespace icegate::media::rtp
