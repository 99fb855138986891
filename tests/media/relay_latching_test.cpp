// Latching (symmetric RTP) for phones without ICE behind NAT (behaviour.md §1, issue 18): which
// packet may latch, strict source afterwards, RTP and RTCP separately, re-opening on an update.
// The session runs in memory (relay_memory.hpp): sources are any address, time is injected.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "media/relay/latch.hpp"
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
using testing::rtcp_rr;
using testing::rtp_packet;
using testing::rtp_with_type;

const Clock::time_point t0 = Clock::time_point{} + 1h;
// The phone's private address from its SDP, and where its NAT maps it.
const Endpoint kSdp = at("192.168.1.20", 4000);
const Endpoint kNat = at("198.51.100.7", 41234);
const Endpoint kNatRtcp = at("198.51.100.7", 50001);
const Endpoint kThird = at("203.0.113.66", 5004);  // an RTP bleed scanner
const Endpoint kTrunk = at("192.0.2.10", 20000);

// Leg A is the phone (latching, PCMU + telephone-event negotiated), leg B the trunk.
SessionConfig phone_and_trunk(bool mux = true, std::optional<Endpoint> sdp = kSdp) {
  SessionConfig c;
  c.id = 1;
  c.a = memory_leg(sdp, mux);
  c.a.latching = true;
  c.a.payload_types = {0, 101};
  c.b = memory_leg(kTrunk);
  return c;
}

TEST(RelayLatching, TheFirstValidPacketLatchesAndMediaFollowsIt) {
  MemorySession s(phone_and_trunk(), t0);
  ASSERT_TRUE(s.ok());
  // Before latching: toward the phone's SDP address (the lead passes the SIP source there for
  // a NATed phone).
  auto before = s.receive(Leg::b, Component::rtp, rtp_packet(1, 0xbbbb), kTrunk, t0);
  ASSERT_TRUE(before);
  EXPECT_EQ(before->to, kSdp);
  EXPECT_EQ(s.stats(Leg::a).rtp_source, Source::learning);
  EXPECT_FALSE(s.stats(Leg::a).latched);

  const auto pkt = rtp_packet(1);
  auto fwd = s.receive(Leg::a, Component::rtp, pkt, kNat, t0 + 20ms);
  ASSERT_TRUE(fwd) << "the phone's first packet was not relayed";
  EXPECT_EQ(fwd->to, kTrunk);
  EXPECT_EQ(fwd->bytes, pkt);

  auto back = s.receive(Leg::b, Component::rtp, rtp_packet(2, 0xbbbb), kTrunk, t0 + 40ms);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->to, kNat) << "media toward the phone did not follow the latch";
  EXPECT_EQ(back->fd, s.fd(Leg::a, Component::rtp));

  const auto st = s.stats(Leg::a);
  EXPECT_TRUE(st.latched);
  EXPECT_EQ(st.rtp_source, Source::latched);
  EXPECT_EQ(st.latched_rtp, kNat);
  EXPECT_EQ(st.remote_rtp, kNat);
  EXPECT_EQ(st.signalled_rtp, kSdp);
  EXPECT_EQ(st.latched_at, t0 + 20ms);
  EXPECT_EQ(st.latched_ssrc, 0x11223344u);
  EXPECT_EQ(st.latches, 1u);
  EXPECT_EQ(st.dropped_total(), 0u);
  EXPECT_EQ(describe_source(st), "latched 198.51.100.7:41234 (SDP 192.168.1.20:4000)");
}

TEST(RelayLatching, AnIceLegAnsweredWithoutIceBecomesALatchingLeg) {
  // icegate offered ICE to a called phone; the phone answered plain RTP (no ICE).
  SessionConfig c = phone_and_trunk();
  c.a.latching = false;
  c.a.ice = std::make_unique<ice::LiteAgent>(ice::AgentConfig{}, ice::Credentials::generate());
  MemorySession s(std::move(c), t0);
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s.receive(Leg::a, Component::rtp, rtp_packet(1), kNat, t0))
      << "an ICE leg takes nothing before a check";
  LegUpdate u;
  u.ice_off = true;
  u.latching = true;
  u.remote_rtp = kSdp;
  s.session().update(Leg::a, std::move(u), t0 + 1s, s.events);
  auto fwd = s.receive(Leg::a, Component::rtp, rtp_packet(2), kNat, t0 + 2s);
  ASSERT_TRUE(fwd);
  EXPECT_EQ(fwd->to, kTrunk);
  auto back = s.receive(Leg::b, Component::rtp, rtp_packet(3, 0xbbbb), kTrunk, t0 + 3s);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->to, kNat);
  EXPECT_EQ(s.stats(Leg::a).rtp_source, Source::latched);
}

TEST(RelayLatching, AnyValidRtpLatchesWhenNoPayloadTypeWasGiven) {
  auto cfg = phone_and_trunk();
  cfg.a.payload_types.clear();
  MemorySession s(std::move(cfg), t0);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s.receive(Leg::a, Component::rtp, rtp_with_type(96), kNat, t0));
  EXPECT_EQ(s.stats(Leg::a).latched_rtp, kNat);
}

TEST(RelayLatching, WrongPayloadTypeDoesNotLatchAndIsCounted) {
  MemorySession s(phone_and_trunk(), t0);
  ASSERT_TRUE(s.ok());
  // A scanner's guess at the codec, and a valid RTP packet of an unnegotiated type.
  EXPECT_FALSE(s.receive(Leg::a, Component::rtp, rtp_with_type(8), kThird, t0));
  EXPECT_FALSE(s.receive(Leg::a, Component::rtp, rtp_with_type(96), kThird, t0 + 1ms));
  // Not RTP at all: malformed, as on any leg; it does not latch either.
  std::vector<std::byte> junk(12, std::byte{0x80});
  junk.resize(5);
  EXPECT_FALSE(s.receive(Leg::a, Component::rtp, junk, kThird, t0 + 2ms));
  auto st = s.stats(Leg::a);
  EXPECT_EQ(st.drops(Drop::latch_refused), 2u);
  EXPECT_EQ(st.drops(Drop::malformed), 1u);
  EXPECT_EQ(st.rtp_source, Source::learning);
  EXPECT_FALSE(st.latched);
  EXPECT_EQ(st.packets_in, 0u);
  // Media toward the phone still goes to the SDP address, not to the scanner.
  auto back = s.receive(Leg::b, Component::rtp, rtp_packet(1, 0xbbbb), kTrunk, t0 + 3ms);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->to, kSdp);
  // The phone's telephone-event (101) is negotiated: it latches.
  ASSERT_TRUE(s.receive(Leg::a, Component::rtp, rtp_with_type(101), kNat, t0 + 4ms));
  st = s.stats(Leg::a);
  EXPECT_EQ(st.latched_rtp, kNat);
  EXPECT_EQ(st.drops(Drop::latch_refused), 2u);
}

TEST(RelayLatching, TheGateAppliesToTheSdpAddressToo) {
  MemorySession s(phone_and_trunk(), t0);
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s.receive(Leg::a, Component::rtp, rtp_with_type(96), kSdp, t0));
  EXPECT_EQ(s.stats(Leg::a).drops(Drop::latch_refused), 1u);
  EXPECT_TRUE(s.receive(Leg::a, Component::rtp, rtp_packet(1), kSdp, t0 + 1ms));
  EXPECT_EQ(s.stats(Leg::a).latched_rtp, kSdp);  // no NAT: it latches where SDP said
}

TEST(RelayLatching, AThirdAddressAfterLatchingIsDroppedCountedAndNeverForwarded) {
  MemorySession s(phone_and_trunk(), t0);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(s.receive(Leg::a, Component::rtp, rtp_packet(1), kNat, t0));
  // Valid media of the right type and even the phone's SSRC, from elsewhere: RTP bleed.
  for (std::uint16_t seq = 2; seq < 12; ++seq) {
    EXPECT_FALSE(s.receive(Leg::a, Component::rtp, rtp_packet(seq), kThird, t0 + seq * 20ms));
  }
  // Also from the phone's own address on another port (a NAT rebinding is not taken over).
  EXPECT_FALSE(
      s.receive(Leg::a, Component::rtp, rtp_packet(12), at("198.51.100.7", 41236), t0 + 300ms));
  EXPECT_TRUE(s.receive(Leg::a, Component::rtp, rtp_packet(13), kNat, t0 + 320ms));
  const auto st = s.stats(Leg::a);
  EXPECT_EQ(st.drops(Drop::wrong_source), 11u);
  EXPECT_EQ(st.drops(Drop::latch_refused), 0u);
  EXPECT_EQ(st.packets_in, 2u);
  EXPECT_EQ(st.latched_rtp, kNat);
  EXPECT_EQ(st.latches, 1u);
  auto back = s.receive(Leg::b, Component::rtp, rtp_packet(1, 0xbbbb), kTrunk, t0 + 340ms);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->to, kNat);
}

TEST(RelayLatching, AnUpdateWithANewAddressReopensLatchingTheSameAddressKeepsIt) {
  MemorySession s(phone_and_trunk(), t0);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(s.receive(Leg::a, Component::rtp, rtp_packet(1), kNat, t0));

  // A session refresh or hold re-INVITE repeats the address: the latch stays.
  LegUpdate same;
  same.remote_rtp = kSdp;
  s.session().update(Leg::a, std::move(same), t0 + 1s, s.events);
  EXPECT_EQ(s.stats(Leg::a).latched_rtp, kNat);
  EXPECT_FALSE(s.receive(Leg::a, Component::rtp, rtp_packet(2), kThird, t0 + 1s));

  // The phone moved (new Wi-Fi): a re-INVITE with a new address re-opens latching.
  const Endpoint moved_sdp = at("10.1.2.3", 6000);
  const Endpoint moved_nat = at("198.51.100.99", 33333);
  LegUpdate u;
  u.remote_rtp = moved_sdp;
  s.session().update(Leg::a, std::move(u), t0 + 2s, s.events);
  auto st = s.stats(Leg::a);
  EXPECT_EQ(st.rtp_source, Source::learning);
  EXPECT_FALSE(st.latched);
  EXPECT_EQ(st.remote_rtp, moved_sdp);
  EXPECT_EQ(st.signalled_rtp, moved_sdp);
  auto back = s.receive(Leg::b, Component::rtp, rtp_packet(1, 0xbbbb), kTrunk, t0 + 2s);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->to, moved_sdp);
  // The gate still applies to the new latch.
  EXPECT_FALSE(s.receive(Leg::a, Component::rtp, rtp_with_type(96), kThird, t0 + 2s));
  ASSERT_TRUE(s.receive(Leg::a, Component::rtp, rtp_packet(3, 0x5555), moved_nat, t0 + 3s));
  st = s.stats(Leg::a);
  EXPECT_EQ(st.latched_rtp, moved_nat);
  EXPECT_EQ(st.latched_ssrc, 0x5555u);
  EXPECT_EQ(st.latches, 2u);
  EXPECT_EQ(st.drops(Drop::latch_refused), 1u);
  // The old NAT mapping is a stranger now.
  EXPECT_FALSE(s.receive(Leg::a, Component::rtp, rtp_packet(4), kNat, t0 + 3s));
  EXPECT_EQ(s.stats(Leg::a).drops(Drop::wrong_source), 2u);
}

TEST(RelayLatching, SwitchingLatchingOffReturnsToTheSdpAddress) {
  MemorySession s(phone_and_trunk(), t0);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(s.receive(Leg::a, Component::rtp, rtp_packet(1), kNat, t0));
  LegUpdate u;
  u.latching = false;
  s.session().update(Leg::a, std::move(u), t0 + 1s, s.events);
  const auto st = s.stats(Leg::a);
  EXPECT_EQ(st.rtp_source, Source::signalled);
  EXPECT_EQ(st.remote_rtp, kSdp);
  EXPECT_FALSE(s.receive(Leg::a, Component::rtp, rtp_packet(2), kNat, t0 + 1s));
  EXPECT_EQ(s.stats(Leg::a).drops(Drop::wrong_source), 1u);
}

TEST(RelayLatching, RtcpLatchesOnItsOwnAndFollowsRtpUntilThen) {
  MemorySession s(phone_and_trunk(false), t0);
  ASSERT_TRUE(s.ok());
  const int a_rtcp_fd = s.fd(Leg::a, Component::rtcp);
  ASSERT_GE(a_rtcp_fd, 0);

  // Before anything latched, RTCP toward the phone goes to the SDP's RTCP port (RFC 3550 §11).
  auto rr = s.receive(Leg::b, Component::rtp, rtcp_rr(0xbbbb), kTrunk, t0);
  ASSERT_TRUE(rr);
  EXPECT_EQ(rr->to, at("192.168.1.20", 4001));
  EXPECT_EQ(rr->fd, a_rtcp_fd);

  // RTP latches at a NAT that picks ports: RTCP follows to the latched address, port + 1.
  ASSERT_TRUE(s.receive(Leg::a, Component::rtp, rtp_packet(1), kNat, t0 + 20ms));
  auto st = s.stats(Leg::a);
  EXPECT_EQ(st.rtp_source, Source::latched);
  EXPECT_EQ(st.rtcp_source, Source::learning);
  EXPECT_EQ(st.remote_rtcp, at("198.51.100.7", 41235));
  rr = s.receive(Leg::b, Component::rtp, rtcp_rr(0xbbbb), kTrunk, t0 + 40ms);
  ASSERT_TRUE(rr);
  EXPECT_EQ(rr->to, at("198.51.100.7", 41235));

  // RTCP on the RTP port is no RTCP latch, and RTP on the RTCP port is malformed.
  EXPECT_FALSE(s.receive(Leg::a, Component::rtcp, rtp_packet(2), kNatRtcp, t0 + 50ms));
  EXPECT_EQ(s.stats(Leg::a).drops(Drop::malformed), 1u);

  // The phone's first RTCP latches its own mapping, whatever port the NAT gave it.
  const auto phone_rr = rtcp_rr(0x11223344);
  auto fwd = s.receive(Leg::a, Component::rtcp, phone_rr, kNatRtcp, t0 + 5s);
  ASSERT_TRUE(fwd) << "the phone's RTCP was not relayed";
  EXPECT_EQ(fwd->to, kTrunk);
  EXPECT_EQ(fwd->bytes, phone_rr);
  st = s.stats(Leg::a);
  EXPECT_EQ(st.rtcp_source, Source::latched);
  EXPECT_EQ(st.latched_rtcp, kNatRtcp);
  EXPECT_EQ(st.latched_rtp, kNat) << "RTCP must not move the RTP latch";
  EXPECT_EQ(st.latches, 2u);
  EXPECT_EQ(describe_source(st),
            "latched 198.51.100.7:41234 (SDP 192.168.1.20:4000), RTCP latched "
            "198.51.100.7:50001");
  rr = s.receive(Leg::b, Component::rtp, rtcp_rr(0xbbbb), kTrunk, t0 + 5s);
  ASSERT_TRUE(rr);
  EXPECT_EQ(rr->to, kNatRtcp);

  // Strict source for RTCP too.
  EXPECT_FALSE(s.receive(Leg::a, Component::rtcp, rtcp_rr(0x11223344), kThird, t0 + 6s));
  EXPECT_EQ(s.stats(Leg::a).drops(Drop::wrong_source), 1u);
}

TEST(RelayLatching, RtcpCanLatchFirstAndRtpStillLearns) {
  MemorySession s(phone_and_trunk(false), t0);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(s.receive(Leg::a, Component::rtcp, rtcp_rr(0x11223344), kNatRtcp, t0));
  auto st = s.stats(Leg::a);
  EXPECT_EQ(st.rtcp_source, Source::latched);
  EXPECT_EQ(st.rtp_source, Source::learning);
  EXPECT_EQ(st.remote_rtp, kSdp);
  ASSERT_TRUE(s.receive(Leg::a, Component::rtp, rtp_packet(1), kNat, t0 + 1s));
  st = s.stats(Leg::a);
  EXPECT_EQ(st.latched_rtp, kNat);
  EXPECT_EQ(st.latched_rtcp, kNatRtcp) << "a later RTP latch must not move the RTCP latch";
}

TEST(RelayLatching, InvalidRtcpDoesNotLatch) {
  MemorySession s(phone_and_trunk(false), t0);
  ASSERT_TRUE(s.ok());
  // Type 192 (FIR, RFC 2032, unassigned since) parses as RTCP but is no latch.
  auto odd = rtcp_rr(0x1234);
  odd[1] = std::byte{192};
  EXPECT_FALSE(s.receive(Leg::a, Component::rtcp, odd, kThird, t0));
  // An RR whose length runs past the datagram's end is malformed anyway.
  auto long_rr = rtcp_rr(0x1234);
  long_rr[3] = std::byte{7};
  EXPECT_FALSE(s.receive(Leg::a, Component::rtcp, long_rr, kThird, t0));
  // A valid RR followed by 3 stray octets: the compound does not add up.
  auto tail = rtcp_rr(0x1234);
  tail.insert(tail.end(), {std::byte{0x80}, std::byte{0}, std::byte{0}});
  EXPECT_FALSE(s.receive(Leg::a, Component::rtcp, tail, kThird, t0));
  const auto st = s.stats(Leg::a);
  EXPECT_EQ(st.drops(Drop::latch_refused), 2u);
  EXPECT_EQ(st.drops(Drop::malformed), 1u);
  EXPECT_EQ(st.rtcp_source, Source::learning);
}

TEST(RelayLatching, WithRtcpMuxOneLatchCoversRtpAndRtcp) {
  MemorySession s(phone_and_trunk(true), t0);
  ASSERT_TRUE(s.ok());
  // Muxed RTCP may latch the shared address (RFC 5761) ...
  ASSERT_TRUE(s.receive(Leg::a, Component::rtp, rtcp_rr(0x11223344), kNat, t0));
  auto st = s.stats(Leg::a);
  EXPECT_EQ(st.latched_rtp, kNat);
  EXPECT_EQ(st.latched_rtcp, kNat);
  EXPECT_EQ(st.rtcp_source, Source::latched);
  // ... and RTP then comes from there only.
  EXPECT_FALSE(s.receive(Leg::a, Component::rtp, rtp_packet(1), kThird, t0 + 1ms));
  EXPECT_TRUE(s.receive(Leg::a, Component::rtp, rtp_packet(1), kNat, t0 + 2ms));
  auto rr = s.receive(Leg::b, Component::rtp, rtcp_rr(0xbbbb), kTrunk, t0 + 3ms);
  ASSERT_TRUE(rr);
  EXPECT_EQ(rr->to, kNat);
}

TEST(RelayLatching, OptionallyTheOtherComponentMustCarryTheSsrcSeenFirst) {
  auto cfg = phone_and_trunk(false);
  cfg.a.latch_ssrc = true;
  MemorySession s(std::move(cfg), t0);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(s.receive(Leg::a, Component::rtp, rtp_packet(1, 0xcafe), kNat, t0));
  EXPECT_FALSE(s.receive(Leg::a, Component::rtcp, rtcp_rr(0xbad), kThird, t0 + 1s));
  EXPECT_EQ(s.stats(Leg::a).drops(Drop::latch_refused), 1u);
  EXPECT_TRUE(s.receive(Leg::a, Component::rtcp, rtcp_rr(0xcafe), kNatRtcp, t0 + 2s));
  EXPECT_EQ(s.stats(Leg::a).latched_rtcp, kNatRtcp);
  // Without the option any sender SSRC latches RTCP (the default).
  MemorySession loose(phone_and_trunk(false), t0);
  ASSERT_TRUE(loose.ok());
  ASSERT_TRUE(loose.receive(Leg::a, Component::rtp, rtp_packet(1, 0xcafe), kNat, t0));
  EXPECT_TRUE(loose.receive(Leg::a, Component::rtcp, rtcp_rr(0xbad), kNatRtcp, t0 + 1s));
}

TEST(RelayLatching, PayloadTypesCanChangeWithAnUpdate) {
  MemorySession s(phone_and_trunk(), t0);
  ASSERT_TRUE(s.ok());
  LegUpdate u;
  u.payload_types = std::vector<std::uint8_t>{9};  // re-offer: G.722 only
  u.remote_rtp = at("192.168.1.20", 4002);
  s.session().update(Leg::a, std::move(u), t0, s.events);
  EXPECT_FALSE(s.receive(Leg::a, Component::rtp, rtp_packet(1), kNat, t0));  // PCMU now refused
  EXPECT_TRUE(s.receive(Leg::a, Component::rtp, rtp_with_type(9), kNat, t0 + 1ms));
}

TEST(RelayLatching, WithoutAnSdpAddressNothingIsSentUntilTheLatch) {
  MemorySession s(phone_and_trunk(true, std::nullopt), t0);
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s.receive(Leg::b, Component::rtp, rtp_packet(1, 0xbbbb), kTrunk, t0));
  EXPECT_EQ(s.stats(Leg::b).drops(Drop::no_destination), 1u);
  ASSERT_TRUE(s.receive(Leg::a, Component::rtp, rtp_packet(1), kNat, t0 + 1ms));
  auto back = s.receive(Leg::b, Component::rtp, rtp_packet(2, 0xbbbb), kTrunk, t0 + 2ms);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->to, kNat);
}

// Fixed SDES-style keys for an SRTP phone leg (leg A): `dir` 1 = phone -> icegate.
srtp::SrtpKey test_key(std::uint8_t dir) {
  std::vector<std::uint8_t> m(30);
  for (std::size_t k = 0; k < m.size(); ++k) m[k] = static_cast<std::uint8_t>(dir * 97 + k * 13);
  return srtp::SrtpKey::from_master(srtp::SrtpProfile::aes_cm_128_hmac_sha1_80, m).value();
}

TEST(RelayLatching, OnAnSrtpLegOnlyAnAuthenticatedPacketLatches) {
  auto cfg = phone_and_trunk();
  cfg.a.srtp = srtp::SrtpTransform::create(test_key(2), test_key(1)).value();
  MemorySession s(std::move(cfg), t0);
  ASSERT_TRUE(s.ok());
  auto phone = srtp::SrtpSender::create(test_key(1)).value();
  auto protect = [&](std::vector<std::byte> p) {
    const auto len = p.size();
    p.resize(len + phone.rtp_overhead());
    p.resize(phone.protect_rtp(p, len).value());
    return p;
  };
  // The right header, a forged tag: refused by SRTP, and no latch.
  auto forged = rtp_packet(1);
  forged.resize(forged.size() + 10, std::byte{0x42});
  EXPECT_FALSE(s.receive(Leg::a, Component::rtp, forged, kThird, t0));
  auto st = s.stats(Leg::a);
  EXPECT_EQ(st.drops(Drop::srtp_auth_failed), 1u);
  EXPECT_EQ(st.rtp_source, Source::learning);
  ASSERT_TRUE(s.receive(Leg::a, Component::rtp, protect(rtp_packet(1)), kNat, t0 + 20ms));
  st = s.stats(Leg::a);
  EXPECT_EQ(st.latched_rtp, kNat);
}

// --- the pure rules (latch.hpp)

TEST(LatchRules, RtcpMayLatchNeedsAValidCompoundStartingWithAnAssignedType) {
  EXPECT_EQ(rtcp_may_latch(rtcp_rr(0x01020304)), 0x01020304u);
  // RR + SDES (a usual compound), and reduced-size feedback alone (RFC 5506).
  auto compound = rtcp_rr(0x0a0b0c0d);
  const std::vector<std::byte> sdes = {std::byte{0x81}, std::byte{202},  std::byte{0},
                                       std::byte{1},    std::byte{0x0a}, std::byte{0x0b},
                                       std::byte{0x0c}, std::byte{0x0d}};
  compound.insert(compound.end(), sdes.begin(), sdes.end());
  EXPECT_EQ(rtcp_may_latch(compound), 0x0a0b0c0du);
  auto pli = std::vector<std::byte>{std::byte{0x81}, std::byte{206}, std::byte{0}, std::byte{2}};
  pli.resize(12, std::byte{7});
  EXPECT_TRUE(rtcp_may_latch(pli));
  // 4-octet BYE without SSRC, unassigned first type, length past the end, version 1.
  EXPECT_FALSE(rtcp_may_latch(
      std::vector<std::byte>{std::byte{0x80}, std::byte{203}, std::byte{0}, std::byte{0}}));
  auto odd = rtcp_rr();
  odd[1] = std::byte{199};
  EXPECT_FALSE(rtcp_may_latch(odd));
  auto long_rr = rtcp_rr();
  long_rr[3] = std::byte{2};
  EXPECT_FALSE(rtcp_may_latch(long_rr));
  auto v1 = rtcp_rr();
  v1[0] = std::byte{0x40};
  EXPECT_FALSE(rtcp_may_latch(v1));
  EXPECT_TRUE(rtcp_type_may_latch(200));
  EXPECT_TRUE(rtcp_type_may_latch(211));
  EXPECT_FALSE(rtcp_type_may_latch(212));
  EXPECT_FALSE(rtcp_type_may_latch(195));
}

TEST(LatchRules, WhereRtcpGoesWhileOnlyRtpHasLatched) {
  const std::optional<Endpoint> none;
  // No NAT: RTP latched where SDP said; RTCP stays on the SDP's (a=rtcp or port + 1).
  EXPECT_EQ(rtcp_after_rtp_latched(kSdp, none, kSdp), at("192.168.1.20", 4001));
  EXPECT_EQ(rtcp_after_rtp_latched(kSdp, at("192.168.1.20", 5005), kSdp), at("192.168.1.20", 5005));
  // A NAT that keeps ports: the public address with the SDP's RTCP port.
  EXPECT_EQ(rtcp_after_rtp_latched(kSdp, at("192.168.1.20", 5005), at("198.51.100.7", 4000)),
            at("198.51.100.7", 5005));
  EXPECT_EQ(rtcp_after_rtp_latched(kSdp, none, at("198.51.100.7", 4000)), at("198.51.100.7", 4001));
  // A NAT that picks ports: latched port + 1 (RFC 3550 §11).
  EXPECT_EQ(rtcp_after_rtp_latched(kSdp, at("192.168.1.20", 5005), kNat),
            at("198.51.100.7", 41235));
  EXPECT_EQ(rtcp_after_rtp_latched(none, none, kNat), at("198.51.100.7", 41235));
  EXPECT_EQ(rtcp_after_rtp_latched(kSdp, none, at("198.51.100.7", 65535)),
            at("192.168.1.20", 4001));
}

TEST(LatchRules, DescribeSourceSaysWhatAnOperatorNeeds) {
  LegStats l;
  l.rtp_source = l.rtcp_source = Source::learning;
  l.remote_rtp = l.remote_rtcp = kSdp;
  l.signalled_rtp = kSdp;
  EXPECT_EQ(describe_source(l),
            "learning: sending to 192.168.1.20:4000 until a valid packet latches");
  l.rtp_source = l.rtcp_source = Source::ice;
  l.remote_rtp = l.remote_rtcp = std::nullopt;
  EXPECT_EQ(describe_source(l), "ICE, no path yet");
  l.rtp_source = l.rtcp_source = Source::signalled;
  l.remote_rtp = kTrunk;
  l.remote_rtcp = at("192.0.2.10", 20001);
  EXPECT_EQ(describe_source(l), "fixed 192.0.2.10:20000, RTCP fixed 192.0.2.10:20001");
}

TEST(LatchRules, DropReasonName) {
  EXPECT_EQ(to_string(Drop::latch_refused), "latch-refused");
  EXPECT_EQ(to_string(Source::latched), "latched");
}

}  // namespace
}  // namespace icegate::media::relay
