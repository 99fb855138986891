// ICE without rtcp-mux (baresip 1.0, linphone 5.1): component 1 on the RTP socket, component 2
// on the RTCP socket, each with its own lite agent sharing the stream's credentials
// (RFC 8445 §5.3). RTCP follows component 2's selected pair; its failure never ends the call.
#include <gtest/gtest.h>

#include <chrono>

#include "media/relay/relay.hpp"
#include "relay_ice_peer.hpp"
#include "relay_test_peer.hpp"

namespace icegate::media::relay {
namespace {

using namespace std::chrono_literals;
using testing::is_success;
using testing::kRelayIce;
using testing::loopback;
using testing::Peer;
using testing::rtcp_rr;
using testing::rtp_packet;
using testing::run_check;
using testing::seq_of;
using testing::stats_of;
using testing::wait_event;

class RelayIceRtcpTest : public ::testing::Test {
 protected:
  Relay relay{RelayConfig{1, 16, {}}};
  testing::CountingRandom rng;
  Peer phone_rtp, phone_rtcp, pb;
  Endpoint a_rtp, a_rtcp, b_local;

  SessionConfig config(SessionId id, ice::AgentConfig rtcp_agent = {},
                       ice::Credentials rtcp_creds = kRelayIce) {
    SessionConfig cfg;
    cfg.id = id;
    auto rtp = ports::UdpSocket::bind(loopback()).value();
    auto rtcp = ports::UdpSocket::bind(loopback()).value();
    a_rtp = rtp.local();
    a_rtcp = rtcp.local();
    cfg.a.sockets = ports::PortLease::adopt(std::move(rtp), std::move(rtcp));
    ice::AgentConfig ac;
    ac.punch_attempts = 0;
    rtcp_agent.component = 2;
    cfg.a.ice = std::make_unique<ice::LiteAgent>(ac, kRelayIce, rng);
    cfg.a.ice_rtcp = std::make_unique<ice::LiteAgent>(rtcp_agent, rtcp_creds, rng);
    cfg.a.ice_remote = IceRemote{testing::kPeerIce, {phone_rtp.local()}, {phone_rtcp.local()}};
    testing::plain_leg(cfg.b, pb, b_local);
    return cfg;
  }
  void start(SessionConfig cfg) {
    const auto id = cfg.id;
    ASSERT_TRUE(relay.create(std::move(cfg)));
    ASSERT_TRUE(wait_event(relay, EventKind::session_started, id));
  }
};

TEST_F(RelayIceRtcpTest, ComponentTwoChecksAreAnsweredOnTheRtcpSocketAndCarryRtcp) {
  ice::AgentConfig c2;
  c2.punch_attempts = 1;
  start(config(1, c2));
  // Component 2 punches the phone's RTCP candidate from the RTCP socket.
  auto punch = phone_rtcp.recv_until([](const testing::Datagram& d) {
    auto m = testing::as_stun(d);
    return m && m->type.cls == stun::MessageClass::request;
  });
  ASSERT_TRUE(punch);
  EXPECT_EQ(punch->from, a_rtcp);

  ASSERT_TRUE(is_success(run_check(phone_rtp, a_rtp, 1, true, 1)));
  auto connected = wait_event(relay, EventKind::ice_connected, 1);
  ASSERT_TRUE(connected);
  EXPECT_NE(connected->detail.find("RTCP (component 2) not connected"), std::string::npos)
      << connected->detail;

  // RTCP toward the phone has nowhere to go until component 2 has a path.
  ASSERT_TRUE(pb.send(b_local, rtcp_rr()));
  auto st = stats_of(relay, 1);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->legs[1].drops(Drop::no_destination), 1u);

  // run_check() also checks that the answer came from the RTCP socket.
  ASSERT_TRUE(is_success(run_check(phone_rtcp, a_rtcp, 2, true, 2)));
  std::vector<MediaEvent> seen;
  auto c2_event = wait_event(relay, EventKind::ice_rtcp_changed, 1, &seen);
  ASSERT_TRUE(c2_event);
  EXPECT_EQ(c2_event->remote, phone_rtcp.local());
  for (const auto& e : seen) EXPECT_NE(e.kind, EventKind::ice_connected);  // only once, comp 1

  ASSERT_TRUE(pb.send(b_local, rtcp_rr(0x01020304)));
  auto got = phone_rtcp.recv_until(testing::is_media);
  ASSERT_TRUE(got) << "RTCP did not follow component 2";
  EXPECT_EQ(got->from, a_rtcp);
  EXPECT_EQ(got->bytes, rtcp_rr(0x01020304));
  ASSERT_TRUE(phone_rtcp.send(a_rtcp, rtcp_rr()));
  got = pb.recv();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->bytes, rtcp_rr());
  // RTP still takes component 1.
  ASSERT_TRUE(pb.send(b_local, rtp_packet(7)));
  got = phone_rtp.recv_until(testing::is_media);
  ASSERT_TRUE(got);
  EXPECT_EQ(seq_of(*got), 7);

  st = stats_of(relay, 1);
  ASSERT_TRUE(st);
  const auto& a = st->legs[0];
  ASSERT_TRUE(a.ice && a.ice_rtcp);
  EXPECT_EQ(a.ice->component, 1);
  EXPECT_EQ(a.ice->selected, phone_rtp.local());
  EXPECT_EQ(a.ice->checks_answered, 1u);
  EXPECT_EQ(a.ice_rtcp->component, 2);
  EXPECT_EQ(a.ice_rtcp->selected, phone_rtcp.local());
  EXPECT_TRUE(a.ice_rtcp->nominated);
  EXPECT_EQ(a.ice_rtcp->checks_answered, 1u);
  EXPECT_EQ(a.ice_rtcp->punches_sent, 1u);
  EXPECT_EQ(a.remote_rtcp, phone_rtcp.local());
  EXPECT_EQ(a.stun_in, 2u);
}

TEST_F(RelayIceRtcpTest, ComponentTwoConsentLossIsReportedButDoesNotEndTheCall) {
  ice::AgentConfig c2;
  c2.punch_attempts = 0;
  c2.consent_timeout = 100ms;  // component 1 keeps the default 30 s
  start(config(2, c2));
  ASSERT_TRUE(is_success(run_check(phone_rtp, a_rtp, 1, true, 1)));
  std::vector<MediaEvent> seen;
  std::optional<MediaEvent> lost;
  for (int i = 0; i < 3 && !lost; ++i) {
    auto e = wait_event(relay, EventKind::ice_rtcp_changed, 2, &seen);
    if (e && e->detail.find("consent") != std::string::npos) lost = e;
  }
  ASSERT_TRUE(lost) << "component 2 consent loss not reported";
  EXPECT_EQ(lost->leg, Leg::a);
  for (const auto& e : seen) EXPECT_NE(e.kind, EventKind::consent_lost);
  ASSERT_TRUE(pb.send(b_local, rtp_packet(3)));  // media on component 1 still flows
  auto got = phone_rtp.recv_until(testing::is_media);
  ASSERT_TRUE(got);
  EXPECT_EQ(seq_of(*got), 3);
}

TEST_F(RelayIceRtcpTest, ComponentsWithDifferentCredentialsAreRefused) {
  start(config(3));  // sanity: the same credentials are accepted
  ASSERT_TRUE(
      relay.create(config(4, {}, ice::Credentials{"otherufr", "otherpasswordotherpassword"})));
  auto e = wait_event(relay, EventKind::session_failed, 4);
  ASSERT_TRUE(e);
  EXPECT_NE(e->detail.find("credentials"), std::string::npos) << e->detail;
}

}  // namespace
}  // namespace icegate::media::relay
