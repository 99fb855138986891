#include "media/dtls/engine.hpp"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/srtp.h>

#include <algorithm>
#include <array>

#include "media/dtls/datagram_bio.hpp"

namespace icegate::media::dtls {
namespace {

// ECDHE only (forward secrecy); ECDSA suites for our certificate, RSA ones so icegate as a
// client still accepts an RSA server. The CBC suites exist for DTLS 1.0 peers only.
constexpr char kCipherList[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA";
constexpr char kExporterLabel[] = "EXTRACTOR-dtls_srtp";  // RFC 5764 §4.2
constexpr unsigned kMaxRetransmitUs = 60'000'000;         // RFC 6347 §4.2.4.1: up to 60 s
constexpr std::size_t kMinMtu = 256, kMaxMtu = 16384;

std::string ms_text(std::chrono::milliseconds d) {
  return std::to_string(d.count()) + " ms";
}

}  // namespace

struct DtlsEngine::Impl final : DatagramSink {
  DtlsConfig config;
  ossl::SslCtxPtr ctx;
  ossl::SslPtr ssl;
  BIO* rbio = nullptr;        // owned by `ssl`
  DtlsOutput* out = nullptr;  // where datagrams and events go during a call
  State state = State::idle;
  std::string reason;
  std::optional<TimePoint> deadline;       // handshake must be done by then (engine clock)
  std::optional<TimePoint> retransmit_at;  // when OpenSSL's timer runs out
  std::optional<DtlsSrtpKeys> keys;
  DtlsCounters counters;
  std::string verify_failure;  // set by the certificate check
  std::string peer_alert;      // last fatal alert the peer sent

  void on_datagram_out(std::span<const std::byte> d) override {
    ++counters.datagrams_out;
    if (out != nullptr) out->datagrams.emplace_back(d.begin(), d.end());
  }

  void emit(DtlsEvent::Kind kind, std::string detail) {
    if (out != nullptr) out->events.push_back({kind, std::move(detail)});
  }

  void fail(std::string why) {
    if (state == State::failed) return;
    state = State::failed;
    reason = std::move(why);
    deadline.reset();
    retransmit_at.reset();
    ERR_clear_error();
    emit(DtlsEvent::Kind::failed, reason);
  }

  // RFC 8122 §5: compare with the fingerprints that use the strongest hash function offered.
  std::optional<std::string> check_peer(X509* leaf) const {
    auto best = config.expected_peer_fingerprints.front().algorithm;
    for (const auto& f : config.expected_peer_fingerprints) best = std::max(best, f.algorithm);
    auto actual = Fingerprint::of(leaf, best);
    if (!actual) return "cannot hash the peer certificate: " + actual.error();
    const Fingerprint* wanted = nullptr;
    for (const auto& f : config.expected_peer_fingerprints) {
      if (f.algorithm != best) continue;
      if (f == *actual) return std::nullopt;
      if (wanted == nullptr) wanted = &f;
    }
    return "peer certificate fingerprint " + actual->to_string() +
           " does not match a=fingerprint " + wanted->to_string() + " (RFC 8122 §5)";
  }

  std::string handshake_failure() {
    std::string detail = ossl::take_error();
    if (!verify_failure.empty()) return verify_failure;
    if (!peer_alert.empty()) return "peer sent " + peer_alert;
    return detail.empty() ? std::string("DTLS handshake failed")
                          : "DTLS handshake failed: " + detail;
  }

  void finish_handshake() {
    X509* peer = SSL_get0_peer_certificate(ssl.get());
    if (peer == nullptr) return fail("peer presented no certificate (RFC 5763 §5)");
    // Verified in the callback already; checked again in case OpenSSL skipped it.
    if (auto why = check_peer(peer)) return fail(*why);
    const SRTP_PROTECTION_PROFILE* sp = SSL_get_selected_srtp_profile(ssl.get());
    if (sp == nullptr) return fail("peer did not negotiate use_srtp (RFC 5764 §4.1.1)");
    const auto profile = srtp::profile_from_dtls_id(static_cast<std::uint16_t>(sp->id));
    if (!profile) return fail("peer chose unknown SRTP profile " + std::to_string(sp->id));

    // RFC 5764 §4.2: client_write_key | server_write_key | client_write_salt | server_write_salt
    const auto& pi = srtp::info(*profile);
    const std::size_t k = pi.key_len, s = pi.salt_len;
    std::array<std::uint8_t, 2 * srtp::SrtpKey::kMaxLen> material{};
    if (SSL_export_keying_material(ssl.get(), material.data(), 2 * (k + s), kExporterLabel,
                                   sizeof kExporterLabel - 1, nullptr, 0, 0) != 1) {
      return fail("SRTP key export failed: " + ossl::take_error());
    }
    const std::span<const std::uint8_t> m(material.data(), 2 * (k + s));
    auto client = srtp::SrtpKey::make(*profile, m.subspan(0, k), m.subspan(2 * k, s));
    auto server = srtp::SrtpKey::make(*profile, m.subspan(k, k), m.subspan(2 * k + s, s));
    OPENSSL_cleanse(material.data(), material.size());
    if (!client || !server) return fail("SRTP key split failed");
    const bool is_client = config.role == Role::client;
    keys = DtlsSrtpKeys{*profile, is_client ? *client : *server, is_client ? *server : *client};

    state = State::connected;
    deadline.reset();
    retransmit_at.reset();
    emit(DtlsEvent::Kind::connected, std::string(pi.dtls_name) + " " + SSL_get_version(ssl.get()) +
                                         " " + SSL_get_cipher_name(ssl.get()));
  }

  // After the handshake: let OpenSSL see alerts, close_notify and retransmitted Finished
  // flights (it answers those itself); application data has no consumer here.
  void read_records() {
    std::array<unsigned char, 2048> buf;
    for (;;) {
      ERR_clear_error();
      const int r = SSL_read(ssl.get(), buf.data(), static_cast<int>(buf.size()));
      if (r > 0) {
        ++counters.app_data_dropped;
        continue;
      }
      const int e = SSL_get_error(ssl.get(), r);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;
      if (e == SSL_ERROR_ZERO_RETURN) {
        state = State::closed;
        ERR_clear_error();
        emit(DtlsEvent::Kind::closed, "peer sent close_notify");
        return;
      }
      const auto detail = ossl::take_error();
      return fail(!peer_alert.empty() ? "peer sent " + peer_alert : "DTLS error: " + detail);
    }
  }

  void drive() {
    if (state == State::handshaking) {
      ERR_clear_error();
      const int r = SSL_do_handshake(ssl.get());
      if (r == 1) {
        finish_handshake();
      } else {
        const int e = SSL_get_error(ssl.get(), r);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) return fail(handshake_failure());
      }
    }
    if (state == State::connected) read_records();
  }

  void update_timer(TimePoint now) {
    retransmit_at.reset();
    if (state != State::handshaking) return;
    timeval tv{};
    if (DTLSv1_get_timeout(ssl.get(), &tv) == 1) {
      retransmit_at = now + std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec);
    }
  }

  void begin_handshake(TimePoint now) {
    state = State::handshaking;
    deadline = now + config.handshake_timeout;
  }

  static unsigned int timer_cb(SSL* s, unsigned int previous_us) {
    auto* self = static_cast<Impl*>(SSL_get_app_data(s));
    const auto initial = static_cast<unsigned>(
        std::chrono::duration_cast<std::chrono::microseconds>(self->config.initial_retransmit)
            .count());
    if (previous_us == 0) return initial;  // a new flight
    ++self->counters.retransmissions;      // OpenSSL resends the flight right after this call
    return static_cast<unsigned>(
        std::min<unsigned long long>(2ull * previous_us, kMaxRetransmitUs));
  }

  static int verify_cb(X509_STORE_CTX* store, void* /*arg*/) {
    auto* s =
        static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
    auto* self = s != nullptr ? static_cast<Impl*>(SSL_get_app_data(s)) : nullptr;
    X509* leaf = X509_STORE_CTX_get0_cert(store);
    if (self == nullptr || leaf == nullptr) return 0;
    // The certificate is self-signed: the fingerprint from the signalled SDP is the only
    // authentication (RFC 5763 §5, RFC 8122 §5); no chain or validity checks apply.
    if (auto why = self->check_peer(leaf)) {
      self->verify_failure = *why;
      X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
      return 0;
    }
    X509_STORE_CTX_set_error(store, X509_V_OK);
    return 1;
  }

  // Output binding for the duration of one public call.
  class Bind {
   public:
    Bind(Impl* impl, DtlsOutput& out) : impl_(impl) { impl_->out = &out; }
    ~Bind() { impl_->out = nullptr; }
    Bind(const Bind&) = delete;
    Bind& operator=(const Bind&) = delete;

   private:
    Impl* impl_;
  };

  static void info_cb(const SSL* s, int where, int ret) {
    if ((where & SSL_CB_ALERT) == 0 || (where & SSL_CB_READ) == 0) return;
    if ((ret >> 8) != SSL3_AL_FATAL) return;
    auto* self = static_cast<Impl*>(SSL_get_app_data(s));
    self->peer_alert = std::string("fatal alert '") + SSL_alert_desc_string_long(ret) + "'";
  }
};

namespace {

std::optional<std::string> validate(const DtlsConfig& c) {
  if (!c.certificate) return "no certificate";
  if (c.expected_peer_fingerprints.empty()) return "no peer fingerprint (a=fingerprint)";
  if (c.mtu < kMinMtu || c.mtu > kMaxMtu) {
    return "mtu " + std::to_string(c.mtu) + " outside " + std::to_string(kMinMtu) + ".." +
           std::to_string(kMaxMtu);
  }
  if (c.srtp_profiles.empty()) return "no SRTP profile";
  if (c.initial_retransmit <= std::chrono::milliseconds(15) ||
      c.initial_retransmit > std::chrono::milliseconds(60'000)) {
    return "initial retransmission timeout " + ms_text(c.initial_retransmit) +
           " outside 16..60000 ms";
  }
  if (c.handshake_timeout <= std::chrono::milliseconds(0)) return "handshake timeout must be > 0";
  return std::nullopt;
}

}  // namespace

Expected<DtlsEngine, std::string> DtlsEngine::create(DtlsConfig config) {
  if (auto why = validate(config)) return unexpected("DTLS config: " + *why);
  auto impl = std::make_unique<Impl>();
  impl->config = std::move(config);
  const auto& c = impl->config;
  ERR_clear_error();
  auto fail = [](std::string what) {
    const auto detail = ossl::take_error();
    return unexpected(detail.empty() ? what : what + ": " + detail);
  };

  impl->ctx.reset(SSL_CTX_new(DTLS_method()));
  SSL_CTX* ctx = impl->ctx.get();
  if (ctx == nullptr) return fail("SSL_CTX_new");
  if (SSL_CTX_set_min_proto_version(ctx, c.allow_dtls_1_0 ? DTLS1_VERSION : DTLS1_2_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION) != 1) {
    return fail("DTLS versions");
  }
  // OpenSSL 3 refuses DTLS 1.0 (SHA-1/MD5 PRF) above security level 0.
  if (c.allow_dtls_1_0) SSL_CTX_set_security_level(ctx, 0);
  if (SSL_CTX_set_cipher_list(ctx, kCipherList) != 1) return fail("cipher list");
  if (SSL_CTX_use_certificate(ctx, c.certificate->x509()) != 1 ||
      SSL_CTX_use_PrivateKey(ctx, c.certificate->private_key()) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    return fail("certificate");
  }
  // RFC 5763 §5: both ends present a certificate; the server asks for the client's.
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  SSL_CTX_set_cert_verify_callback(ctx, &Impl::verify_cb, nullptr);
  std::string profiles;
  for (auto p : c.srtp_profiles) {
    if (!profiles.empty()) profiles += ':';
    profiles += srtp::info(p).dtls_name;
  }
  if (SSL_CTX_set_tlsext_use_srtp(ctx, profiles.c_str()) != 0) {  // 0 is success here
    return fail("use_srtp profiles " + profiles);
  }
  // Memory BIOs cannot be asked for a path MTU; one handshake per engine: no tickets, no cache,
  // no renegotiation (new keys come with a new engine).
  SSL_CTX_set_options(ctx, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);

  impl->ssl.reset(SSL_new(ctx));
  SSL* ssl = impl->ssl.get();
  if (ssl == nullptr) return fail("SSL_new");
  ossl::BioPtr rbio(BIO_new(BIO_s_mem()));
  ossl::BioPtr wbio = make_datagram_bio(impl.get());
  if (!rbio || !wbio) return fail("BIO_new");
  BIO_set_mem_eof_return(rbio.get(), -1);  // empty means "no datagram yet", not end of stream
  impl->rbio = rbio.get();
  SSL_set_bio(ssl, rbio.release(), wbio.release());  // the SSL owns both from here
  SSL_set_app_data(ssl, impl.get());
  if (SSL_set_mtu(ssl, static_cast<long>(c.mtu)) <= 0) return fail("mtu");
  DTLS_set_timer_cb(ssl, &Impl::timer_cb);
  SSL_set_info_callback(ssl, &Impl::info_cb);
  if (c.role == Role::client) {
    SSL_set_connect_state(ssl);
  } else {
    SSL_set_accept_state(ssl);
  }
  return DtlsEngine(std::move(impl));
}

DtlsEngine::DtlsEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DtlsEngine::DtlsEngine(DtlsEngine&&) noexcept = default;
DtlsEngine& DtlsEngine::operator=(DtlsEngine&&) noexcept = default;
DtlsEngine::~DtlsEngine() = default;

void DtlsEngine::start(TimePoint now, DtlsOutput& out) {
  Impl::Bind bind(impl_.get(), out);
  if (impl_->state != State::idle) return;
  impl_->begin_handshake(now);
  if (impl_->config.role == Role::client) impl_->drive();  // ClientHello
  impl_->update_timer(now);
}

void DtlsEngine::on_datagram(std::span<const std::byte> datagram, TimePoint now, DtlsOutput& out) {
  Impl::Bind bind(impl_.get(), out);
  auto& s = *impl_;
  ++s.counters.datagrams_in;
  // RFC 7983 §7: DTLS records start with 20..63; the caller demultiplexes, this double-checks.
  const auto b0 = datagram.empty() ? 0u : std::to_integer<unsigned>(datagram[0]);
  if (b0 < 20 || b0 > 63 || datagram.size() > 65535) {
    ++s.counters.ignored;
    return;
  }
  if (s.state == State::idle && s.config.role == Role::server) s.begin_handshake(now);
  if (s.state != State::handshaking && s.state != State::connected) {
    ++s.counters.ignored;
    return;
  }
  BIO_write(s.rbio, datagram.data(), static_cast<int>(datagram.size()));
  s.drive();
  // OpenSSL reads a datagram whole; drop any remainder so it cannot merge with the next one.
  (void)BIO_reset(s.rbio);
  s.update_timer(now);
}

void DtlsEngine::on_timer(TimePoint now, DtlsOutput& out) {
  Impl::Bind bind(impl_.get(), out);
  auto& s = *impl_;
  if (s.state != State::handshaking) return;
  if (s.deadline && now >= *s.deadline) {
    return s.fail("DTLS handshake not finished within " + ms_text(s.config.handshake_timeout));
  }
  if (s.retransmit_at && now >= *s.retransmit_at) {
    ERR_clear_error();
    // Resends the last flight if OpenSSL's own timer has run out (see engine.hpp).
    if (DTLSv1_handle_timeout(s.ssl.get()) < 0) return s.fail(s.handshake_failure());
  }
  s.update_timer(now);
}

std::optional<TimePoint> DtlsEngine::next_timer() const noexcept {
  const auto& s = *impl_;
  if (s.state != State::handshaking) return std::nullopt;
  if (s.retransmit_at && s.deadline) return std::min(*s.retransmit_at, *s.deadline);
  return s.retransmit_at ? s.retransmit_at : s.deadline;
}

void DtlsEngine::close(TimePoint /*now*/, DtlsOutput& out) {
  Impl::Bind bind(impl_.get(), out);
  auto& s = *impl_;
  if (s.state == State::connected) {
    ERR_clear_error();
    (void)SSL_shutdown(s.ssl.get());  // close_notify (RFC 5246 §7.2.1); no need to wait for theirs
    ERR_clear_error();
  }
  if (s.state != State::failed) s.state = State::closed;
  s.deadline.reset();
  s.retransmit_at.reset();
}

State DtlsEngine::state() const noexcept {
  return impl_->state;
}
Role DtlsEngine::role() const noexcept {
  return impl_->config.role;
}
const std::string& DtlsEngine::failure_reason() const noexcept {
  return impl_->reason;
}
const std::optional<DtlsSrtpKeys>& DtlsEngine::srtp_keys() const noexcept {
  return impl_->keys;
}
const DtlsCounters& DtlsEngine::counters() const noexcept {
  return impl_->counters;
}

}  // namespace icegate::media::dtls
