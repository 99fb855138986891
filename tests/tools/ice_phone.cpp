// ice_phone: the media half of a softphone for the integration tests (sipp does the SIP half).
//
// It binds one UDP socket (the candidate the sipp scenario advertises), proves ICE to icegate
// the way a full (controlling) agent does — Binding Requests with USERNAME "<icegate ufrag>:<our
// ufrag>", PRIORITY, USE-CANDIDATE, ICE-CONTROLLING, MESSAGE-INTEGRITY keyed with icegate's
// password and FINGERPRINT (RFC 8445 §7.2.2, §7.2.4) — until an authenticated Binding Success
// comes back, then sends RTP from the same socket (icegate accepts media only from the checked
// path) and counts what comes back. icegate's own Binding Requests (pin-hole punching, keyed
// with our password) are counted and answered (RFC 8445 §7.3).
//
// The trunk side of the test echoes RTP, so packets carrying our SSRC coming back prove that
// media went phone -> icegate -> trunk -> icegate -> phone. Exit status: 0 when at least
// --min-rtp of our packets came back, 1 when ICE never succeeded, 2 when too few came back,
// 3 on bad usage. The last line on stdout is a one-line JSON summary for the test driver.
//
// With --dtls client|server the phone also does DTLS-SRTP (RFC 5763/5764) on the checked path,
// with the certificate in --cert-dir (see --make-cert) and icegate's --peer-fingerprint, and
// then sends SRTP: echoes count only when they authenticate with the negotiated keys.
// --srtp-garbage N first sends N SRTP packets with a broken tag (icegate must drop and count
// them); --dtls-silent does ICE but never any DTLS (icegate's handshake must time out).
// Exit status 4: the DTLS handshake failed.
//
// All waiting is poll() with a deadline; nothing here sleeps.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <string>
#include <vector>

#include <openssl/pem.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "media/dtls/certificate.hpp"
#include "media/dtls/engine.hpp"
#include "media/endpoint.hpp"
#include "media/srtp/transform.hpp"
#include "media/stun/attributes.hpp"
#include "media/stun/builder.hpp"
#include "media/stun/integrity.hpp"
#include "media/stun/message.hpp"

namespace {

using namespace icegate;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct Options {
  media::Endpoint local;
  media::Endpoint remote;
  std::string remote_ufrag, remote_pwd;  // icegate's (from the SDP it sent)
  std::string local_ufrag, local_pwd;    // ours (in the SDP the scenario sent)
  int packets = 50;
  int min_rtp = 40;
  int interval_ms = 20;
  int ice_timeout_ms = 5000;  // for the first Binding Success
  int grace_ms = 2000;        // after the last RTP packet, for the echoes still on their way
  int wait_request_ms = 0;    // > 0: first wait for icegate's pin-hole request, then check
  bool use_candidate = true;
  std::optional<media::dtls::Role> dtls;
  bool dtls_silent = false;
  std::string cert_dir;
  std::string peer_fingerprint;
  int dtls_timeout_ms = 8000;
  int srtp_garbage = 0;
  // What the RTP says (issue 11 item 4): payload type, timestamp step per packet (960 for 20 ms
  // of opus at 48 kHz), and every `event_every`-th packet with `event_type` instead (an RFC 4733
  // telephone-event the trunk numbers differently).
  int payload_type = 0;
  int ts_step = 160;
  int event_type = -1;
  int event_every = 0;
  // RTP that is not ours (the far end's own stream, e.g. its RFC 4733 events): with
  // --expect-type, keep listening after the echoes until --expect-count such packets arrived
  // (or --expect-ms passed); the summary counts them and the far end's packets of other types.
  int expect_type = -1;
  int expect_count = 1;
  int expect_ms = 10000;
};

// --make-cert DIR: a fresh certificate and key as DIR/cert.pem + DIR/key.pem; prints the
// fingerprint for the SDP the scenario sends. Without DIR/*.pem, loads them.
std::shared_ptr<const media::dtls::Certificate> certificate_in(const std::string& dir, bool make) {
  const std::filesystem::path d(dir);
  if (make) {
    auto c = media::dtls::Certificate::generate({"ice_phone", std::chrono::hours(24)});
    if (!c) return nullptr;
    std::ofstream(d / "cert.pem") << (*c)->to_pem();
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    PEM_write_bio_PrivateKey(bio.get(), (*c)->private_key(), nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    std::ofstream(d / "key.pem") << std::string(data, static_cast<std::size_t>(n));
    return *c;
  }
  auto c = media::dtls::Certificate::load_pem_files(d / "cert.pem", d / "key.pem");
  if (!c) {
    std::fprintf(stderr, "ice_phone: %s\n", c.error().c_str());
    return nullptr;
  }
  return *c;
}

std::optional<media::Endpoint> parse_endpoint(const std::string& s) {
  const auto colon = s.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  auto a = acl::Address::parse(s.substr(0, colon));
  if (!a) return std::nullopt;
  const unsigned long port = std::strtoul(s.c_str() + colon + 1, nullptr, 10);
  if (port == 0 || port > 65535) return std::nullopt;
  return media::Endpoint{*a, static_cast<std::uint16_t>(port)};
}

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "ice_phone: %s\nusage: ice_phone --local IP:PORT --remote IP:PORT --remote-ufrag U "
               "--remote-pwd P --local-ufrag U --local-pwd P [--packets N] [--min-rtp M] "
               "[--interval-ms 20] [--ice-timeout-ms 5000] [--grace-ms 2000] "
               "[--wait-request-ms N] [--no-use-candidate] [--payload-type 0] [--ts-step 160] "
               "[--event-type PT --event-every K] [--expect-type PT [--expect-count N] "
               "[--expect-ms 10000]]\n",
               why);
  std::exit(3);
}

Options parse_args(int argc, char** argv) {
  Options o;
  bool have_local = false, have_remote = false;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (k == "--no-use-candidate") {
      o.use_candidate = false;
      continue;
    }
    if (k == "--dtls-silent") {
      o.dtls_silent = true;
      continue;
    }
    if (k == "--make-cert" && i + 1 < argc) {
      auto c = certificate_in(argv[i + 1], true);
      if (!c) usage("cannot make a certificate");
      std::printf("%s\n", c->sdp_fingerprint().c_str());
      std::exit(0);
    }
    if (i + 1 >= argc) usage(("missing value for " + k).c_str());
    const std::string v = argv[++i];
    const auto number = [&] {
      char* end = nullptr;
      const long n = std::strtol(v.c_str(), &end, 10);
      if (!end || *end || n < 0 || n > 1000000) usage(("bad number for " + k).c_str());
      return static_cast<int>(n);
    };
    if (k == "--local" || k == "--remote") {
      auto e = parse_endpoint(v);
      if (!e) usage(("bad address " + v).c_str());
      (k == "--local" ? o.local : o.remote) = *e;
      (k == "--local" ? have_local : have_remote) = true;
    } else if (k == "--remote-ufrag") {
      o.remote_ufrag = v;
    } else if (k == "--remote-pwd") {
      o.remote_pwd = v;
    } else if (k == "--local-ufrag") {
      o.local_ufrag = v;
    } else if (k == "--local-pwd") {
      o.local_pwd = v;
    } else if (k == "--packets") {
      o.packets = number();
    } else if (k == "--min-rtp") {
      o.min_rtp = number();
    } else if (k == "--interval-ms") {
      o.interval_ms = number();
    } else if (k == "--ice-timeout-ms") {
      o.ice_timeout_ms = number();
    } else if (k == "--grace-ms") {
      o.grace_ms = number();
    } else if (k == "--wait-request-ms") {
      o.wait_request_ms = number();
    } else if (k == "--dtls") {
      if (v != "client" && v != "server") usage("--dtls wants client or server");
      o.dtls = v == "client" ? media::dtls::Role::client : media::dtls::Role::server;
    } else if (k == "--cert-dir") {
      o.cert_dir = v;
    } else if (k == "--peer-fingerprint") {
      o.peer_fingerprint = v;
    } else if (k == "--dtls-timeout-ms") {
      o.dtls_timeout_ms = number();
    } else if (k == "--srtp-garbage") {
      o.srtp_garbage = number();
    } else if (k == "--payload-type" || k == "--event-type") {
      const int pt = number();
      if (pt > 127) usage(("bad payload type for " + k).c_str());
      (k == "--payload-type" ? o.payload_type : o.event_type) = pt;
    } else if (k == "--expect-type") {
      o.expect_type = number();
      if (o.expect_type > 127) usage("bad payload type for --expect-type");
    } else if (k == "--expect-count") {
      o.expect_count = number();
    } else if (k == "--expect-ms") {
      o.expect_ms = number();
    } else if (k == "--ts-step") {
      o.ts_step = number();
    } else if (k == "--event-every") {
      o.event_every = number();
    } else {
      usage(("unknown option " + k).c_str());
    }
  }
  if (!have_local || !have_remote) usage("--local and --remote are required");
  if (o.event_every > 0 && o.event_type < 0) usage("--event-every needs --event-type");
  if (o.remote_ufrag.empty() || o.remote_pwd.empty() || o.local_ufrag.empty() ||
      o.local_pwd.empty()) {
    usage("all four ICE credentials are required");
  }
  if (o.dtls && (o.cert_dir.empty() || o.peer_fingerprint.empty())) {
    usage("--dtls needs --cert-dir and --peer-fingerprint");
  }
  return o;
}

std::uint8_t byte_at(std::span<const std::byte> b, std::size_t i) {
  return std::to_integer<std::uint8_t>(b[i]);
}
std::uint32_t load32(std::span<const std::byte> b, std::size_t at) {
  return (std::uint32_t{byte_at(b, at)} << 24) | (std::uint32_t{byte_at(b, at + 1)} << 16) |
         (std::uint32_t{byte_at(b, at + 2)} << 8) | byte_at(b, at + 3);
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) out += c;
  }
  return out;
}

class Phone {
 public:
  explicit Phone(Options o) : o_(std::move(o)), rng_(std::random_device{}()) {
    ssrc_ = static_cast<std::uint32_t>(rng_()) | 1u;
    tie_breaker_ = (std::uint64_t{rng_()} << 32) | rng_();
  }

  ~Phone() {
    if (fd_ >= 0) ::close(fd_);
  }
  Phone(const Phone&) = delete;
  Phone& operator=(const Phone&) = delete;

  int run() {
    fd_ = ::socket(o_.local.address.is_v4() ? AF_INET : AF_INET6, SOCK_DGRAM, 0);
    if (fd_ < 0) return fail_usage("socket() failed");
    sockaddr_storage ss{};
    const socklen_t sl = o_.local.to_sockaddr(ss);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&ss), sl) != 0) {
      return fail_usage(("cannot bind " + o_.local.to_string() + ": " + std::strerror(errno)).c_str());
    }
    // The driver waits for this line before it lets the call proceed.
    std::printf("{\"ready\":true,\"local\":\"%s\"}\n", o_.local.to_string().c_str());
    std::fflush(stdout);
    if (o_.wait_request_ms > 0) {
      // Like a full agent's triggered check (RFC 8445 §7.3.1.4): icegate's pin-hole request
      // (behaviour.md §4, sent right after the answer) comes first, our checks follow it.
      const auto began = Clock::now();
      const auto until = began + milliseconds(o_.wait_request_ms);
      while (requests_valid_ == 0 && Clock::now() < until) wait_and_read(until);
      waited_request_ms_ = std::chrono::duration_cast<milliseconds>(Clock::now() - began).count();
    }
    const auto start = Clock::now();
    // Phase 1: connectivity checks until an authenticated success (RFC 8445 §7.2.5.3).
    auto next_check = start;
    milliseconds rto{50};
    const auto ice_deadline = start + milliseconds(o_.ice_timeout_ms);
    while (!connected_ && Clock::now() < ice_deadline) {
      if (Clock::now() >= next_check) {
        send_check();
        next_check = Clock::now() + rto;
        rto = std::min(rto * 2, milliseconds(400));
      }
      wait_and_read(std::min(next_check, ice_deadline));
    }
    if (!connected_) {
      summary(false, "no authenticated Binding Success from " + o_.remote.to_string());
      return 1;
    }
    check_rtt_ms_ = std::chrono::duration_cast<milliseconds>(connected_at_ - start).count();
    if (o_.dtls) {
      if (const int rc = run_dtls(); rc != 0) return rc;
    }
    // Phase 2: RTP every interval from the checked socket; count what comes back.
    auto next_rtp = Clock::now();
    const auto rtp_started = next_rtp;
    while (rtp_sent_ < o_.packets) {
      if (Clock::now() >= next_rtp) {
        send_rtp();
        next_rtp += milliseconds(o_.interval_ms);
      }
      wait_and_read(next_rtp);
    }
    const auto grace_end = Clock::now() + milliseconds(o_.grace_ms);
    while (rtp_echoed_ < rtp_sent_ && Clock::now() < grace_end) wait_and_read(grace_end);
    if (o_.expect_type >= 0) {
      const auto expect_end = rtp_started + milliseconds(o_.expect_ms);
      while (expected_in_ < o_.expect_count && Clock::now() < expect_end) wait_and_read(expect_end);
    }
    const bool ok = rtp_echoed_ >= o_.min_rtp;
    summary(ok, ok ? "" : "only " + std::to_string(rtp_echoed_) + " of " +
                              std::to_string(rtp_sent_) + " RTP packets came back (want " +
                              std::to_string(o_.min_rtp) + ")");
    return ok ? 0 : 2;
  }

 private:
  int fail_usage(const char* why) {
    std::fprintf(stderr, "ice_phone: %s\n", why);
    return 3;
  }

  void send_to(const media::Endpoint& to, std::span<const std::byte> bytes) {
    sockaddr_storage ss{};
    const socklen_t sl = to.to_sockaddr(ss);
    (void)::sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&ss), sl);
  }

  media::stun::TransactionId new_tid() {
    media::stun::TransactionId t{};
    for (auto& b : t) b = static_cast<std::byte>(rng_() & 0xff);
    return t;
  }

  void send_check() {
    namespace stun = media::stun;
    const auto tid = new_tid();
    pending_.insert(tid);
    stun::MessageBuilder b({stun::method::binding, stun::MessageClass::request}, tid);
    b.add_text(stun::attr::username, o_.remote_ufrag + ":" + o_.local_ufrag);
    // RFC 8445 §5.1.2.1: type preference 126 (host), local preference 65535, component 1.
    b.add_u32(stun::attr::priority, 2130706431u);
    if (o_.use_candidate) b.add_flag(stun::attr::use_candidate);
    b.add_u64(stun::attr::ice_controlling, tie_breaker_);
    b.add_message_integrity(stun::short_term_key(o_.remote_pwd));
    b.add_fingerprint();
    send_to(o_.remote, b.bytes());
    ++checks_sent_;
  }

  int run_dtls() {
    const auto began = Clock::now();
    const auto deadline = began + milliseconds(o_.dtls_timeout_ms);
    if (o_.dtls_silent) {
      // ICE only: keep consent going (answering icegate's checks) until icegate gives up.
      while (Clock::now() < deadline) wait_and_read(deadline);
      summary(false, "stayed silent on DTLS as asked");
      return 4;
    }
    auto cert = certificate_in(o_.cert_dir, false);
    auto fp = media::dtls::Fingerprint::parse(o_.peer_fingerprint);
    if (!cert || !fp) {
      summary(false, "bad --cert-dir or --peer-fingerprint");
      return 3;
    }
    media::dtls::DtlsConfig c;
    c.role = *o_.dtls;
    c.certificate = cert;
    c.expected_peer_fingerprints = {*fp};
    c.handshake_timeout = milliseconds(o_.dtls_timeout_ms);
    auto engine = media::dtls::DtlsEngine::create(std::move(c));
    if (!engine) {
      summary(false, "DTLS engine: " + engine.error());
      return 3;
    }
    dtls_.emplace(std::move(*engine));
    dtls_->start(Clock::now(), dtls_out_);
    flush_dtls();
    for (const auto& d : early_dtls_) {
      dtls_->on_datagram(d, Clock::now(), dtls_out_);
      flush_dtls();
    }
    early_dtls_.clear();
    while (!srtp_ && !dtls_failed_ && Clock::now() < deadline) {
      auto until = deadline;
      if (auto t = dtls_->next_timer()) until = std::min(until, *t);
      wait_and_read(until);
      if (dtls_ && Clock::now() >= dtls_->next_timer().value_or(Clock::time_point::max())) {
        dtls_->on_timer(Clock::now(), dtls_out_);
        flush_dtls();
      }
    }
    dtls_ms_ = std::chrono::duration_cast<milliseconds>(Clock::now() - began).count();
    if (!srtp_) {
      summary(false, "DTLS handshake did not complete: " +
                         (dtls_error_.empty() ? std::string("timeout") : dtls_error_));
      return 4;
    }
    for (int i = 0; i < o_.srtp_garbage; ++i) send_rtp(true);
    return 0;
  }

  void flush_dtls() {
    for (const auto& d : dtls_out_.datagrams) send_to(o_.remote, d);
    for (const auto& e : dtls_out_.events) {
      if (e.kind == media::dtls::DtlsEvent::Kind::connected && dtls_->srtp_keys()) {
        const auto& k = *dtls_->srtp_keys();
        auto t = media::srtp::SrtpTransform::create(k.local, k.remote);
        if (t) {
          srtp_ = std::move(*t);
          srtp_profile_ = std::string(media::srtp::to_string(k.profile));
        } else {
          dtls_error_ = t.error();
        }
      } else if (e.kind == media::dtls::DtlsEvent::Kind::failed) {
        dtls_failed_ = true;
        dtls_error_ = e.detail;
      }
    }
    dtls_out_.clear();
  }

  void send_rtp(bool garbage = false) {
    // RFC 3550 §5.1: V=2, PT 0 (PCMU), 20 ms of 8 kHz audio = 160 payload bytes (172 in all).
    std::vector<std::byte> p(172, std::byte{0xd5});
    // Every packet gets its own sequence number: SRTP never protects one index twice.
    const int index = rtp_sent_ + srtp_garbage_sent_ + protect_failed_;
    const auto seq = static_cast<std::uint16_t>(index);
    const std::uint32_t ts = static_cast<std::uint32_t>(index) * static_cast<std::uint32_t>(o_.ts_step);
    const std::uint8_t pt = payload_type_of(seq);
    const std::uint8_t h[12] = {0x80,
                                static_cast<std::uint8_t>((index == 0 ? 0x80 : 0x00) | pt),
                                static_cast<std::uint8_t>(seq >> 8),
                                static_cast<std::uint8_t>(seq),
                                static_cast<std::uint8_t>(ts >> 24),
                                static_cast<std::uint8_t>(ts >> 16),
                                static_cast<std::uint8_t>(ts >> 8),
                                static_cast<std::uint8_t>(ts),
                                static_cast<std::uint8_t>(ssrc_ >> 24),
                                static_cast<std::uint8_t>(ssrc_ >> 16),
                                static_cast<std::uint8_t>(ssrc_ >> 8),
                                static_cast<std::uint8_t>(ssrc_)};
    for (std::size_t i = 0; i < 12; ++i) p[i] = std::byte{h[i]};
    if (srtp_) {
      p.resize(172 + 64);
      const auto n = srtp_->protect(p, 172, false);
      if (!n) {
        ++protect_failed_;  // counted in the summary; the send loop still ends
        ++rtp_sent_;
        return;
      }
      p.resize(*n);
      if (garbage) {
        p.back() ^= std::byte{0x5a};  // a broken authentication tag (RFC 3711 §3.4)
        send_to(o_.remote, p);
        ++srtp_garbage_sent_;
        return;
      }
      srtp_sent_bytes_ = static_cast<int>(*n);
    }
    send_to(o_.remote, p);
    ++rtp_sent_;
  }

  void wait_and_read(Clock::time_point until) {
    const auto left = std::chrono::duration_cast<milliseconds>(until - Clock::now()).count();
    pollfd pfd{fd_, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(std::max<long long>(left, 0))) <= 0) return;
    for (;;) {
      std::byte buf[2048];
      sockaddr_storage ss{};
      socklen_t sl = sizeof ss;
      const ssize_t n = ::recvfrom(fd_, buf, sizeof buf, MSG_DONTWAIT,
                                   reinterpret_cast<sockaddr*>(&ss), &sl);
      if (n <= 0) return;
      const auto from = media::Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), sl);
      if (!from) continue;
      on_datagram({buf, static_cast<std::size_t>(n)}, *from);
    }
  }

  void on_datagram(std::span<const std::byte> d, const media::Endpoint& from) {
    if (d.empty()) return;
    const std::uint8_t first = byte_at(d, 0);
    if (first <= 3) return on_stun(d, from);  // RFC 7983 §7
    if (first >= 20 && first <= 63) {
      ++dtls_in_;
      if (!(from == o_.remote)) return;
      if (!dtls_) {
        // icegate's ClientHello can overtake our switch to the DTLS phase: keep it.
        if (early_dtls_.size() < 16) early_dtls_.emplace_back(d.begin(), d.end());
        return;
      }
      dtls_->on_datagram(d, Clock::now(), dtls_out_);
      flush_dtls();
      return;
    }
    if ((first >> 6) != 2 || d.size() < 12) {
      ++other_in_;
      return;
    }
    const std::uint8_t pt = byte_at(d, 1);
    if (pt >= 192 && pt <= 223) {  // RFC 5761 §4: RTCP on the muxed port
      ++rtcp_in_;
      return;
    }
    if (!(from == o_.remote)) {
      ++rtp_foreign_;  // media must come back from the address we checked
      return;
    }
    ++rtp_received_;
    if (o_.dtls) {
      // Only SRTP that authenticates with the negotiated keys counts (plain RTP would not).
      if (!srtp_) return;
      std::vector<std::byte> copy(d.begin(), d.end());
      const auto n = srtp_->unprotect(copy, copy.size(), false);
      if (!n) {
        ++srtp_unauthenticated_;
        return;
      }
      if (load32(copy, 8) == ssrc_ && *n == 172) count_echo(copy);
      if (load32(copy, 8) != ssrc_) count_foreign(copy);
      return;
    }
    if (load32(d, 8) == ssrc_ && d.size() == 172) count_echo(d);
    if (load32(d, 8) != ssrc_) count_foreign(d);
  }

  void count_foreign(std::span<const std::byte> rtp) {
    if ((byte_at(rtp, 1) & 0x7f) == o_.expect_type) {
      ++expected_in_;
    } else {
      ++foreign_other_;
    }
  }

  // The payload type packet `seq` was sent with (--payload-type, --event-type/--event-every).
  std::uint8_t payload_type_of(std::uint16_t seq) const {
    const bool event = o_.event_every > 0 && seq % o_.event_every == o_.event_every - 1;
    return static_cast<std::uint8_t>(event ? o_.event_type : o_.payload_type);
  }
  // One of our packets came back: it must carry the payload type it left with (what the other
  // leg numbers differently is mapped there and back).
  void count_echo(std::span<const std::byte> rtp) {
    ++rtp_echoed_;
    const auto seq = static_cast<std::uint16_t>((byte_at(rtp, 2) << 8) | byte_at(rtp, 3));
    const std::uint8_t pt = byte_at(rtp, 1) & 0x7f;
    if (pt != payload_type_of(seq)) ++pt_mismatch_;
    if (o_.event_every > 0 && pt == o_.event_type) ++events_echoed_;
  }

  void on_stun(std::span<const std::byte> d, const media::Endpoint& from) {
    namespace stun = media::stun;
    auto m = stun::parse(d);
    if (!m) {
      ++stun_malformed_;
      return;
    }
    if (m->type.method != stun::method::binding) return;
    if (m->type.cls == stun::MessageClass::request) return on_request(*m, from);
    if (m->type.cls != stun::MessageClass::success && m->type.cls != stun::MessageClass::error) return;
    if (pending_.count(m->transaction_id) == 0) {
      ++stun_stray_;
      return;
    }
    if (stun::verify_fingerprint(*m) != stun::Check::ok ||
        stun::verify_message_integrity(*m, stun::short_term_key(o_.remote_pwd)) != stun::Check::ok) {
      ++responses_unauthenticated_;
      return;
    }
    if (m->type.cls == stun::MessageClass::error) {
      if (const auto* a = m->find(stun::attr::error_code)) {
        if (auto e = stun::read_error_code(*m, *a)) last_error_ = e->code;
      }
      ++check_errors_;
      return;
    }
    if (const auto* a = m->find(stun::attr::xor_mapped_address)) {
      if (auto e = stun::read_address(*m, *a)) mapped_ = e->to_string();
    }
    if (!(from == o_.remote)) {
      ++responses_wrong_source_;  // RFC 8445 §7.2.5.2.1: non-symmetric, the check failed
      return;
    }
    ++check_success_;
    if (!connected_) {
      connected_ = true;
      connected_at_ = Clock::now();
    }
  }

  void on_request(const media::stun::Message& m, const media::Endpoint& from) {
    namespace stun = media::stun;
    ++requests_in_;
    // icegate's pin-hole request: USERNAME "<our ufrag>:<icegate ufrag>", keyed with our pwd.
    std::string user;
    if (const auto* u = m.find(stun::attr::username)) {
      if (auto t = stun::read_text(m, *u)) user = *t;
    }
    if (user != o_.local_ufrag + ":" + o_.remote_ufrag ||
        stun::verify_message_integrity(m, stun::short_term_key(o_.local_pwd)) != stun::Check::ok ||
        stun::verify_fingerprint(m) != stun::Check::ok) {
      ++requests_bad_;
      return;
    }
    ++requests_valid_;
    stun::MessageBuilder b({stun::method::binding, stun::MessageClass::success}, m.transaction_id);
    b.add_address(stun::attr::xor_mapped_address, from);
    b.add_message_integrity(stun::short_term_key(o_.local_pwd));
    b.add_fingerprint();
    send_to(from, b.bytes());
    ++requests_answered_;
  }

  void summary(bool ok, const std::string& error) {
    std::printf(
        "{\"ok\":%s,\"local\":\"%s\",\"remote\":\"%s\",\"checks_sent\":%d,\"check_success\":%d,"
        "\"check_errors\":%d,\"last_error_code\":%d,\"responses_unauthenticated\":%d,"
        "\"responses_wrong_source\":%d,\"check_rtt_ms\":%lld,\"mapped\":\"%s\","
        "\"requests_in\":%d,\"requests_valid\":%d,\"requests_bad\":%d,\"requests_answered\":%d,"
        "\"rtp_sent\":%d,\"rtp_received\":%d,\"rtp_echoed\":%d,\"rtp_foreign\":%d,\"rtcp_in\":%d,"
        "\"other_in\":%d,\"stun_malformed\":%d,\"stun_stray\":%d,\"waited_request_ms\":%lld,"
        "\"dtls_in\":%d,\"dtls_ms\":%lld,\"srtp_profile\":\"%s\",\"srtp_bytes\":%d,"
        "\"srtp_unauthenticated\":%d,\"srtp_garbage_sent\":%d,\"pt_mismatch\":%d,"
        "\"events_echoed\":%d,\"expected_type_in\":%d,\"foreign_other_in\":%d,"
        "\"error\":\"%s\"}\n",
        ok ? "true" : "false", o_.local.to_string().c_str(), o_.remote.to_string().c_str(),
        checks_sent_, check_success_, check_errors_, last_error_, responses_unauthenticated_,
        responses_wrong_source_, static_cast<long long>(check_rtt_ms_),
        json_escape(mapped_).c_str(), requests_in_, requests_valid_, requests_bad_,
        requests_answered_, rtp_sent_, rtp_received_, rtp_echoed_, rtp_foreign_, rtcp_in_,
        other_in_, stun_malformed_, stun_stray_, waited_request_ms_, dtls_in_,
        static_cast<long long>(dtls_ms_), srtp_profile_.c_str(), srtp_sent_bytes_,
        srtp_unauthenticated_, srtp_garbage_sent_, pt_mismatch_, events_echoed_, expected_in_,
        foreign_other_, json_escape(error).c_str());
    std::fflush(stdout);
  }

  Options o_;
  std::mt19937 rng_;
  int fd_ = -1;
  std::uint32_t ssrc_ = 0;
  int pt_mismatch_ = 0, events_echoed_ = 0;
  int expected_in_ = 0, foreign_other_ = 0;  // RTP not ours: of --expect-type, of other types
  std::uint64_t tie_breaker_ = 0;
  std::set<media::stun::TransactionId> pending_;
  bool connected_ = false;
  Clock::time_point connected_at_{};
  long long check_rtt_ms_ = -1;
  long long waited_request_ms_ = -1;
  std::string mapped_;
  int checks_sent_ = 0, check_success_ = 0, check_errors_ = 0, last_error_ = 0;
  int responses_unauthenticated_ = 0, responses_wrong_source_ = 0;
  int requests_in_ = 0, requests_valid_ = 0, requests_bad_ = 0, requests_answered_ = 0;
  int rtp_sent_ = 0, rtp_received_ = 0, rtp_echoed_ = 0, rtp_foreign_ = 0, rtcp_in_ = 0;
  int other_in_ = 0, stun_malformed_ = 0, stun_stray_ = 0;
  std::optional<media::dtls::DtlsEngine> dtls_;
  media::dtls::DtlsOutput dtls_out_;
  std::vector<std::vector<std::byte>> early_dtls_;
  std::unique_ptr<media::srtp::SrtpTransform> srtp_;
  std::string srtp_profile_, dtls_error_;
  bool dtls_failed_ = false;
  long long dtls_ms_ = -1;
  int protect_failed_ = 0;
  int dtls_in_ = 0, srtp_sent_bytes_ = 0, srtp_unauthenticated_ = 0, srtp_garbage_sent_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Phone phone(parse_args(argc, argv));
  return phone.run();
}
