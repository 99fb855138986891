// The relay data plane on loopback: real sockets, real worker threads, UDP peers on 127.0.0.1.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <set>
#include <string_view>

#include "media/relay/relay.hpp"
#include "relay_test_peer.hpp"

namespace icegate::media::relay {
namespace {

using namespace std::chrono_literals;
using testing::Datagram;
using testing::loopback;
using testing::Peer;
using testing::rtcp_rr;
using testing::rtp_packet;
using testing::seq_of;
using testing::stats_of;
using testing::wait_event;

ports::UdpSocket bind_local() {
  return std::move(ports::UdpSocket::bind(loopback()).value());
}

// A leg on one muxed socket; returns its local address through `local`.
LegConfig mux_leg(Endpoint& local, std::optional<Endpoint> remote, bool latching = false) {
  LegConfig l;
  auto s = bind_local();
  local = s.local();
  l.sockets = ports::PortLease::adopt(std::move(s));
  l.rtcp_mux = true;
  l.remote_rtp = remote;
  l.latching = latching;
  return l;
}

class RelayTest : public ::testing::Test {
 protected:
  Relay relay{RelayConfig{2, 32, {}}};
  Peer pa, pb, pc;  // leg A's peer, leg B's peer, a third party
  Endpoint a_local, b_local;

  void start(SessionConfig cfg) {
    const SessionId id = cfg.id;
    ASSERT_TRUE(relay.create(std::move(cfg)));
    ASSERT_TRUE(wait_event(relay, EventKind::session_started, id));
  }
  void start_plain(SessionId id, bool latch_a = false, std::optional<Endpoint> a_remote = {}) {
    SessionConfig cfg;
    cfg.id = id;
    cfg.a = mux_leg(a_local, latch_a ? a_remote : std::optional<Endpoint>(pa.local()), latch_a);
    cfg.b = mux_leg(b_local, pb.local());
    start(std::move(cfg));
  }
};

TEST_F(RelayTest, ForwardsRtpBothWaysAndCounts) {
  start_plain(1);
  for (std::uint16_t s = 1; s <= 5; ++s) {
    const auto pkt = rtp_packet(s);
    ASSERT_TRUE(pa.send(a_local, pkt));
    auto got = pb.recv();
    ASSERT_TRUE(got) << "packet " << s << " not relayed A->B";
    EXPECT_EQ(got->from, b_local);  // leaves from leg B's own socket
    EXPECT_EQ(got->bytes, pkt);
  }
  for (std::uint16_t s = 100; s < 103; ++s) {
    const auto pkt = rtp_packet(s, 0xabcdef01);
    ASSERT_TRUE(pb.send(b_local, pkt));
    auto got = pa.recv();
    ASSERT_TRUE(got) << "packet " << s << " not relayed B->A";
    EXPECT_EQ(got->from, a_local);
    EXPECT_EQ(got->bytes, pkt);
  }
  auto st = stats_of(relay, 1);
  ASSERT_TRUE(st);
  const auto& a = st->legs[0];
  const auto& b = st->legs[1];
  EXPECT_EQ(a.packets_in, 5u);
  EXPECT_EQ(a.bytes_in, 5u * 172);
  EXPECT_EQ(b.packets_out, 5u);
  EXPECT_EQ(b.bytes_out, 5u * 172);
  EXPECT_EQ(b.packets_in, 3u);
  EXPECT_EQ(a.packets_out, 3u);
  EXPECT_EQ(a.dropped_total(), 0u);
  EXPECT_EQ(a.ssrc, 0x11223344u);
  EXPECT_EQ(b.ssrc, 0xabcdef01u);
  EXPECT_EQ(a.rtp_expected, 4u);  // RFC 3550 A.1: the first packet is probation
  EXPECT_EQ(a.rtp_lost, 0);
  ASSERT_TRUE(a.first_packet && a.last_packet);
  EXPECT_LE(*a.first_packet, *a.last_packet);
  EXPECT_EQ(a.remote_rtp, pa.local());
}

TEST_F(RelayTest, CountsSequenceGaps) {
  start_plain(2);
  for (std::uint16_t s : {1, 2, 3, 7, 8}) {
    ASSERT_TRUE(pa.send(a_local, rtp_packet(s)));
    ASSERT_TRUE(pb.recv());
  }
  auto st = stats_of(relay, 2);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->legs[0].seq_gaps, 1u);
  EXPECT_EQ(st->legs[0].rtp_lost, 3);
}

TEST_F(RelayTest, StrictSourceDropsAThirdSender) {
  start_plain(3);
  ASSERT_TRUE(pc.send(a_local, rtp_packet(666, 0x66666666)));  // RTP bleed attempt
  ASSERT_TRUE(pa.send(a_local, rtp_packet(1)));
  auto got = pb.recv();
  ASSERT_TRUE(got);
  EXPECT_EQ(seq_of(*got), 1) << "the injected packet reached leg B";
  auto st = stats_of(relay, 3);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->legs[0].drops(Drop::wrong_source), 1u);
  EXPECT_EQ(st->legs[0].packets_in, 1u);
  EXPECT_EQ(st->legs[1].packets_out, 1u);
}

TEST_F(RelayTest, LatchingLearnsTheFirstSourceOnceAndThenIsStrict) {
  // Leg A's SDP address is useless (a NATed phone announcing a private address).
  start_plain(4, true, loopback(9));
  ASSERT_TRUE(pa.send(a_local, rtp_packet(1)));
  ASSERT_TRUE(pb.recv());
  ASSERT_TRUE(pb.send(b_local, rtp_packet(50, 0x999)));
  auto back = pa.recv();
  ASSERT_TRUE(back) << "media did not follow the latched address";
  EXPECT_EQ(back->from, a_local);
  // A later sender does not take the latch over.
  ASSERT_TRUE(pc.send(a_local, rtp_packet(777, 0x777)));
  ASSERT_TRUE(pa.send(a_local, rtp_packet(2)));
  auto got = pb.recv();
  ASSERT_TRUE(got);
  EXPECT_EQ(seq_of(*got), 2);
  auto st = stats_of(relay, 4);
  ASSERT_TRUE(st);
  EXPECT_TRUE(st->legs[0].latched);
  EXPECT_EQ(st->legs[0].remote_rtp, pa.local());
  EXPECT_EQ(st->legs[0].drops(Drop::wrong_source), 1u);
}

TEST_F(RelayTest, WithoutLatchingTheSdpRemoteIsFixed) {
  SessionConfig cfg;
  cfg.id = 5;
  cfg.a = mux_leg(a_local, loopback(9), false);  // SDP says port 9; pa sends from elsewhere
  cfg.b = mux_leg(b_local, pb.local());
  start(std::move(cfg));
  ASSERT_TRUE(pa.send(a_local, rtp_packet(1)));
  ASSERT_TRUE(pb.send(b_local, rtp_packet(1, 0x42)));  // goes to 127.0.0.1:9, not to pa
  auto st = stats_of(relay, 5);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->legs[0].drops(Drop::wrong_source), 1u);
  EXPECT_FALSE(st->legs[0].latched);
  EXPECT_EQ(st->legs[0].packets_out, 1u);
  EXPECT_FALSE(pa.recv(0ms));
}

TEST_F(RelayTest, NoDestinationIsCountedOnTheIncomingLeg) {
  SessionConfig cfg;
  cfg.id = 6;
  cfg.a = mux_leg(a_local, std::nullopt, true);  // latching, nothing learnt yet
  cfg.b = mux_leg(b_local, pb.local());
  start(std::move(cfg));
  ASSERT_TRUE(pb.send(b_local, rtp_packet(1)));
  auto st = stats_of(relay, 6);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->legs[1].drops(Drop::no_destination), 1u);
  EXPECT_EQ(st->legs[0].packets_out, 0u);
}

TEST_F(RelayTest, BadDatagramsAreDroppedByReason) {
  start_plain(7);
  const std::vector<std::byte> unknown(20, std::byte{0xff});
  std::vector<std::byte> short_rtp(5, std::byte{0});
  short_rtp[0] = std::byte{0x80};
  std::vector<std::byte> stun(20, std::byte{0});
  stun[1] = std::byte{1};
  std::vector<std::byte> dtls(30, std::byte{22});
  for (const auto& d : {unknown, short_rtp, stun, dtls}) ASSERT_TRUE(pa.send(a_local, d));
  ASSERT_TRUE(pa.send(a_local, rtp_packet(9)));
  auto got = pb.recv();
  ASSERT_TRUE(got);
  EXPECT_EQ(seq_of(*got), 9);
  auto st = stats_of(relay, 7);
  ASSERT_TRUE(st);
  const auto& a = st->legs[0];
  EXPECT_EQ(a.drops(Drop::unknown_protocol), 1u);
  EXPECT_EQ(a.drops(Drop::malformed), 1u);
  EXPECT_EQ(a.drops(Drop::stun_unhandled), 1u);
  EXPECT_EQ(a.drops(Drop::dtls_unhandled), 1u);
  EXPECT_EQ(a.packets_in, 1u);
}

TEST_F(RelayTest, RtcpOnTheOddPortToAMuxedLegAndBack) {
  Peer pa_rtcp;
  SessionConfig cfg;
  cfg.id = 8;
  auto rtp = bind_local();
  auto rtcp = bind_local();
  a_local = rtp.local();
  const Endpoint a_rtcp_local = rtcp.local();
  cfg.a.sockets = ports::PortLease::adopt(std::move(rtp), std::move(rtcp));
  cfg.a.rtcp_mux = false;
  cfg.a.remote_rtp = pa.local();
  cfg.a.remote_rtcp = pa_rtcp.local();
  cfg.b = mux_leg(b_local, pb.local());
  start(std::move(cfg));

  const auto rr = rtcp_rr();
  ASSERT_TRUE(pa_rtcp.send(a_rtcp_local, rr));
  auto got = pb.recv();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->bytes, rr);
  EXPECT_EQ(got->from, b_local);

  const auto rr_b = rtcp_rr(0x01010101);
  ASSERT_TRUE(pb.send(b_local, rr_b));
  auto back = pa_rtcp.recv();
  ASSERT_TRUE(back) << "muxed RTCP did not reach the odd port";
  EXPECT_EQ(back->bytes, rr_b);
  EXPECT_EQ(back->from, a_rtcp_local);

  ASSERT_TRUE(pb.send(b_local, rtp_packet(1)));
  auto media = pa.recv();
  ASSERT_TRUE(media);
  EXPECT_EQ(media->from, a_local);

  // RTP sent to the RTCP port is not RTCP.
  ASSERT_TRUE(pa_rtcp.send(a_rtcp_local, rtp_packet(3)));
  auto st = stats_of(relay, 8);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->legs[0].rtcp_in, 1u);
  EXPECT_EQ(st->legs[1].rtcp_in, 1u);
  EXPECT_EQ(st->legs[0].drops(Drop::malformed), 1u);
  EXPECT_EQ(st->legs[0].remote_rtcp, pa_rtcp.local());
}

TEST_F(RelayTest, MediaTimeoutIsReported) {
  SessionConfig cfg;
  cfg.id = 9;
  cfg.a = mux_leg(a_local, pa.local());
  cfg.b = mux_leg(b_local, pb.local());
  cfg.media_timeout = 300ms;
  start(std::move(cfg));
  // Taken before the last packet is sent: the relay cannot have seen it earlier.
  const auto last = std::chrono::steady_clock::now();
  ASSERT_TRUE(pa.send(a_local, rtp_packet(1)));
  ASSERT_TRUE(pb.recv());
  auto e = wait_event(relay, EventKind::media_timeout, 9);
  ASSERT_TRUE(e) << "no media_timeout event";
  EXPECT_GE(std::chrono::steady_clock::now() - last, 300ms) << "reported too early";
  ASSERT_TRUE(e->stats);
  EXPECT_EQ(e->stats->legs[0].packets_in, 1u);
}

TEST_F(RelayTest, UpdateMovesTheRemoteAndDropsTheOldOne) {
  start_plain(10);
  Peer pb2;
  LegUpdate u;
  u.remote_rtp = pb2.local();
  ASSERT_TRUE(relay.update(10, Leg::b, std::move(u)));
  // Commands run in order on the worker: the stats reply shows the update is in place.
  auto applied = stats_of(relay, 10);
  ASSERT_TRUE(applied);
  EXPECT_EQ(applied->legs[1].remote_rtp, pb2.local());
  EXPECT_EQ(applied->legs[1].remote_rtcp, pb2.local());  // muxed
  ASSERT_TRUE(pa.send(a_local, rtp_packet(1)));
  auto got = pb2.recv();
  ASSERT_TRUE(got) << "media did not move to the new remote";
  ASSERT_TRUE(pb.send(b_local, rtp_packet(1, 0x5)));  // the old remote is no longer accepted
  ASSERT_TRUE(pb2.send(b_local, rtp_packet(2, 0x6)));
  auto back = pa.recv();
  ASSERT_TRUE(back);
  EXPECT_EQ(seq_of(*back), 2);
  auto st = stats_of(relay, 10);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->legs[1].drops(Drop::wrong_source), 1u);
}

TEST_F(RelayTest, DestroyClosesTheSocketsAndReportsFinalStats) {
  start_plain(11);
  ASSERT_TRUE(pa.send(a_local, rtp_packet(1)));
  ASSERT_TRUE(pb.recv());
  ASSERT_TRUE(relay.destroy(11));
  auto e = wait_event(relay, EventKind::session_closed, 11);
  ASSERT_TRUE(e);
  ASSERT_TRUE(e->stats);
  EXPECT_EQ(e->stats->legs[0].packets_in, 1u);
  EXPECT_TRUE(ports::UdpSocket::bind(a_local)) << "leg A socket still open";
  EXPECT_FALSE(relay.request_stats(11));
  EXPECT_FALSE(relay.destroy(11));
}

TEST_F(RelayTest, SessionsArePinnedAcrossWorkers) {
  std::vector<Endpoint> a(4), b(4);
  std::set<unsigned> workers;
  for (SessionId id = 20; id < 24; ++id) {
    SessionConfig cfg;
    cfg.id = id;
    cfg.a = mux_leg(a[id - 20], pa.local());
    cfg.b = mux_leg(b[id - 20], pb.local());
    auto w = relay.create(std::move(cfg));
    ASSERT_TRUE(w);
    workers.insert(*w);
    ASSERT_TRUE(wait_event(relay, EventKind::session_started, id));
  }
  EXPECT_EQ(workers.size(), 2u);
  for (SessionId id = 20; id < 24; ++id) {
    ASSERT_TRUE(pa.send(a[id - 20], rtp_packet(static_cast<std::uint16_t>(id))));
    auto got = pb.recv();
    ASSERT_TRUE(got);
    EXPECT_EQ(got->from, b[id - 20]);
  }
  SessionConfig dup;
  dup.id = 20;
  dup.a = mux_leg(a[0], pa.local());
  dup.b = mux_leg(b[0], pb.local());
  EXPECT_FALSE(relay.create(std::move(dup)));
}

TEST_F(RelayTest, InvalidLegIsRefusedWithAReason) {
  SessionConfig cfg;
  cfg.id = 30;
  cfg.a = mux_leg(a_local, pa.local());
  cfg.a.rtcp_mux = false;  // but no RTCP socket
  cfg.b = mux_leg(b_local, pb.local());
  ASSERT_TRUE(relay.create(std::move(cfg)));
  auto e = wait_event(relay, EventKind::session_failed, 30);
  ASSERT_TRUE(e);
  EXPECT_NE(e->detail.find("RTCP"), std::string::npos) << e->detail;
  EXPECT_FALSE(relay.request_stats(30));  // forgotten once the failure was drained
}

// Marks packets so the test can see the hooks ran on the right legs in the right order:
// leg A's peer sends "...SRTP" (4-byte trailer), the relay strips it (unprotect on A) and leg
// B's protect appends "B".
class TrailerTransform final : public PacketTransform {
 public:
  explicit TrailerTransform(char tag) : tag_(tag) {}
  std::optional<std::size_t> unprotect(std::span<std::byte> b, std::size_t len,
                                       bool) noexcept override {
    if (len < 4 || std::memcmp(b.data() + len - 4, "SRTP", 4) != 0) return std::nullopt;
    return len - 4;
  }
  std::optional<std::size_t> protect(std::span<std::byte> b, std::size_t len,
                                     bool) noexcept override {
    if (len + 1 > b.size()) return std::nullopt;
    b[len] = static_cast<std::byte>(tag_);
    return len + 1;
  }

 private:
  char tag_;
};

TEST_F(RelayTest, SrtpHookUnprotectsOnTheWayInAndProtectsOnTheWayOut) {
  SessionConfig cfg;
  cfg.id = 40;
  cfg.a = mux_leg(a_local, pa.local());
  cfg.a.srtp = std::make_unique<TrailerTransform>('A');
  cfg.b = mux_leg(b_local, pb.local());
  cfg.b.srtp = std::make_unique<TrailerTransform>('B');
  start(std::move(cfg));
  auto pkt = rtp_packet(1);
  auto wire = pkt;
  for (char c : std::string_view("SRTP")) wire.push_back(static_cast<std::byte>(c));
  ASSERT_TRUE(pa.send(a_local, pkt));  // no trailer: unprotect refuses
  ASSERT_TRUE(pa.send(a_local, wire));
  auto got = pb.recv();
  ASSERT_TRUE(got);
  auto expect = pkt;
  expect.push_back(std::byte{'B'});
  EXPECT_EQ(got->bytes, expect);
  auto st = stats_of(relay, 40);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->legs[0].drops(Drop::transform_failed), 1u);
}

TEST(RelayPorts, ExhaustionIsReportedAsAnEvent) {
  Relay relay(RelayConfig{1, 8, {}});
  ports::AllocatorConfig c;
  c.address = loopback().address;
  c.min_port = 47950;
  c.max_port = 47951;
  auto alloc = ports::PortAllocator::create(c);
  ASSERT_TRUE(alloc);
  auto first = relay.allocate(*alloc, 1, ports::PortShape::pair);
  ASSERT_TRUE(first) << first.error().detail;
  auto second = relay.allocate(*alloc, 2, ports::PortShape::pair);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ports::PortErrc::exhausted);
  auto e = wait_event(relay, EventKind::port_exhausted, 2);
  ASSERT_TRUE(e);
  EXPECT_NE(e->detail.find("47950-47951"), std::string::npos);
}

}  // namespace
}  // namespace icegate::media::relay
