// ICE consent (RFC 7675) on a relay leg as real phones keep it (issue 18 item 4): baresip sends
// a Binding Indication every 15 s (RFC 8445 §11) and authenticated SRTP all along, but no
// checks after ICE. Consent holds while any of checks, indications from the selected address or
// authenticated media arrive, and is lost 30 s after the last of them. The session runs in
// memory with an injected clock, so minutes of call take no time.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "media/srtp/session.hpp"
#include "media/srtp/transform.hpp"
#include "media/stun/builder.hpp"
#include "relay_ice_peer.hpp"
#include "relay_memory.hpp"

namespace icegate::media::relay {
namespace {

using namespace std::chrono_literals;
using testing::at;
using testing::Component;
using testing::ice_check;
using testing::memory_leg;
using testing::MemorySession;
using testing::rtp_packet;
using testing::transaction;

const Clock::time_point t0 = Clock::time_point{} + 1h;
// Nothing listens at these loopback addresses: the agent's answers go nowhere, harmlessly.
const Endpoint kPhone = at("127.0.0.2", 41234);
const Endpoint kOther = at("127.0.0.3", 41234);
const Endpoint kTrunk = at("127.0.0.4", 20000);

srtp::SrtpKey test_key(std::uint8_t dir) {
  std::vector<std::uint8_t> m(30);
  for (std::size_t k = 0; k < m.size(); ++k) m[k] = static_cast<std::uint8_t>(dir * 89 + k * 7);
  return srtp::SrtpKey::from_master(srtp::SrtpProfile::aes_cm_128_hmac_sha1_80, m).value();
}

std::vector<std::byte> binding_indication(std::uint8_t n) {
  stun::MessageBuilder b({stun::method::binding, stun::MessageClass::indication}, transaction(n));
  b.add_fingerprint();  // RFC 8445 §11: FINGERPRINT, no credentials
  return std::move(b).finish();
}

class RelayConsent : public ::testing::Test {
 protected:
  testing::CountingRandom rng;
  std::optional<MemorySession> s;
  std::optional<srtp::SrtpSender> phone;  // the phone's SRTP toward icegate

  // Leg A: ICE-lite (30 s consent) with SRTP keys (as DTLS-SRTP installs them); leg B: trunk.
  void start(bool with_srtp = true) {
    SessionConfig c;
    c.id = 7;
    c.media_timeout = 0ms;
    c.a = memory_leg(std::nullopt);
    ice::AgentConfig ac;
    ac.punch_attempts = 0;
    c.a.ice = std::make_unique<ice::LiteAgent>(ac, testing::kRelayIce, rng);
    c.a.ice_remote = IceRemote{testing::kPeerIce, {kPhone}};
    if (with_srtp) {
      c.a.srtp = srtp::SrtpTransform::create(test_key(2), test_key(1)).value();
      phone = srtp::SrtpSender::create(test_key(1)).value();
    }
    c.b = memory_leg(kTrunk);
    s.emplace(std::move(c), t0);
    ASSERT_TRUE(s->ok());
    // The phone's check selects the path (ICE connected), then it sends no more checks.
    EXPECT_FALSE(
        s->receive(Leg::a, Component::rtp, testing::ice_check(transaction(1), true), kPhone, t0));
    ASSERT_EQ(s->take(EventKind::ice_connected).size(), 1u);
  }
  std::vector<std::byte> srtp_packet(std::uint16_t seq) {
    auto p = rtp_packet(seq);
    const auto len = p.size();
    p.resize(len + phone->rtp_overhead());
    p.resize(phone->protect_rtp(p, len).value());
    return p;
  }
  // Runs the timers at `now`; true when consent was lost there.
  bool lost_at(Clock::time_point now) {
    s->tick(now);
    return !s->take(EventKind::consent_lost).empty();
  }
};

TEST_F(RelayConsent, BindingIndicationsAloneKeepConsentForMinutes) {
  start();
  Clock::time_point last = t0;
  for (std::uint8_t i = 1; i <= 8; ++i) {  // two minutes, one indication every 15 s
    last = t0 + i * 15s;
    EXPECT_FALSE(lost_at(last - 1ms)) << "consent lost before indication " << int{i};
    EXPECT_FALSE(s->receive(Leg::a, Component::rtp, binding_indication(i), kPhone, last));
  }
  const auto st = s->stats(Leg::a);
  ASSERT_TRUE(st.ice);
  EXPECT_EQ(st.ice->indications, 8u);
  EXPECT_EQ(st.ice->last_indication, last);
  EXPECT_EQ(st.ice->checks_answered, 1u);
  EXPECT_FALSE(st.ice->consent_lost);
  // Then the phone goes silent: consent ends 30 s after the last indication, not before.
  EXPECT_FALSE(lost_at(last + 30s - 1ms));
  s->tick(last + 30s);
  const auto lost = s->take(EventKind::consent_lost);
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(lost[0].leg, Leg::a);
  EXPECT_EQ(lost[0].remote, kPhone);
  EXPECT_NE(lost[0].detail.find("Binding Indication"), std::string::npos) << lost[0].detail;
  EXPECT_NE(lost[0].detail.find("binding indications 8"), std::string::npos) << lost[0].detail;
}

TEST_F(RelayConsent, IndicationsFromAnotherAddressDoNotKeepConsent) {
  start();
  for (std::uint8_t i = 1; i <= 2; ++i) {
    EXPECT_FALSE(s->receive(Leg::a, Component::rtp, binding_indication(i), kOther, t0 + i * 10s));
  }
  EXPECT_TRUE(lost_at(t0 + 30s));
  const auto st = s->stats(Leg::a);
  ASSERT_TRUE(st.ice);
  EXPECT_EQ(st.ice->indications, 0u);
}

TEST_F(RelayConsent, AuthenticatedMediaAloneKeepsConsent) {
  start();
  Clock::time_point last = t0;
  for (std::uint16_t seq = 1; seq <= 100; ++seq) {  // 100 s of SRTP, one packet a second
    last = t0 + seq * 1s;
    EXPECT_FALSE(lost_at(last - 1ms)) << "consent lost at packet " << seq;
    auto fwd = s->receive(Leg::a, Component::rtp, srtp_packet(seq), kPhone, last);
    ASSERT_TRUE(fwd);
    EXPECT_EQ(fwd->to, kTrunk);
  }
  auto st = s->stats(Leg::a);
  ASSERT_TRUE(st.ice);
  EXPECT_EQ(st.ice->last_media, last);
  EXPECT_EQ(st.ice->indications, 0u);
  EXPECT_FALSE(st.ice->consent_lost);

  // What does not authenticate does not count: a forged tag from the phone's own address, and
  // valid SRTP from another address (strict source drops it first).
  auto forged = rtp_packet(101);
  forged.resize(forged.size() + 10, std::byte{0x42});
  EXPECT_FALSE(s->receive(Leg::a, Component::rtp, forged, kPhone, last + 10s));
  EXPECT_FALSE(s->receive(Leg::a, Component::rtp, srtp_packet(102), kOther, last + 20s));
  st = s->stats(Leg::a);
  EXPECT_EQ(st.drops(Drop::srtp_auth_failed), 1u);
  EXPECT_EQ(st.drops(Drop::wrong_source), 1u);
  EXPECT_FALSE(lost_at(last + 30s - 1ms));
  EXPECT_TRUE(lost_at(last + 30s));
}

TEST_F(RelayConsent, ChecksIndicationsAndMediaTakeTurnsAndConsentEndsWhenAllStop) {
  start();
  // A check at 0 s, SRTP at 25 s, an indication at 50 s, a check at 75 s: each within 30 s of
  // the one before, so consent holds; after the last, 30 s of silence end it.
  EXPECT_FALSE(lost_at(t0 + 25s - 1ms));
  ASSERT_TRUE(s->receive(Leg::a, Component::rtp, srtp_packet(1), kPhone, t0 + 25s));
  EXPECT_FALSE(lost_at(t0 + 50s - 1ms));
  EXPECT_FALSE(s->receive(Leg::a, Component::rtp, binding_indication(2), kPhone, t0 + 50s));
  EXPECT_FALSE(lost_at(t0 + 75s - 1ms));
  EXPECT_FALSE(
      s->receive(Leg::a, Component::rtp, ice_check(transaction(3), false), kPhone, t0 + 75s));
  EXPECT_FALSE(lost_at(t0 + 105s - 1ms));
  EXPECT_TRUE(lost_at(t0 + 105s));
  // Reported once; late media does not bring it back.
  (void)s->receive(Leg::a, Component::rtp, srtp_packet(2), kPhone, t0 + 106s);
  EXPECT_FALSE(lost_at(t0 + 200s));
  EXPECT_TRUE(s->stats(Leg::a).ice->consent_lost);
}

TEST_F(RelayConsent, PlainRtpOnAnIceLegWithoutKeysDoesNotKeepConsent) {
  // Only authenticated media counts: plain RTP proves nothing about who sent it.
  start(false);
  for (std::uint16_t seq = 1; seq <= 29; ++seq) {
    ASSERT_TRUE(s->receive(Leg::a, Component::rtp, rtp_packet(seq), kPhone, t0 + seq * 1s));
  }
  EXPECT_TRUE(lost_at(t0 + 30s));
}

}  // namespace
}  // namespace icegate::media::relay
