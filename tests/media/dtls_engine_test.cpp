// The DTLS-SRTP engine against OpenSSL's own DTLS (a plain SSL object over memory BIOs, not
// the engine) in both roles and with both SRTP profiles, with lost and reordered flights and
// wrong fingerprints; the keys both sides export must agree (RFC 5764 §4.2).
//
// Lost flights: OpenSSL 3.0 runs its DTLS retransmission timer on gettimeofday() and offers no
// way to inject a clock (see media/dtls/engine.hpp), so `fire_timer` lets the (shortened,
// 20 ms) timer run out in real time before calling on_timer. Nothing else waits.
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/srtp.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <thread>

#include "media/dtls/engine.hpp"
#include "media/dtls/ossl.hpp"
#include "media/srtp/session.hpp"

namespace icegate::media::dtls {
namespace {

using namespace std::chrono_literals;
using srtp::SrtpKey;
using srtp::SrtpProfile;
using Datagram = std::vector<std::byte>;

std::shared_ptr<const Certificate> shared_cert(int which) {
  static const auto a = *Certificate::generate({.common_name = "engine"});
  static const auto b = *Certificate::generate({.common_name = "peer"});
  static const auto c = *Certificate::generate({.common_name = "stranger"});
  return which == 0 ? a : which == 1 ? b : c;
}

// ---- OpenSSL's own DTLS, the reference peer -----------------------------------------------------

struct PeerOptions {
  bool server = true;
  std::string profiles = "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80";
  bool reject_certificate = false;
  int max_version = DTLS1_2_VERSION;
};

class Peer {
 public:
  explicit Peer(const PeerOptions& o) {
    ctx_.reset(SSL_CTX_new(DTLS_method()));
    SSL_CTX* ctx = ctx_.get();
    SSL_CTX_set_max_proto_version(ctx, o.max_version);
    if (o.max_version == DTLS1_VERSION) SSL_CTX_set_security_level(ctx, 0);
    SSL_CTX_use_certificate(ctx, shared_cert(1)->x509());
    SSL_CTX_use_PrivateKey(ctx, shared_cert(1)->private_key());
    SSL_CTX_set_verify(
        ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
        o.reject_certificate ? [](int, X509_STORE_CTX*) { return 0; }
                             : [](int, X509_STORE_CTX*) { return 1; });
    EXPECT_EQ(SSL_CTX_set_tlsext_use_srtp(ctx, o.profiles.c_str()), 0);
    SSL_CTX_set_options(ctx, SSL_OP_NO_QUERY_MTU);
    ssl_.reset(SSL_new(ctx));
    rbio_ = BIO_new(BIO_s_mem());
    wbio_ = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(rbio_, -1);
    SSL_set_bio(ssl_.get(), rbio_, wbio_);
    SSL_set_mtu(ssl_.get(), 1200);
    DTLS_set_timer_cb(ssl_.get(),
                      [](SSL*, unsigned prev) { return prev == 0 ? 20'000u : 2 * prev; });
    if (o.server) {
      SSL_set_accept_state(ssl_.get());
    } else {
      SSL_set_connect_state(ssl_.get());
    }
  }

  std::vector<Datagram> step() {
    if (failed_) return {};
    ERR_clear_error();
    if (!SSL_is_init_finished(ssl_.get())) {
      const int r = SSL_do_handshake(ssl_.get());
      const int e = SSL_get_error(ssl_.get(), r);
      if (r != 1 && e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) failed_ = true;
    }
    if (SSL_is_init_finished(ssl_.get())) {
      unsigned char buf[2048];
      for (;;) {
        const int r = SSL_read(ssl_.get(), buf, sizeof buf);
        if (r > 0) continue;
        const int e = SSL_get_error(ssl_.get(), r);
        if (e == SSL_ERROR_ZERO_RETURN) closed_ = true;
        break;
      }
    }
    ERR_clear_error();
    return drain();
  }
  void feed(const Datagram& d) { BIO_write(rbio_, d.data(), static_cast<int>(d.size())); }

  std::optional<std::chrono::microseconds> timer() {
    timeval tv{};
    if (DTLSv1_get_timeout(ssl_.get(), &tv) != 1) return std::nullopt;
    return std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec);
  }
  std::vector<Datagram> fire_timer() {
    if (auto t = timer()) std::this_thread::sleep_for(*t);
    DTLSv1_handle_timeout(ssl_.get());
    return drain();
  }
  std::vector<Datagram> shutdown() {
    SSL_shutdown(ssl_.get());
    return drain();
  }

  bool connected() const { return !failed_ && SSL_is_init_finished(ssl_.get()); }
  bool failed() const { return failed_; }
  bool closed() const { return closed_; }
  SSL* ssl() const { return ssl_.get(); }

  // RFC 5764 §4.2, written out independently of the engine.
  std::pair<SrtpKey, SrtpKey> client_server_keys() const {
    const auto* sp = SSL_get_selected_srtp_profile(ssl_.get());
    EXPECT_NE(sp, nullptr);
    const bool gcm = sp->id == SRTP_AEAD_AES_128_GCM;
    const std::size_t k = 16, s = gcm ? 12 : 14;
    std::vector<std::uint8_t> m(2 * (k + s));
    EXPECT_EQ(SSL_export_keying_material(ssl_.get(), m.data(), m.size(), "EXTRACTOR-dtls_srtp", 19,
                                         nullptr, 0, 0),
              1);
    const auto p = gcm ? SrtpProfile::aead_aes_128_gcm : SrtpProfile::aes_cm_128_hmac_sha1_80;
    const std::span<const std::uint8_t> all(m);
    return {*SrtpKey::make(p, all.subspan(0, k), all.subspan(2 * k, s)),
            *SrtpKey::make(p, all.subspan(k, k), all.subspan(2 * k + s, s))};
  }

 private:
  // Split what OpenSSL wrote into records (13-byte header, length in bytes 11-12): one each.
  std::vector<Datagram> drain() {
    std::vector<Datagram> out;
    char* data = nullptr;
    const long len = BIO_get_mem_data(wbio_, &data);
    std::size_t off = 0;
    while (off + 13 <= static_cast<std::size_t>(len)) {
      const auto rec_len =
          static_cast<std::size_t>(static_cast<unsigned char>(data[off + 11]) << 8 |
                                   static_cast<unsigned char>(data[off + 12]));
      const auto end = std::min(off + 13 + rec_len, static_cast<std::size_t>(len));
      const auto* b = reinterpret_cast<const std::byte*>(data);
      out.emplace_back(b + off, b + end);
      off = end;
    }
    (void)BIO_reset(wbio_);
    return out;
  }

  ossl::SslCtxPtr ctx_;
  ossl::SslPtr ssl_;
  BIO* rbio_ = nullptr;  // owned by ssl_
  BIO* wbio_ = nullptr;
  bool failed_ = false;
  bool closed_ = false;
};

// ---- A lossy, reordering network between the engine and the peer --------------------------------

struct Link {
  // Called once per datagram with the side that sent it and the batch number (0-based count of
  // non-empty outputs from that side, i.e. its flights, including retransmissions).
  std::function<bool(bool from_engine, int batch)> drop;
  bool reverse = false;
};

struct Harness {
  Harness(DtlsEngine e, Peer p) : engine(std::move(e)), peer(std::move(p)) {}
  DtlsEngine engine;
  Peer peer;
  TimePoint now = TimePoint{} + 1h;
  DtlsOutput out;
  std::vector<DtlsEvent> events;
  std::size_t largest_engine_datagram = 0;
  int batches[2] = {0, 0};  // [0]: engine, [1]: peer
  Link link;

  std::vector<Datagram> take_engine_output() {
    for (auto& e : out.events) events.push_back(e);
    auto d = std::move(out.datagrams);
    out.clear();
    for (const auto& x : d) largest_engine_datagram = std::max(largest_engine_datagram, x.size());
    return d;
  }
  std::vector<Datagram> filter(std::vector<Datagram> batch, bool from_engine) {
    if (batch.empty()) return batch;
    const int n = batches[from_engine ? 0 : 1]++;
    if (link.drop && link.drop(from_engine, n)) return {};
    if (link.reverse) std::reverse(batch.begin(), batch.end());
    return batch;
  }
  // Deliver until both sides are quiet.
  void run(std::vector<Datagram> from_peer = {}) {
    auto to_peer = filter(take_engine_output(), true);
    auto to_engine = filter(std::move(from_peer), false);
    for (int round = 0; round < 40 && !(to_peer.empty() && to_engine.empty()); ++round) {
      std::vector<Datagram> peer_out;
      for (const auto& d : to_peer) {
        peer.feed(d);
        auto o = peer.step();
        peer_out.insert(peer_out.end(), o.begin(), o.end());
      }
      for (const auto& d : to_engine) engine.on_datagram(d, now, out);
      to_peer = filter(take_engine_output(), true);
      to_engine = filter(std::move(peer_out), false);
    }
  }
  // Let the earlier of the two retransmission timers run out, then run.
  void fire_timer(bool allow_peer = true) {
    const auto engine_at = engine.next_timer();
    const auto peer_in = allow_peer ? peer.timer() : std::nullopt;
    const bool engine_first =
        engine_at && (!peer_in || *engine_at - now <= *peer_in) && *engine_at - now < 5s;
    if (engine_first) {
      std::this_thread::sleep_for(*engine_at - now);  // OpenSSL's own clock must pass too
      now = *engine_at;
      engine.on_timer(now, out);
      run();
    } else if (peer_in) {
      now += *peer_in;
      run(peer.fire_timer());
    }
  }
  bool both_connected() const { return engine.state() == State::connected && peer.connected(); }
  void handshake(int timer_budget = 8, bool allow_peer_timer = true) {
    engine.start(now, out);
    run(peer.step());  // a client peer writes its ClientHello here
    for (int i = 0;
         i < timer_budget && !both_connected() && engine.state() != State::failed && !peer.failed();
         ++i) {
      fire_timer(allow_peer_timer);
    }
  }
};

DtlsConfig engine_config(Role role, std::vector<Fingerprint> peer_fp = {}) {
  DtlsConfig c;
  c.role = role;
  c.certificate = shared_cert(0);
  c.expected_peer_fingerprints =
      peer_fp.empty() ? std::vector<Fingerprint>{shared_cert(1)->fingerprint()} : peer_fp;
  c.initial_retransmit = 20ms;
  return c;
}

Harness make(const DtlsConfig& c, PeerOptions p = {}) {
  p.server = c.role == Role::client;
  auto e = DtlsEngine::create(c);
  EXPECT_TRUE(e) << (e ? "" : e.error());
  return Harness(std::move(*e), Peer(p));
}

void expect_keys_agree(Harness& h, SrtpProfile profile) {
  ASSERT_TRUE(h.engine.srtp_keys());
  const auto& keys = *h.engine.srtp_keys();
  EXPECT_EQ(keys.profile, profile);
  const auto [client, server] = h.peer.client_server_keys();
  const bool engine_is_client = h.engine.role() == Role::client;
  EXPECT_EQ(keys.local, engine_is_client ? client : server);
  EXPECT_EQ(keys.remote, engine_is_client ? server : client);
  EXPECT_NE(keys.local, keys.remote);
  // And SRTP works with them: what the engine's side protects, the peer's key opens.
  auto tx = srtp::SrtpSender::create(keys.local);
  auto rx = srtp::SrtpReceiver::create(engine_is_client ? client : server);
  ASSERT_TRUE(tx && rx);
  std::vector<std::byte> pkt(12 + 20 + 32);
  pkt[0] = std::byte{0x80};
  auto len = tx->protect_rtp(pkt, 32);
  ASSERT_TRUE(len);
  EXPECT_TRUE(rx->unprotect_rtp(pkt, *len));
}

bool has_event(const Harness& h, DtlsEvent::Kind k) {
  return std::any_of(h.events.begin(), h.events.end(), [k](const auto& e) { return e.kind == k; });
}

// ---- Handshakes ---------------------------------------------------------------------------------

struct Case {
  Role role;
  SrtpProfile profile;
};

class DtlsHandshake : public ::testing::TestWithParam<Case> {};

TEST_P(DtlsHandshake, AgainstOpenSsl) {
  const auto [role, profile] = GetParam();
  PeerOptions p;
  p.profiles = std::string(srtp::info(profile).dtls_name);  // the peer accepts only this one
  auto h = make(engine_config(role), p);
  h.handshake();
  ASSERT_EQ(h.engine.state(), State::connected) << h.engine.failure_reason();
  ASSERT_TRUE(h.peer.connected());
  EXPECT_TRUE(has_event(h, DtlsEvent::Kind::connected));
  EXPECT_STREQ(SSL_get_version(h.peer.ssl()), "DTLSv1.2");
  expect_keys_agree(h, profile);
  // The peer saw our certificate, with the fingerprint we put in SDP.
  X509* ours = SSL_get0_peer_certificate(h.peer.ssl());
  ASSERT_NE(ours, nullptr);
  unsigned char md[32];
  unsigned md_len = 0;
  ASSERT_EQ(X509_digest(ours, EVP_sha256(), md, &md_len), 1);
  EXPECT_TRUE(std::equal(md, md + 32, shared_cert(0)->fingerprint().digest.begin()));
  EXPECT_LE(h.largest_engine_datagram, 1200u);
  EXPECT_FALSE(h.engine.next_timer());
}

INSTANTIATE_TEST_SUITE_P(
    RolesAndProfiles, DtlsHandshake,
    ::testing::Values(Case{Role::client, SrtpProfile::aead_aes_128_gcm},
                      Case{Role::client, SrtpProfile::aes_cm_128_hmac_sha1_80},
                      Case{Role::server, SrtpProfile::aead_aes_128_gcm},
                      Case{Role::server, SrtpProfile::aes_cm_128_hmac_sha1_80}),
    [](const auto& info) {
      return std::string(info.param.role == Role::client ? "Client" : "Server") +
             (info.param.profile == SrtpProfile::aead_aes_128_gcm ? "Gcm" : "Cm80");
    });

TEST(DtlsEngineTest, PrefersGcmWhenThePeerOffersBoth) {
  auto h = make(engine_config(Role::server));  // the peer (client) offers GCM and CM
  h.handshake();
  ASSERT_EQ(h.engine.state(), State::connected) << h.engine.failure_reason();
  expect_keys_agree(h, SrtpProfile::aead_aes_128_gcm);
}

TEST(DtlsEngineTest, WrongFingerprintFailsTheHandshakeWithAReason) {
  for (const auto role : {Role::client, Role::server}) {
    auto h = make(engine_config(role, {shared_cert(2)->fingerprint()}));
    h.handshake();
    EXPECT_EQ(h.engine.state(), State::failed) << (role == Role::client ? "client" : "server");
    EXPECT_NE(h.engine.failure_reason().find("does not match a=fingerprint"), std::string::npos)
        << h.engine.failure_reason();
    EXPECT_NE(h.engine.failure_reason().find(shared_cert(1)->fingerprint().hex()),
              std::string::npos);
    EXPECT_TRUE(has_event(h, DtlsEvent::Kind::failed));
    EXPECT_FALSE(h.engine.srtp_keys());
    EXPECT_FALSE(h.peer.connected());
    EXPECT_FALSE(h.engine.next_timer());
  }
}

TEST(DtlsEngineTest, AnyMatchingFingerprintOfTheStrongestHashIsAccepted) {
  auto sha256_other = shared_cert(2)->fingerprint();
  auto sha1_wrong = *Fingerprint::of(shared_cert(2)->x509(), HashAlgorithm::sha1);
  auto sha512_right = *Fingerprint::of(shared_cert(1)->x509(), HashAlgorithm::sha512);
  auto h = make(engine_config(Role::client, {sha256_other, sha1_wrong, sha512_right}));
  h.handshake();
  EXPECT_EQ(h.engine.state(), State::connected) << h.engine.failure_reason();
}

TEST(DtlsEngineTest, PeerRejectingOurCertificateIsReported) {
  PeerOptions p;
  p.reject_certificate = true;
  auto h = make(engine_config(Role::server), p);
  h.handshake();
  EXPECT_EQ(h.engine.state(), State::failed);
  EXPECT_NE(h.engine.failure_reason().find("peer sent fatal alert"), std::string::npos)
      << h.engine.failure_reason();
}

TEST(DtlsEngineTest, NoCommonSrtpProfileFails) {
  auto c = engine_config(Role::client);
  c.srtp_profiles = {SrtpProfile::aes_cm_128_hmac_sha1_32};
  PeerOptions p;
  p.profiles = "SRTP_AEAD_AES_128_GCM";
  auto h = make(c, p);
  h.handshake();
  EXPECT_EQ(h.engine.state(), State::failed);
  EXPECT_NE(h.engine.failure_reason().find("use_srtp"), std::string::npos)
      << h.engine.failure_reason();
}

// ---- Loss and reordering ------------------------------------------------------------------------

TEST(DtlsEngineLossTest, LostClientHelloIsRetransmittedOnTimer) {
  auto h = make(engine_config(Role::client));
  h.link.drop = [](bool from_engine, int batch) { return from_engine && batch == 0; };
  h.handshake();
  ASSERT_EQ(h.engine.state(), State::connected) << h.engine.failure_reason();
  EXPECT_GE(h.engine.counters().retransmissions, 1u);
  expect_keys_agree(h, SrtpProfile::aead_aes_128_gcm);
}

TEST(DtlsEngineLossTest, LostServerFlightIsRetransmittedByTheEngine) {
  auto h = make(engine_config(Role::server));
  h.link.drop = [](bool from_engine, int batch) { return from_engine && batch == 0; };
  h.handshake(8, /*allow_peer_timer=*/false);  // only the engine's timer may recover
  ASSERT_EQ(h.engine.state(), State::connected) << h.engine.failure_reason();
  EXPECT_GE(h.engine.counters().retransmissions, 1u);
  expect_keys_agree(h, SrtpProfile::aead_aes_128_gcm);
}

TEST(DtlsEngineLossTest, LostClientSecondFlightIsRetransmitted) {
  auto h = make(engine_config(Role::client));
  h.link.drop = [](bool from_engine, int batch) { return from_engine && batch == 1; };
  h.handshake(8, /*allow_peer_timer=*/false);
  ASSERT_EQ(h.engine.state(), State::connected) << h.engine.failure_reason();
  ASSERT_TRUE(h.peer.connected());
  EXPECT_GE(h.engine.counters().retransmissions, 1u);
  expect_keys_agree(h, SrtpProfile::aead_aes_128_gcm);
}

TEST(DtlsEngineLossTest, LostFinalFlightIsResentWhenThePeerRetransmits) {
  // The engine (server) is done after its CCS+Finished; if that flight is lost the client
  // retransmits its own last flight and the engine must answer it (RFC 6347 §4.2.4).
  auto h = make(engine_config(Role::server));
  h.link.drop = [](bool from_engine, int batch) { return from_engine && batch == 1; };
  h.handshake();
  ASSERT_EQ(h.engine.state(), State::connected) << h.engine.failure_reason();
  ASSERT_TRUE(h.peer.connected());
  EXPECT_GE(h.batches[0], 3) << "the final flight went out twice";
  expect_keys_agree(h, SrtpProfile::aead_aes_128_gcm);
}

TEST(DtlsEngineLossTest, ReorderedFlightsComplete) {
  for (const auto role : {Role::client, Role::server}) {
    auto h = make(engine_config(role));
    h.link.reverse = true;
    h.handshake();
    ASSERT_EQ(h.engine.state(), State::connected) << h.engine.failure_reason();
    ASSERT_TRUE(h.peer.connected());
    expect_keys_agree(h, SrtpProfile::aead_aes_128_gcm);
  }
}

TEST(DtlsEngineLossTest, HandshakeTimesOutOnTheEngineClock) {
  auto c = engine_config(Role::client);
  c.handshake_timeout = 10s;
  auto h = make(c);
  h.link.drop = [](bool, int) { return true; };  // nothing gets through
  h.engine.start(h.now, h.out);
  ASSERT_TRUE(h.engine.next_timer());
  EXPECT_LE(*h.engine.next_timer(), h.now + 10s);
  h.engine.on_timer(h.now + 9s, h.out);
  EXPECT_EQ(h.engine.state(), State::handshaking);
  h.engine.on_timer(h.now + 10s, h.out);
  EXPECT_EQ(h.engine.state(), State::failed);
  EXPECT_NE(h.engine.failure_reason().find("not finished within 10000 ms"), std::string::npos);
  EXPECT_FALSE(h.engine.next_timer());
}

// ---- MTU, close, versions, garbage, configuration -----------------------------------------------

TEST(DtlsEngineTest, DatagramsRespectTheMtu) {
  auto c = engine_config(Role::server);
  c.mtu = 256;  // smaller than the Certificate message: it must be fragmented
  auto h = make(c);
  h.handshake();
  ASSERT_EQ(h.engine.state(), State::connected) << h.engine.failure_reason();
  EXPECT_LE(h.largest_engine_datagram, 256u);
  EXPECT_GT(h.largest_engine_datagram, 0u);
}

TEST(DtlsEngineTest, CloseNotifyBothWays) {
  {
    auto h = make(engine_config(Role::client));
    h.handshake();
    ASSERT_TRUE(h.both_connected());
    h.run(h.peer.shutdown());
    EXPECT_EQ(h.engine.state(), State::closed);
    EXPECT_TRUE(has_event(h, DtlsEvent::Kind::closed));
  }
  {
    auto h = make(engine_config(Role::server));
    h.handshake();
    ASSERT_TRUE(h.both_connected());
    h.engine.close(h.now, h.out);
    EXPECT_EQ(h.engine.state(), State::closed);
    EXPECT_FALSE(h.out.datagrams.empty());
    h.run();
    EXPECT_TRUE(h.peer.closed());
  }
}

TEST(DtlsEngineTest, Dtls10OnlyWhenAllowed) {
  PeerOptions p;
  p.max_version = DTLS1_VERSION;
  {
    auto h = make(engine_config(Role::client), p);
    h.handshake(2);
    EXPECT_EQ(h.engine.state(), State::failed);
  }
  {
    auto c = engine_config(Role::client);
    c.allow_dtls_1_0 = true;
    auto h = make(c, p);
    h.handshake();
    ASSERT_EQ(h.engine.state(), State::connected) << h.engine.failure_reason();
    EXPECT_STREQ(SSL_get_version(h.peer.ssl()), "DTLSv1");
    expect_keys_agree(h, SrtpProfile::aead_aes_128_gcm);
  }
}

TEST(DtlsEngineTest, IgnoresWhatIsNotDtlsAndRunsTwoEnginesTogether) {
  auto client = DtlsEngine::create(engine_config(Role::client, {shared_cert(0)->fingerprint()}));
  auto server = DtlsEngine::create(engine_config(Role::server, {shared_cert(0)->fingerprint()}));
  ASSERT_TRUE(client && server);
  const auto now = TimePoint{} + 1h;
  DtlsOutput co, so;
  const Datagram stun{std::byte{0x00}, std::byte{0x01}}, rtp{std::byte{0x80}, std::byte{0x00}};
  server->on_datagram(stun, now, so);
  server->on_datagram(rtp, now, so);
  server->on_datagram({}, now, so);
  EXPECT_EQ(server->counters().ignored, 3u);
  EXPECT_EQ(server->state(), State::idle);
  client->start(now, co);
  for (int i = 0; i < 20 && !(co.datagrams.empty() && so.datagrams.empty()); ++i) {
    auto c2s = std::move(co.datagrams);
    co.clear();
    for (const auto& d : c2s) server->on_datagram(d, now, so);
    auto s2c = std::move(so.datagrams);
    so.clear();
    for (const auto& d : s2c) client->on_datagram(d, now, co);
  }
  ASSERT_EQ(client->state(), State::connected) << client->failure_reason();
  ASSERT_EQ(server->state(), State::connected) << server->failure_reason();
  EXPECT_EQ(client->srtp_keys()->local, server->srtp_keys()->remote);
  EXPECT_EQ(client->srtp_keys()->remote, server->srtp_keys()->local);
}

TEST(DtlsEngineTest, ConfigurationErrors) {
  auto ok = engine_config(Role::client);
  EXPECT_TRUE(DtlsEngine::create(ok));
  auto no_cert = ok;
  no_cert.certificate.reset();
  auto no_fp = ok;
  no_fp.expected_peer_fingerprints.clear();
  auto tiny_mtu = ok;
  tiny_mtu.mtu = 100;
  auto no_profiles = ok;
  no_profiles.srtp_profiles.clear();
  auto fast_timer = ok;
  fast_timer.initial_retransmit = 10ms;
  for (const auto& [c, word] : {std::pair{no_cert, "certificate"},
                                {no_fp, "fingerprint"},
                                {tiny_mtu, "mtu"},
                                {no_profiles, "SRTP"},
                                {fast_timer, "retransmission"}}) {
    auto e = DtlsEngine::create(c);
    ASSERT_FALSE(e) << word;
    EXPECT_NE(e.error().find(word), std::string::npos) << e.error();
  }
}

}  // namespace
}  // namespace icegate::media::dtls
