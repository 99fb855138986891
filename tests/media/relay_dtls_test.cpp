// DTLS-SRTP on an ICE relay leg, end to end on loopback (behaviour.md §5): a softphone peer
// runs ICE checks, a DTLS handshake (icegate's DtlsEngine in the opposite role, over its own UDP
// socket) and SRTP with libsrtp sessions keyed from its side of the handshake. Leg B is plain
// RTP. Waiting is always poll() with a bounded deadline.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <tuple>

#include "media/dtls/certificate.hpp"
#include "media/dtls/engine.hpp"
#include "media/relay/relay.hpp"
#include "media/srtp/session.hpp"
#include "relay_ice_peer.hpp"
#include "relay_test_peer.hpp"

namespace icegate::media::relay {
namespace {

using namespace std::chrono_literals;
using testing::Datagram;
using testing::is_media;
using testing::is_success;
using testing::kRelayIce;
using testing::loopback;
using testing::Peer;
using testing::rtcp_rr;
using testing::rtp_packet;
using testing::run_check;
using testing::stats_of;
using testing::wait_event;
using Bytes = std::vector<std::byte>;

std::shared_ptr<const dtls::Certificate> cert(int which) {
  static const auto relay = *dtls::Certificate::generate({.common_name = "icegate"});
  static const auto phone = *dtls::Certificate::generate({.common_name = "phone"});
  static const auto other = *dtls::Certificate::generate({.common_name = "stranger"});
  return which == 0 ? relay : which == 1 ? phone : other;
}

// A DTLS configuration with certificate `own` that expects the peer's certificate `peer`
// (cert() numbers).
dtls::DtlsConfig dtls_config(dtls::Role role, int own, int peer) {
  dtls::DtlsConfig c;
  c.role = role;
  c.certificate = cert(own);
  c.expected_peer_fingerprints = {cert(peer)->fingerprint()};
  return c;
}

bool is_dtls(const Datagram& d) {
  const auto b = d.bytes.empty() ? 0u : std::to_integer<unsigned>(d.bytes[0]);
  return b >= 20 && b <= 63;  // RFC 7983 §7
}

// The softphone: its RTP socket (component 1, DTLS), an optional RTCP socket (component 2),
// its DTLS engine and, once connected, its SRTP contexts.
struct Phone {
  Peer rtp, rtcp;
  std::optional<dtls::DtlsEngine> engine;
  std::optional<srtp::SrtpSender> tx;
  std::optional<srtp::SrtpReceiver> rx;

  void make_engine(dtls::Role role, std::vector<srtp::SrtpProfile> profiles = {}) {
    auto c = dtls_config(role, 1, 0);
    if (!profiles.empty()) c.srtp_profiles = std::move(profiles);
    engine.emplace(std::move(dtls::DtlsEngine::create(std::move(c)).value()));
  }

  // Runs the phone's side of the handshake with `relay_addr` until `done` says so (or 5 s).
  bool pump(const Endpoint& relay_addr, const std::function<bool()>& done) {
    return pump_on(rtp, *engine, relay_addr, done);
  }
  // The same on any socket and engine (component 2 has an association of its own).
  static bool pump_on(Peer& sock, dtls::DtlsEngine& e, const Endpoint& relay_addr,
                      const std::function<bool()>& done) {
    auto* engine = &e;
    auto& rtp = sock;
    dtls::DtlsOutput out;
    auto flush = [&] {
      for (const auto& d : out.datagrams) rtp.send(relay_addr, d);
      out.clear();
    };
    if (engine->state() == dtls::State::idle) {
      engine->start(std::chrono::steady_clock::now(), out);
      flush();
    }
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      auto d = rtp.recv(20ms);
      const auto now = std::chrono::steady_clock::now();
      if (d && is_dtls(*d)) {
        EXPECT_EQ(d->from, relay_addr) << "DTLS must leave from the checked socket";
        engine->on_datagram(d->bytes, now, out);
      } else if (auto t = engine->next_timer(); t && *t <= now) {
        engine->on_timer(now, out);
      }
      flush();
    }
    return true;
  }

  void key() {
    const auto& k = engine->srtp_keys();
    ASSERT_TRUE(k);
    tx.emplace(std::move(srtp::SrtpSender::create(k->local).value()));
    rx.emplace(std::move(srtp::SrtpReceiver::create(k->remote).value()));
  }

  Bytes protect(Bytes p, bool rtcp = false) {
    const auto len = p.size();
    p.resize(len + 64);
    auto r = rtcp ? tx->protect_rtcp(p, len) : tx->protect_rtp(p, len);
    EXPECT_TRUE(r);
    p.resize(r ? *r : 0);
    return p;
  }
  std::optional<Bytes> unprotect(Bytes p, bool rtcp = false) {
    auto r = rtcp ? rx->unprotect_rtcp(p, p.size()) : rx->unprotect_rtp(p, p.size());
    if (!r) return std::nullopt;
    p.resize(*r);
    return p;
  }
};

class RelayDtlsTest : public ::testing::Test {
 protected:
  Relay relay{RelayConfig{1, 16, {}}};
  testing::CountingRandom rng;
  Phone phone;
  Peer pb, stranger;
  Endpoint a_rtp, a_rtcp, b_local;

  // Leg A: the phone (ICE, optionally without rtcp-mux, DTLS-SRTP). Leg B: plain RTP to pb.
  void start(SessionId id, dtls::Role relay_role, bool mux, int expected_cert = 1,
             ice::AgentConfig rtcp_agent = {}, bool with_dtls = true) {
    SessionConfig cfg;
    cfg.id = id;
    auto rtp = ports::UdpSocket::bind(loopback()).value();
    a_rtp = rtp.local();
    ice::AgentConfig ac;
    ac.punch_attempts = 0;
    if (mux) {
      cfg.a.sockets = ports::PortLease::adopt(std::move(rtp));
    } else {
      auto rtcp = ports::UdpSocket::bind(loopback()).value();
      a_rtcp = rtcp.local();
      cfg.a.sockets = ports::PortLease::adopt(std::move(rtp), std::move(rtcp));
      rtcp_agent.component = 2;
      rtcp_agent.punch_attempts = 0;
      cfg.a.ice_rtcp = std::make_unique<ice::LiteAgent>(rtcp_agent, kRelayIce, rng);
    }
    cfg.a.rtcp_mux = mux;
    cfg.a.ice = std::make_unique<ice::LiteAgent>(ac, kRelayIce, rng);
    cfg.a.ice_remote = IceRemote{testing::kPeerIce, {phone.rtp.local()}, {phone.rtcp.local()}};
    if (with_dtls) cfg.a.dtls = dtls_config(relay_role, 0, expected_cert);
    testing::plain_leg(cfg.b, pb, b_local);
    ASSERT_TRUE(relay.create(std::move(cfg)));
    ASSERT_TRUE(wait_event(relay, EventKind::session_started, id));
  }

  void connect_ice(SessionId id) {
    ASSERT_TRUE(is_success(run_check(phone.rtp, a_rtp, 1, true)));
    ASSERT_TRUE(wait_event(relay, EventKind::ice_connected, id));
  }

  // Handshake until both ends are connected; returns the relay's dtls_connected event.
  std::optional<MediaEvent> handshake(SessionId id) {
    EXPECT_TRUE(phone.pump(a_rtp, [&] {
      return phone.engine->state() == dtls::State::connected ||
             phone.engine->state() == dtls::State::failed;
    }));
    EXPECT_EQ(phone.engine->state(), dtls::State::connected) << phone.engine->failure_reason();
    auto e = wait_event(relay, EventKind::dtls_connected, id);
    if (phone.engine->state() == dtls::State::connected) phone.key();
    return e;
  }
};

// (icegate's role, SRTP profile the phone offers)
class RelayDtlsRoles
    : public RelayDtlsTest,
      public ::testing::WithParamInterface<std::tuple<dtls::Role, srtp::SrtpProfile>> {};

TEST_P(RelayDtlsRoles, SrtpFromThePhoneReachesLegBPlainAndBack) {
  const auto [role, profile] = GetParam();
  start(1, role, true);
  connect_ice(1);

  // ICE is up but DTLS is not: no media either way (behaviour.md §5), counted.
  ASSERT_TRUE(pb.send(b_local, rtp_packet(1)));
  ASSERT_TRUE(phone.rtp.send(a_rtp, rtp_packet(1)));
  // DTLS from anyone but the selected path is not the handshake's business.
  ASSERT_TRUE(stranger.send(a_rtp, Bytes(20, std::byte{22})));
  auto st = stats_of(relay, 1);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->legs[1].drops(Drop::srtp_not_ready), 1u);
  EXPECT_EQ(st->legs[0].drops(Drop::srtp_not_ready), 1u);
  EXPECT_EQ(st->legs[0].drops(Drop::wrong_source), 1u);
  ASSERT_TRUE(st->legs[0].dtls);
  EXPECT_EQ(st->legs[0].dtls->role, role == dtls::Role::client ? "client" : "server");

  phone.make_engine(role == dtls::Role::client ? dtls::Role::server : dtls::Role::client,
                    {profile});
  auto connected = handshake(1);
  ASSERT_TRUE(connected) << "no dtls_connected";
  EXPECT_EQ(connected->leg, Leg::a);
  EXPECT_NE(connected->detail.find(srtp::to_string(profile)), std::string::npos)
      << connected->detail;
  EXPECT_NE(connected->detail.find(role == dtls::Role::client ? "client" : "server"),
            std::string::npos);

  // Phone -> leg B: SRTP in, plain RTP out.
  const Bytes plain = rtp_packet(10);
  const Bytes secured = phone.protect(plain);
  ASSERT_NE(secured, plain);
  ASSERT_TRUE(phone.rtp.send(a_rtp, secured));
  auto got = pb.recv();
  ASSERT_TRUE(got) << "SRTP was not relayed to leg B";
  EXPECT_EQ(got->bytes, plain);

  // Leg B -> phone: plain RTP in, SRTP out that the phone's keys open.
  const Bytes back = rtp_packet(20, 0xabcdef01);
  ASSERT_TRUE(pb.send(b_local, back));
  auto enc = phone.rtp.recv_until(is_media);
  ASSERT_TRUE(enc) << "no media toward the phone";
  EXPECT_NE(enc->bytes, back);
  EXPECT_EQ(phone.unprotect(enc->bytes), back);

  // SRTCP both ways on the muxed port (RFC 5761, RFC 3711 §3.4).
  ASSERT_TRUE(phone.rtp.send(a_rtp, phone.protect(rtcp_rr(), true)));
  got = pb.recv();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->bytes, rtcp_rr());
  ASSERT_TRUE(pb.send(b_local, rtcp_rr(0x01020304)));
  enc = phone.rtp.recv_until(is_media);
  ASSERT_TRUE(enc);
  EXPECT_EQ(phone.unprotect(enc->bytes, true), rtcp_rr(0x01020304));

  // Tampered and replayed SRTP is dropped and counted by reason (RFC 3711 §3.3).
  Bytes tampered = phone.protect(rtp_packet(11));
  tampered[20] ^= std::byte{0x01};
  ASSERT_TRUE(phone.rtp.send(a_rtp, tampered));
  ASSERT_TRUE(phone.rtp.send(a_rtp, secured));
  st = stats_of(relay, 1);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->legs[0].drops(Drop::srtp_auth_failed), 1u);
  EXPECT_EQ(st->legs[0].drops(Drop::srtp_replay), 1u);
  EXPECT_EQ(st->legs[1].packets_out, 2u);  // the RTP and the RTCP packet only
  ASSERT_TRUE(st->legs[0].dtls);
  EXPECT_EQ(st->legs[0].dtls->state, "connected");
  EXPECT_EQ(st->legs[0].dtls->profile, srtp::to_string(profile));
  ASSERT_TRUE(st->legs[0].ice);
  EXPECT_EQ(st->legs[0].ice->selected, phone.rtp.local());
  EXPECT_TRUE(st->legs[0].ice->nominated);
  EXPECT_EQ(st->legs[0].ice->checks_answered, 1u);
}

INSTANTIATE_TEST_SUITE_P(
    Roles, RelayDtlsRoles,
    ::testing::Values(std::tuple{dtls::Role::server, srtp::SrtpProfile::aead_aes_128_gcm},
                      std::tuple{dtls::Role::server, srtp::SrtpProfile::aes_cm_128_hmac_sha1_80},
                      std::tuple{dtls::Role::client, srtp::SrtpProfile::aead_aes_128_gcm},
                      std::tuple{dtls::Role::client, srtp::SrtpProfile::aes_cm_128_hmac_sha1_80}));

TEST_F(RelayDtlsTest, WrongFingerprintFailsTheLegAndNoMediaFlows) {
  start(2, dtls::Role::server, true, /*expected_cert=*/2);  // SDP named another certificate
  connect_ice(2);
  phone.make_engine(dtls::Role::client);
  std::optional<MediaEvent> failed;
  std::vector<MediaEvent> seen;
  phone.pump(a_rtp, [&] {
    for (auto& e : relay.drain_events()) {
      if (e.kind == EventKind::dtls_failed) failed = e;
      seen.push_back(e);
    }
    return failed.has_value();
  });
  ASSERT_TRUE(failed) << "no dtls_failed event";
  EXPECT_EQ(failed->leg, Leg::a);
  EXPECT_NE(failed->detail.find("fingerprint"), std::string::npos) << failed->detail;
  for (const auto& e : seen) EXPECT_NE(e.kind, EventKind::dtls_connected);

  ASSERT_TRUE(pb.send(b_local, rtp_packet(1)));
  ASSERT_TRUE(phone.rtp.send(a_rtp, rtp_packet(2)));
  auto st = stats_of(relay, 2);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->legs[1].drops(Drop::srtp_not_ready), 1u);
  EXPECT_EQ(st->legs[0].drops(Drop::srtp_not_ready), 1u);
  EXPECT_EQ(st->legs[0].packets_out, 0u);
  EXPECT_EQ(st->legs[1].packets_out, 0u);
  ASSERT_TRUE(st->legs[0].dtls);
  EXPECT_EQ(st->legs[0].dtls->state, "failed");
  EXPECT_NE(st->legs[0].dtls->failure.find("fingerprint"), std::string::npos);
}

TEST_F(RelayDtlsTest, NewDtlsParametersRunANewHandshake) {
  start(3, dtls::Role::server, true);
  connect_ice(3);
  phone.make_engine(dtls::Role::client);
  ASSERT_TRUE(handshake(3));

  // A re-INVITE with a new fingerprint (the phone's new certificate): a new engine, and the
  // old keys keep working until it is done.
  LegUpdate u;
  u.dtls = dtls_config(dtls::Role::client, 0, 1);
  ASSERT_TRUE(relay.update(3, Leg::a, std::move(u)));
  // icegate is now the client and ICE has a path: its ClientHello comes at once.
  Phone fresh;
  fresh.make_engine(dtls::Role::server);
  auto hello = phone.rtp.recv_until(is_dtls);
  ASSERT_TRUE(hello) << "no new ClientHello";
  ASSERT_TRUE(phone.rtp.send(a_rtp, phone.protect(rtp_packet(30))));  // old keys, still valid
  auto got = pb.recv();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->bytes, rtp_packet(30));

  dtls::DtlsOutput out;
  fresh.engine->on_datagram(hello->bytes, std::chrono::steady_clock::now(), out);
  for (const auto& d : out.datagrams) phone.rtp.send(a_rtp, d);
  phone.engine = std::move(fresh.engine);  // the phone's socket, the new association
  auto e = handshake(3);
  ASSERT_TRUE(e);
  ASSERT_TRUE(phone.rtp.send(a_rtp, phone.protect(rtp_packet(31))));
  got = pb.recv();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->bytes, rtp_packet(31));
  auto st = stats_of(relay, 3);
  ASSERT_TRUE(st && st->legs[0].dtls);
  EXPECT_EQ(st->legs[0].dtls->handshakes, 2u);
  EXPECT_EQ(st->legs[0].dtls->role, "client");
}

// Component 2 without rtcp-mux (baresip, linphone): DTLS on component 1 keys SRTCP on the
// RTCP port too (RFC 5764 §4.1).
TEST_F(RelayDtlsTest, SrtcpOnComponentTwoHasAnAssociationOfItsOwn) {
  // RFC 5764 §4.1: a DTLS-SRTP session protects one port pair; without rtcp-mux the RTCP
  // component runs its own handshake and SRTCP uses that one's keys.
  start(4, dtls::Role::server, false);
  ASSERT_TRUE(is_success(run_check(phone.rtcp, a_rtcp, 2, true, 2)));
  connect_ice(4);
  phone.make_engine(dtls::Role::client);
  ASSERT_TRUE(handshake(4));

  // Before component 2's handshake RTCP has no keys: dropped, never relayed in clear.
  ASSERT_TRUE(phone.rtcp.send(a_rtcp, phone.protect(rtcp_rr(), true)));
  auto st = stats_of(relay, 4);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->legs[0].drops(Drop::srtp_not_ready), 1u);
  ASSERT_TRUE(st->legs[0].dtls_rtcp);
  EXPECT_EQ(st->legs[0].dtls_rtcp->state, "handshaking");

  auto rtcp_engine =
      std::move(dtls::DtlsEngine::create(dtls_config(dtls::Role::client, 1, 0)).value());
  ASSERT_TRUE(Phone::pump_on(phone.rtcp, rtcp_engine, a_rtcp, [&] {
    return rtcp_engine.state() == dtls::State::connected ||
           rtcp_engine.state() == dtls::State::failed;
  }));
  ASSERT_EQ(rtcp_engine.state(), dtls::State::connected) << rtcp_engine.failure_reason();
  auto up = wait_event(relay, EventKind::dtls_rtcp_changed, 4);
  ASSERT_TRUE(up);
  EXPECT_NE(up->detail.find("RTCP DTLS connected"), std::string::npos) << up->detail;
  const auto& k = rtcp_engine.srtp_keys();
  ASSERT_TRUE(k);
  EXPECT_NE(k->local, phone.engine->srtp_keys()->local) << "two associations, two keys";
  auto tx = std::move(srtp::SrtpSender::create(k->local).value());
  auto rx = std::move(srtp::SrtpReceiver::create(k->remote).value());

  Bytes rr = rtcp_rr();
  const auto len = rr.size();
  rr.resize(len + 64);
  rr.resize(tx.protect_rtcp(rr, len).value());
  ASSERT_TRUE(phone.rtcp.send(a_rtcp, rr));
  auto got = pb.recv();
  ASSERT_TRUE(got) << "SRTCP from component 2 not relayed";
  EXPECT_EQ(got->bytes, rtcp_rr());
  ASSERT_TRUE(pb.send(b_local, rtcp_rr(0x0a0b0c0d)));
  auto enc = phone.rtcp.recv_until(is_media);
  ASSERT_TRUE(enc) << "no SRTCP on component 2";
  EXPECT_EQ(enc->from, a_rtcp);
  auto back = enc->bytes;
  auto n = rx.unprotect_rtcp(back, back.size());
  ASSERT_TRUE(n) << "SRTCP toward the phone must use component 2's keys";
  back.resize(*n);
  EXPECT_EQ(back, rtcp_rr(0x0a0b0c0d));
  // SRTCP under component 1's keys on the RTCP port does not authenticate.
  ASSERT_TRUE(phone.rtcp.send(a_rtcp, phone.protect(rtcp_rr(7), true)));
  st = stats_of(relay, 4);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->legs[0].drops(Drop::srtp_auth_failed), 1u);
  EXPECT_EQ(st->legs[0].dtls_rtcp->state, "connected");
}

TEST_F(RelayDtlsTest, AnswerTakingRtcpMuxMovesRtcpToTheRtpPort) {
  // Offered rtcp-mux with a fallback RTCP port; the phone took the mux: one association, RTCP
  // on the RTP socket with its keys, component 2 gone.
  start(5, dtls::Role::server, false);
  LegUpdate u;
  u.rtcp_mux = true;
  relay.update(5, Leg::a, std::move(u));
  connect_ice(5);
  phone.make_engine(dtls::Role::client);
  ASSERT_TRUE(handshake(5));
  ASSERT_TRUE(phone.rtp.send(a_rtp, phone.protect(rtcp_rr(), true)));
  auto got = pb.recv();
  ASSERT_TRUE(got) << "SRTCP on the muxed RTP port not relayed";
  EXPECT_EQ(got->bytes, rtcp_rr());
  ASSERT_TRUE(pb.send(b_local, rtcp_rr(0x0a0b0c0d)));
  auto enc = phone.rtp.recv_until(is_media);
  ASSERT_TRUE(enc) << "RTCP toward the phone must use the RTP port now";
  EXPECT_EQ(phone.unprotect(enc->bytes, true), rtcp_rr(0x0a0b0c0d));
  auto st = stats_of(relay, 5);
  ASSERT_TRUE(st);
  EXPECT_FALSE(st->legs[0].dtls_rtcp);
  EXPECT_FALSE(st->legs[0].ice_rtcp);
}

TEST_F(RelayDtlsTest, ClientHelloBeforeTheAnswerIsKeptForTheEngine) {
  // icegate offered actpass; the phone answered active and sent its ClientHello at once, which
  // can reach the relay before the answer gives it the DTLS parameters.
  start(6, dtls::Role::server, true, 1, {}, false);
  connect_ice(6);
  phone.make_engine(dtls::Role::client);
  dtls::DtlsOutput out;
  phone.engine->start(std::chrono::steady_clock::now(), out);
  ASSERT_FALSE(out.datagrams.empty());
  for (const auto& d : out.datagrams) ASSERT_TRUE(phone.rtp.send(a_rtp, d));
  auto st = stats_of(relay, 6);  // the ClientHello has been processed by the worker
  ASSERT_TRUE(st);
  EXPECT_EQ(st->legs[0].drops(Drop::dtls_unhandled), 0u) << "kept, not dropped";

  LegUpdate u;
  u.dtls = dtls_config(dtls::Role::server, 0, 1);
  relay.update(6, Leg::a, std::move(u));
  ASSERT_TRUE(handshake(6));
  // The first flight was used: the phone never had to retransmit its ClientHello.
  EXPECT_EQ(phone.engine->counters().retransmissions, 0u);
}

TEST_F(RelayDtlsTest, ClientHelloAheadOfTheIceCheckIsKeptForTheSelectedPath) {
  // linphone 5.1 as DTLS client sends its ClientHello from its candidate before its own check
  // from there has reached icegate: kept, and used once ICE selects that address. A stranger's
  // early DTLS is kept too but never reaches the engine.
  start(7, dtls::Role::server, true);
  phone.make_engine(dtls::Role::client);
  dtls::DtlsOutput out;
  phone.engine->start(std::chrono::steady_clock::now(), out);
  for (const auto& d : out.datagrams) ASSERT_TRUE(phone.rtp.send(a_rtp, d));
  ASSERT_TRUE(stranger.send(a_rtp, Bytes(20, std::byte{22})));
  auto st = stats_of(relay, 7);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->legs[0].drops(Drop::wrong_source), 0u) << "kept until ICE decides";
  connect_ice(7);
  ASSERT_TRUE(handshake(7));
  EXPECT_EQ(phone.engine->counters().retransmissions, 0u);
  st = stats_of(relay, 7);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->legs[0].drops(Drop::wrong_source), 1u) << "the stranger's datagram";
}

}  // namespace
}  // namespace icegate::media::relay
