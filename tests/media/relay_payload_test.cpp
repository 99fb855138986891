// Codec-aware relay (issue 11 item 4): the jitter of each leg in the clock of the payload type
// that arrives (opus at 48 kHz, PCMU at 8 kHz, RFC 4733 events left out), and payload types
// rewritten where the legs number a codec differently (telephone-event 101 on the trunk leg,
// 126 on the browser leg), in both directions and on an SRTP leg (rewritten after unprotect and
// before protect, so both legs' authentication tags are right). In memory (relay_memory.hpp).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <vector>

#include "media/relay/payloads.hpp"
#include "media/srtp/session.hpp"
#include "media/srtp/transform.hpp"
#include "relay_memory.hpp"

namespace icegate::media::relay {
namespace {

using namespace std::chrono_literals;
using testing::at;
using testing::Component;
using testing::memory_leg;
using testing::MemorySession;
using testing::rtp_packet;

const Clock::time_point t0 = Clock::time_point{} + 1h;
const Endpoint kBrowser = at("198.51.100.7", 41234);
const Endpoint kTrunk = at("192.0.2.10", 20000);

// RTP with payload type `pt`, marker `m`, timestamp `ts` (the rest as rtp_packet()).
std::vector<std::byte> rtp(std::uint8_t pt, std::uint16_t seq, std::uint32_t ts, bool m = false,
                           std::uint32_t ssrc = 0x11223344) {
  auto p = rtp_packet(seq, ssrc, 60);
  p[1] = static_cast<std::byte>((m ? 0x80 : 0) | pt);
  p[4] = static_cast<std::byte>(ts >> 24);
  p[5] = static_cast<std::byte>(ts >> 16);
  p[6] = static_cast<std::byte>(ts >> 8);
  p[7] = static_cast<std::byte>(ts);
  return p;
}

std::uint8_t pt_of(const std::vector<std::byte>& p) {
  return std::to_integer<std::uint8_t>(p[1]) & 0x7f;
}
bool marker_of(const std::vector<std::byte>& p) {
  return (std::to_integer<std::uint8_t>(p[1]) & 0x80) != 0;
}

// A browser (leg A: opus 111/48000, telephone-event 126/8000 and 110/48000) and a trunk (leg B:
// PCMU 0, telephone-event 101/8000), as the call layer hands them over after offer/answer.
SessionConfig browser_and_trunk() {
  SessionConfig c;
  c.id = 1;
  c.a = memory_leg(kBrowser);
  c.a.payloads.formats = {{111, 48000, false},
                          {0, 8000, false},
                          {126, 8000, true},
                          {110, 48000, true},
                          {101, 8000, true}};
  c.a.payloads.rewrite = {{101, 126}};  // toward the browser: the trunk's 101 is its 126
  c.b = memory_leg(kTrunk);
  c.b.payloads.formats = {
      {0, 8000, false}, {101, 8000, true}, {111, 48000, false}, {126, 8000, true}};
  c.b.payloads.rewrite = {{126, 101}};  // toward the trunk
  return c;
}

TEST(LegPayloads, RewriteKeepsTheMarkerAndLeavesOtherTypes) {
  LegPayloads p;
  p.set(PayloadPlan{{}, {{101, 126}, {96, 111}}});
  ASSERT_TRUE(p.rewrites());
  auto a = rtp(101, 1, 0, true);
  p.rewrite(a);
  EXPECT_EQ(pt_of(a), 126);
  EXPECT_TRUE(marker_of(a));
  auto b = rtp(0, 2, 160, false);
  p.rewrite(b);
  EXPECT_EQ(pt_of(b), 0);
  EXPECT_FALSE(marker_of(b));
  // A new plan replaces the old mapping entirely.
  p.set(PayloadPlan{});
  EXPECT_FALSE(p.rewrites());
  EXPECT_EQ(p.mapped(101), 101);
}

TEST(LegPayloads, AtMostSixteenPairsAreMapped) {
  PayloadPlan plan;
  for (std::uint8_t i = 0; i < 20; ++i) plan.rewrite.emplace_back(96 + i, 20 + i);
  plan.rewrite.insert(plan.rewrite.begin(), {{7, 7}, {200, 1}});  // same number, not 7-bit
  LegPayloads p;
  p.set(plan);
  EXPECT_EQ(p.mapped(7), 7);
  EXPECT_EQ(p.mapped(96), 20);
  EXPECT_EQ(p.mapped(96 + 15), 20 + 15);
  EXPECT_EQ(p.mapped(96 + 16), 96 + 16) << "past kMaxRewrites: left as it is";
}

TEST(LegPayloads, ClockRatePerTypeEventsLeftOutDefaultForUnknown) {
  LegPayloads p(8000);
  p.set(PayloadPlan{{{111, 48000, false}, {126, 8000, true}, {9, 8000, false}}, {}});
  EXPECT_EQ(p.clock_rate(111), 48000u);
  EXPECT_EQ(p.clock_rate(111), 48000u);  // from the one-entry cache
  EXPECT_EQ(p.clock_rate(126), 0u);
  EXPECT_EQ(p.clock_rate(9), 8000u);
  EXPECT_EQ(p.clock_rate(77), 8000u);
  p.set_default_rate(16000);
  EXPECT_EQ(p.clock_rate(77), 16000u);
  p.set(PayloadPlan{{{111, 16000, false}}, {}});
  EXPECT_EQ(p.clock_rate(111), 16000u) << "a new plan must not answer from the old cache";
}

// Perfect 20 ms pacing of a 48 kHz stream: RFC 3550 A.8 jitter is 0 in any clock, as long as
// arrival is measured in the stream's own clock. With the 8 kHz default the same stream reads
// as 100 ms of jitter (the figure issue 11 saw in the call-end log).
TEST(RelayPayloads, OpusJitterIsMeasuredAt48kHz) {
  for (const bool with_plan : {true, false}) {
    auto cfg = browser_and_trunk();
    if (!with_plan) cfg.a.payloads = {};
    MemorySession s(std::move(cfg), t0);
    ASSERT_TRUE(s.ok());
    for (std::uint16_t i = 0; i < 200; ++i) {
      const auto now = t0 + i * 20ms;
      ASSERT_TRUE(s.receive(Leg::a, Component::rtp, rtp(111, i, 5000u + i * 960u), kBrowser, now));
    }
    const auto st = s.stats(Leg::a);
    EXPECT_EQ(st.rtp_received, 199u);  // RFC 3550 A.1 probation takes the first one
    if (with_plan) {
      EXPECT_LE(st.jitter.count(), 100) << "µs; jitter units " << st.jitter_units;
    } else {
      EXPECT_GT(st.jitter.count(), 90'000) << "the 8 kHz default should misread opus";
    }
  }
}

// A real 2 ms arrival wobble on a 48 kHz stream reads as ~ms, not as tens of ms: the units are
// right, not just zero.
TEST(RelayPayloads, OpusJitterOfAWobblingStreamIsInMilliseconds) {
  MemorySession s(browser_and_trunk(), t0);
  ASSERT_TRUE(s.ok());
  for (std::uint16_t i = 0; i < 400; ++i) {
    const auto wobble = (i % 2 == 0) ? 0ms : 2ms;
    ASSERT_TRUE(
        s.receive(Leg::a, Component::rtp, rtp(111, i, i * 960u), kBrowser, t0 + i * 20ms + wobble));
  }
  const auto st = s.stats(Leg::a);
  // |D| is 2 ms on every packet: J converges to 2 ms (96 units at 48 kHz).
  EXPECT_GE(st.jitter.count(), 1800);
  EXPECT_LE(st.jitter.count(), 2100);
  EXPECT_NEAR(st.jitter_units, 96u, 5u);
}

// RFC 4733: the packets of one event repeat its start timestamp while they arrive 50 ms apart.
// Counted as media they would add 50 ms steps to the estimate; they are left out.
TEST(RelayPayloads, TelephoneEventsDoNotTouchTheJitter) {
  MemorySession s(browser_and_trunk(), t0);
  ASSERT_TRUE(s.ok());
  std::uint16_t seq = 0;
  for (int i = 0; i < 50; ++i, ++seq) {
    ASSERT_TRUE(s.receive(Leg::b, Component::rtp, rtp(0, seq, seq * 160u, false, 0xbbbb), kTrunk,
                          t0 + seq * 20ms));
  }
  const std::uint32_t event_ts = seq * 160u;
  for (int i = 0; i < 10; ++i, ++seq) {
    ASSERT_TRUE(s.receive(Leg::b, Component::rtp, rtp(101, seq, event_ts, i == 0, 0xbbbb), kTrunk,
                          t0 + seq * 20ms));
  }
  for (int i = 0; i < 10; ++i, ++seq) {
    ASSERT_TRUE(s.receive(Leg::b, Component::rtp, rtp(0, seq, seq * 160u, false, 0xbbbb), kTrunk,
                          t0 + seq * 20ms));
  }
  const auto st = s.stats(Leg::b);
  EXPECT_EQ(st.rtp_received, 69u);  // the events are counted as packets
  EXPECT_LE(st.jitter.count(), 200) << "µs: events leaked into the jitter estimate";
}

TEST(RelayPayloads, TelephoneEventTypeIsMappedBothWays) {
  MemorySession s(browser_and_trunk(), t0);
  ASSERT_TRUE(s.ok());
  // Trunk -> browser: 101 becomes 126, the marker (start of the event) stays.
  auto to_browser = s.receive(Leg::b, Component::rtp, rtp(101, 1, 800, true, 0xbbbb), kTrunk, t0);
  ASSERT_TRUE(to_browser);
  EXPECT_EQ(to_browser->to, kBrowser);
  EXPECT_EQ(pt_of(to_browser->bytes), 126);
  EXPECT_TRUE(marker_of(to_browser->bytes));
  // Everything but the payload type octet is untouched.
  auto expect = rtp(126, 1, 800, true, 0xbbbb);
  EXPECT_EQ(to_browser->bytes, expect);
  // Browser -> trunk: 126 becomes 101.
  auto to_trunk = s.receive(Leg::a, Component::rtp, rtp(126, 7, 1600), kBrowser, t0 + 1ms);
  ASSERT_TRUE(to_trunk);
  EXPECT_EQ(to_trunk->to, kTrunk);
  EXPECT_EQ(pt_of(to_trunk->bytes), 101);
  EXPECT_FALSE(marker_of(to_trunk->bytes));
  // The same codec under the same number on both legs, and RTCP, pass unchanged.
  auto pcmu = s.receive(Leg::b, Component::rtp, rtp(0, 2, 960, false, 0xbbbb), kTrunk, t0 + 2ms);
  ASSERT_TRUE(pcmu);
  EXPECT_EQ(pt_of(pcmu->bytes), 0);
  const auto rr = testing::rtcp_rr(0xbbbb);
  auto rtcp = s.receive(Leg::b, Component::rtp, rr, kTrunk, t0 + 3ms);
  ASSERT_TRUE(rtcp);
  EXPECT_EQ(rtcp->bytes, rr);
}

TEST(RelayPayloads, AnUpdateReplacesTheMapping) {
  MemorySession s(browser_and_trunk(), t0);
  ASSERT_TRUE(s.ok());
  // A re-INVITE: the browser now numbers telephone-event 97.
  LegUpdate u;
  u.payloads = PayloadPlan{{{111, 48000, false}, {97, 8000, true}}, {{101, 97}}};
  s.session().update(Leg::a, std::move(u), t0, s.events);
  auto out = s.receive(Leg::b, Component::rtp, rtp(101, 1, 0, true, 0xbbbb), kTrunk, t0 + 1ms);
  ASSERT_TRUE(out);
  EXPECT_EQ(pt_of(out->bytes), 97);
}

// Fixed SDES-style keys for the browser leg: `dir` 1 = browser -> icegate.
srtp::SrtpKey test_key(std::uint8_t dir, srtp::SrtpProfile p) {
  std::vector<std::uint8_t> m(srtp::info(p).key_len + srtp::info(p).salt_len);
  for (std::size_t k = 0; k < m.size(); ++k) m[k] = static_cast<std::uint8_t>(dir * 31 + k * 7);
  return srtp::SrtpKey::from_master(p, m).value();
}

class RelayPayloadsSrtp : public ::testing::TestWithParam<srtp::SrtpProfile> {};

// The browser leg is SRTP: its packets are authenticated as the browser sent them (126), then
// leave toward the trunk as 101; the trunk's 101 leaves toward the browser as 126 under a tag
// the browser's key accepts.
TEST_P(RelayPayloadsSrtp, MappedTypeOnAnSrtpLegKeepsTheTagRight) {
  const auto profile = GetParam();
  if (!srtp::profile_supported(profile)) GTEST_SKIP() << "this libsrtp2 cannot key it";
  auto cfg = browser_and_trunk();
  cfg.a.srtp = srtp::SrtpTransform::create(test_key(2, profile), test_key(1, profile)).value();
  MemorySession s(std::move(cfg), t0);
  ASSERT_TRUE(s.ok());
  auto browser_tx = srtp::SrtpSender::create(test_key(1, profile)).value();
  auto browser_rx = srtp::SrtpReceiver::create(test_key(2, profile)).value();

  auto sent = rtp(126, 10, 4000, true);
  auto wire = sent;
  wire.resize(sent.size() + browser_tx.rtp_overhead());
  wire.resize(browser_tx.protect_rtp(wire, sent.size()).value());
  auto to_trunk = s.receive(Leg::a, Component::rtp, wire, kBrowser, t0);
  ASSERT_TRUE(to_trunk) << "drops: srtp-auth " << s.stats(Leg::a).drops(Drop::srtp_auth_failed);
  auto expect = sent;
  expect[1] = static_cast<std::byte>(0x80 | 101);
  EXPECT_EQ(to_trunk->bytes, expect);  // clear RTP toward the trunk, 101, marker kept

  auto to_browser =
      s.receive(Leg::b, Component::rtp, rtp(101, 20, 8000, true, 0xbbbb), kTrunk, t0 + 1ms);
  ASSERT_TRUE(to_browser);
  auto got = to_browser->bytes;
  const auto n = browser_rx.unprotect_rtp(got, got.size());
  ASSERT_TRUE(n) << "the browser's key does not accept what the relay protected";
  got.resize(*n);
  EXPECT_EQ(got, rtp(126, 20, 8000, true, 0xbbbb));
  EXPECT_EQ(s.stats(Leg::a).drops(Drop::srtp_auth_failed), 0u);
}

INSTANTIATE_TEST_SUITE_P(Profiles, RelayPayloadsSrtp,
                         ::testing::Values(srtp::SrtpProfile::aes_cm_128_hmac_sha1_80,
                                           srtp::SrtpProfile::aead_aes_128_gcm,
                                           srtp::SrtpProfile::aead_aes_256_gcm),
                         [](const auto& info) {
                           return std::string(srtp::to_string(info.param)).substr(0, 16) ==
                                          "AES_CM_128_HMAC_"
                                      ? std::string("Cm80")
                                  : info.param == srtp::SrtpProfile::aead_aes_128_gcm
                                      ? std::string("Gcm128")
                                      : std::string("Gcm256");
                         });

}  // namespace
}  // namespace icegate::media::relay
