// ICE-lite on a relay leg, end to end on loopback: the peer's connectivity checks reach the
// leg's LiteAgent through the real socket, the answers leave from it, and the media path is
// the one the agent selected (behaviour.md §4, §5).
#include <gtest/gtest.h>

#include <chrono>

#include "media/ice/agent.hpp"
#include "media/relay/relay.hpp"
#include "media/stun/attributes.hpp"
#include "media/stun/builder.hpp"
#include "media/stun/integrity.hpp"
#include "relay_test_peer.hpp"

namespace icegate::media::relay {
namespace {

using namespace std::chrono_literals;
using testing::Datagram;
using testing::is_media;
using testing::is_stun;
using testing::loopback;
using testing::Peer;
using testing::rtp_packet;
using testing::seq_of;
using testing::stats_of;
using testing::wait_event;
namespace attr = stun::attr;

const ice::Credentials kLocal{"relayufr", "relaypasswordrelaypassword"};
const ice::Credentials kPeer{"peerufrg", "peerpasswordpeerpassword"};

class FixedRandom final : public ice::RandomSource {
 public:
  void fill(std::span<std::byte> out) override {
    for (auto& b : out) b = static_cast<std::byte>(++n_);
  }

 private:
  unsigned n_ = 0;
};

stun::TransactionId tid(std::uint8_t n) {
  stun::TransactionId t{};
  t.fill(std::byte{n});
  return t;
}

std::vector<std::byte> check(const stun::TransactionId& t, bool use_candidate,
                             std::string_view pwd = kLocal.pwd) {
  stun::MessageBuilder b({stun::method::binding, stun::MessageClass::request}, t);
  b.add_text(attr::username, kLocal.ufrag + ":" + kPeer.ufrag);
  b.add_u32(attr::priority, 0x6e0001ff);
  b.add_u64(attr::ice_controlling, 0x1234);
  if (use_candidate) b.add_flag(attr::use_candidate);
  b.add_message_integrity(stun::short_term_key(pwd));
  b.add_fingerprint();
  return std::move(b).finish();
}

std::optional<stun::Message> as_stun(const Datagram& d) {
  if (!is_stun(d)) return std::nullopt;
  auto m = stun::parse(d.bytes);
  if (!m) return std::nullopt;
  return std::move(*m);
}

class RelayIceTest : public ::testing::Test {
 protected:
  Relay relay{RelayConfig{1, 16, {}}};
  FixedRandom rng;
  Peer pa, pb, pc;
  Endpoint a_local, b_local;

  void start(SessionId id, std::vector<Endpoint> candidates, ice::AgentConfig ac = {}) {
    SessionConfig cfg;
    cfg.id = id;
    auto sa = ports::UdpSocket::bind(loopback()).value();
    a_local = sa.local();
    cfg.a.sockets = ports::PortLease::adopt(std::move(sa));
    cfg.a.rtcp_mux = true;
    cfg.a.ice = std::make_unique<ice::LiteAgent>(ac, kLocal, rng);
    cfg.a.ice_remote = IceRemote{kPeer, std::move(candidates)};
    testing::plain_leg(cfg.b, pb, b_local);
    ASSERT_TRUE(relay.create(std::move(cfg)));
    ASSERT_TRUE(wait_event(relay, EventKind::session_started, id));
  }

  // Sends a check from `peer` and returns the agent's answer to it.
  std::optional<stun::Message> run_check(const Peer& peer, std::uint8_t n, bool use_candidate,
                                         std::string_view pwd = kLocal.pwd) {
    const auto t = tid(n);
    if (!peer.send(a_local, check(t, use_candidate, pwd))) return std::nullopt;
    auto d = peer.recv_until([&](const Datagram& d) {
      auto m = as_stun(d);
      return m && m->transaction_id == t && m->type.cls != stun::MessageClass::request;
    });
    if (!d) return std::nullopt;
    EXPECT_EQ(d->from, a_local) << "answer did not come from the checked address";
    return as_stun(*d);
  }
};

TEST_F(RelayIceTest, CheckIsAnsweredThroughTheSocketAndSelectsTheMediaPath) {
  ice::AgentConfig ac;
  ac.punch_attempts = 1;
  start(1, {pa.local()}, ac);

  // Pin-hole punching: the agent's own Binding Request leaves from leg A's socket at start.
  auto punch = pa.recv_until([](const Datagram& d) {
    auto m = as_stun(d);
    return m && m->type.cls == stun::MessageClass::request;
  });
  ASSERT_TRUE(punch) << "no pin-hole request";
  EXPECT_EQ(punch->from, a_local);

  // Before ICE selected a path: media towards leg A has no destination, media from it is not
  // from the selected address.
  ASSERT_TRUE(pb.send(b_local, rtp_packet(1)));
  ASSERT_TRUE(pa.send(a_local, rtp_packet(1)));
  auto st = stats_of(relay, 1);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->legs[1].drops(Drop::no_destination), 1u);
  EXPECT_EQ(st->legs[0].drops(Drop::wrong_source), 1u);

  auto answer = run_check(pa, 1, true);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->type.cls, stun::MessageClass::success);
  const auto* xma = answer->find(attr::xor_mapped_address);
  ASSERT_NE(xma, nullptr);
  EXPECT_EQ(stun::read_address(*answer, *xma).value(), pa.local());
  EXPECT_EQ(stun::verify_message_integrity(*answer, stun::short_term_key(kLocal.pwd)),
            stun::Check::ok);

  auto connected = wait_event(relay, EventKind::ice_connected, 1);
  ASSERT_TRUE(connected);
  EXPECT_EQ(connected->leg, Leg::a);
  EXPECT_EQ(connected->remote, pa.local());

  ASSERT_TRUE(pb.send(b_local, rtp_packet(2)));
  auto media = pa.recv_until(is_media);
  ASSERT_TRUE(media) << "media did not take the ICE path";
  EXPECT_EQ(media->from, a_local);
  EXPECT_EQ(seq_of(*media), 2);

  ASSERT_TRUE(pc.send(a_local, rtp_packet(66, 0x666)));
  ASSERT_TRUE(pa.send(a_local, rtp_packet(3)));
  auto fwd = pb.recv();
  ASSERT_TRUE(fwd);
  EXPECT_EQ(seq_of(*fwd), 3);

  st = stats_of(relay, 1);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->legs[0].drops(Drop::wrong_source), 2u);
  EXPECT_EQ(st->legs[0].stun_in, 1u);
  EXPECT_EQ(st->legs[0].stun_out, 2u);  // the pin-hole request and the answer
  EXPECT_EQ(st->legs[0].remote_rtp, pa.local());
}

TEST_F(RelayIceTest, BadCredentialsSelectNothing) {
  ice::AgentConfig ac;
  ac.punch_attempts = 0;
  start(2, {pa.local()}, ac);
  auto answer = run_check(pa, 7, true, "wrongpasswordwrongpassword");
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->type.cls, stun::MessageClass::error);
  ASSERT_TRUE(pb.send(b_local, rtp_packet(1)));
  auto st = stats_of(relay, 2);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->legs[1].drops(Drop::no_destination), 1u);
  EXPECT_FALSE(st->legs[0].remote_rtp);
}

TEST_F(RelayIceTest, NominationMovesTheMediaPath) {
  ice::AgentConfig ac;
  ac.punch_attempts = 0;
  Peer pa2;
  start(3, {pa.local(), pa2.local()}, ac);
  ASSERT_TRUE(run_check(pa, 1, false));
  ASSERT_TRUE(wait_event(relay, EventKind::ice_connected, 3));
  ASSERT_TRUE(run_check(pa2, 2, true));
  auto changed = wait_event(relay, EventKind::nominated_changed, 3);
  ASSERT_TRUE(changed);
  EXPECT_EQ(changed->remote, pa2.local());

  ASSERT_TRUE(pb.send(b_local, rtp_packet(5)));
  auto media = pa2.recv_until(is_media);
  ASSERT_TRUE(media);
  EXPECT_EQ(seq_of(*media), 5);
  ASSERT_TRUE(pa.send(a_local, rtp_packet(1)));  // the old path is no longer accepted
  ASSERT_TRUE(pa2.send(a_local, rtp_packet(2)));
  auto fwd = pb.recv();
  ASSERT_TRUE(fwd);
  EXPECT_EQ(seq_of(*fwd), 2);
}

TEST_F(RelayIceTest, ConsentLossIsReportedByTheWorkerTimer) {
  ice::AgentConfig ac;
  ac.punch_attempts = 0;
  ac.consent_timeout = 300ms;
  start(4, {pa.local()}, ac);
  // Taken before the check is sent: the agent's consent clock cannot start earlier.
  const auto checked = std::chrono::steady_clock::now();
  ASSERT_TRUE(run_check(pa, 1, true));
  auto lost = wait_event(relay, EventKind::consent_lost, 4);
  ASSERT_TRUE(lost) << "consent loss not reported";
  EXPECT_EQ(lost->leg, Leg::a);
  EXPECT_GE(std::chrono::steady_clock::now() - checked, 300ms) << "reported too early";
}

TEST(RelayIce, IceLegWithoutRtcpMuxIsRefused) {
  Relay relay(RelayConfig{1, 8, {}});
  FixedRandom rng;
  SessionConfig cfg;
  cfg.id = 9;
  cfg.a.sockets = ports::PortLease::adopt(ports::UdpSocket::bind(loopback()).value(),
                                          ports::UdpSocket::bind(loopback()).value());
  cfg.a.ice = std::make_unique<ice::LiteAgent>(ice::AgentConfig{}, kLocal, rng);
  cfg.b.sockets = ports::PortLease::adopt(ports::UdpSocket::bind(loopback()).value());
  cfg.b.rtcp_mux = true;
  ASSERT_TRUE(relay.create(std::move(cfg)));
  auto e = wait_event(relay, EventKind::session_failed, 9);
  ASSERT_TRUE(e);
  EXPECT_NE(e->detail.find("rtcp-mux"), std::string::npos);
}

}  // namespace
}  // namespace icegate::media::relay
