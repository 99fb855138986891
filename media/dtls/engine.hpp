// DTLS-SRTP handshake engine (RFC 5763, RFC 5764), sans I/O: it takes datagrams and the time and
// returns datagrams to send, events and when to be called next. OpenSSL runs over memory BIOs
// only. One engine per handshake: an ICE restart or a new peer fingerprint means a new engine.
//
// Timers: OpenSSL 3.0 measures its DTLS retransmission timer with gettimeofday() internally and
// has no hook to inject a clock (DTLS_set_timer_cb only picks the durations). So the engine
// picks the durations (Config::initial_retransmit, doubling to 60 s, RFC 6347 §4.2.4.1),
// reports next_timer() as `now` + what OpenSSL has left, and on_timer() asks OpenSSL to
// retransmit (DTLSv1_handle_timeout), which it does once its own timer has run out. In
// production both clocks advance together; a test that drops a flight has to let that much
// real time pass. The overall handshake deadline is the engine's own and uses `now` only.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "acl/expected.hpp"
#include "media/dtls/certificate.hpp"
#include "media/dtls/fingerprint.hpp"
#include "media/srtp/key.hpp"
#include "media/srtp/profile.hpp"
#include "media/srtp/session.hpp"

namespace icegate::media::dtls {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

// RFC 5763 §5: the side whose a=setup is `active` is the DTLS client. The caller maps a=setup
// to a role (icegate answers `active`, offers `actpass`).
enum class Role : std::uint8_t { client, server };

enum class State : std::uint8_t { idle, handshaking, connected, closed, failed };

constexpr std::string_view to_string(State s) noexcept {
  switch (s) {
    case State::idle:
      return "idle";
    case State::handshaking:
      return "handshaking";
    case State::connected:
      return "connected";
    case State::closed:
      return "closed";
    case State::failed:
      break;
  }
  return "failed";
}

// RFC 5764 §4.2 keys, already mapped to this side: `local` protects what icegate sends,
// `remote` unprotects what the peer sends.
struct DtlsSrtpKeys {
  srtp::SrtpProfile profile = srtp::SrtpProfile::aes_cm_128_hmac_sha1_80;
  srtp::SrtpKey local;
  srtp::SrtpKey remote;
};

struct DtlsConfig {
  Role role = Role::client;
  std::shared_ptr<const Certificate> certificate;
  // From the peer's SDP. RFC 8122 §5: the peer certificate must match one of those that use
  // the strongest hash function offered. Must not be empty.
  std::vector<Fingerprint> expected_peer_fingerprints;
  std::size_t mtu = 1200;  // largest datagram the engine emits (UDP payload)
  // use_srtp offer/preference, strongest first (RFC 5764 §4.1.1): by default what this libsrtp2
  // can key (srtp::dtls_srtp_profiles(): AES-256-GCM, AES-128-GCM, AES_CM_128_HMAC_SHA1_80).
  std::vector<srtp::SrtpProfile> srtp_profiles = srtp::dtls_srtp_profiles();
  // First retransmission timeout; must exceed 15 ms (OpenSSL treats less as already expired).
  std::chrono::milliseconds initial_retransmit{1000};
  std::chrono::milliseconds handshake_timeout{30'000};  // from start() to connected
  bool allow_dtls_1_0 = false;                          // DTLS 1.2 unless a peer needs 1.0
};

struct DtlsEvent {
  enum class Kind : std::uint8_t {
    connected,  // handshake done, fingerprint verified, srtp_keys() available
    failed,     // handshake failed or timed out; detail says why
    closed,     // the peer sent close_notify
  };
  Kind kind = Kind::connected;
  std::string detail;
};

struct DtlsOutput {
  std::vector<std::vector<std::byte>> datagrams;  // to send to the peer, in order
  std::vector<DtlsEvent> events;
  void clear() {
    datagrams.clear();
    events.clear();
  }
};

struct DtlsCounters {
  std::uint64_t datagrams_in = 0;
  std::uint64_t datagrams_out = 0;
  std::uint64_t ignored = 0;           // not DTLS (RFC 7983 §7), or after the engine stopped
  std::uint64_t retransmissions = 0;   // flights resent on timer
  std::uint64_t app_data_dropped = 0;  // DTLS application data (no data channel here)
};

class DtlsEngine {
 public:
  // Errors are configuration errors (no certificate, no fingerprint, bad MTU...).
  static Expected<DtlsEngine, std::string> create(DtlsConfig config);
  DtlsEngine(DtlsEngine&&) noexcept;
  DtlsEngine& operator=(DtlsEngine&&) noexcept;
  ~DtlsEngine();

  // Client: sends the ClientHello. Server: waits for one (the first datagram also starts it).
  void start(TimePoint now, DtlsOutput& out);
  // A datagram from the selected path. Anything outside the DTLS range is ignored.
  void on_datagram(std::span<const std::byte> datagram, TimePoint now, DtlsOutput& out);
  void on_timer(TimePoint now, DtlsOutput& out);
  std::optional<TimePoint> next_timer() const noexcept;
  // Sends close_notify when connected; the engine then ignores everything.
  void close(TimePoint now, DtlsOutput& out);

  State state() const noexcept;
  Role role() const noexcept;
  const std::string& failure_reason() const noexcept;             // set in State::failed
  const std::optional<DtlsSrtpKeys>& srtp_keys() const noexcept;  // set once connected
  const DtlsCounters& counters() const noexcept;

 private:
  struct Impl;
  explicit DtlsEngine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace icegate::media::dtls
