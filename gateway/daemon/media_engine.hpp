// sip::MediaPort on top of media/: ports from the allocator, an ICE-lite agent per softphone
// leg, sessions on the relay workers. Used from the signalling thread only.
#pragma once

#include <array>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <mutex>
#include <optional>

#include "acl/histogram.hpp"
#include "conf/config.hpp"
#include "gateway/capture/manager.hpp"
#include "gateway/diagnosis/diagnosis.hpp"
#include "media/dtls/certificate.hpp"
#include "media/ports/port_allocator.hpp"
#include "media/relay/relay.hpp"
#include "media/srtp/sdes.hpp"
#include "sip/media_port.hpp"

namespace icegate::gateway {

// What the media side has done since start, for /metrics (Prometheus counters: they only grow).
// Relay counters are the final ones of closed sessions plus the last snapshot of live ones.
struct MediaTotals {
  std::array<media::relay::LegStats, 2> relay{};  // [0] leg A, [1] leg B: summed
  std::uint64_t ice_checks_answered = 0;
  std::uint64_t ice_checks_bad_integrity = 0;  // 401: MESSAGE-INTEGRITY did not verify
  std::uint64_t ice_checks_bad_username = 0;   // 401: USERNAME not this leg's
  std::uint64_t ice_connected = 0;
  std::uint64_t ice_consent_lost = 0;
  std::uint64_t dtls_ok = 0;
  std::map<std::string, std::uint64_t> dtls_failed;  // by cause
  std::uint64_t sessions_created = 0;
  std::uint64_t sessions_closed = 0;
  std::uint64_t media_timeouts = 0;
  // Media session created -> ICE connected on a phone leg, seconds.
  Histogram ice_connected_seconds{{0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30}};
};

// A call's media as the control API shows it: the last snapshot the relay sent and the ICE /
// DTLS / path history.
struct MediaView {
  std::optional<media::relay::SessionStats> stats;
  std::string history;
  bool ice[2] = {false, false};
  std::chrono::steady_clock::time_point created;
};

class MediaEngine final : public sip::MediaPort {
 public:
  // Throws std::runtime_error when the port range or the workers cannot be set up (start-up).
  MediaEngine(const conf::Media& cfg, const conf::Dtls& dtls);
  ~MediaEngine() override;

  Expected<sip::MediaCall, sip::MediaError> create_call(const sip::MediaCallSetup& setup) override;
  std::vector<std::string> sdes_offer(std::uint64_t call, sip::Side side) override;
  Expected<sip::SdesChoice, std::string> sdes_answer(
      std::uint64_t call, sip::Side side, const std::vector<std::string>& offered) override;
  sip::IceCredentials restart_ice(std::uint64_t call, sip::Side side) override;
  void set_remote(std::uint64_t call, sip::Side side, const sip::RemoteMedia& remote) override;
  void set_payload_types(std::uint64_t call, sip::Side side,
                         const sip::PayloadTypes& types) override;
  void destroy_call(std::uint64_t call) override;
  void call_ending(std::uint64_t call, const sip::CallOutcome& outcome) override;
  std::string describe(std::uint64_t call) override;
  std::optional<acl::Address> public_address() override;
  void set_event_sink(std::function<void(const sip::MediaEvent&)> sink) override;
  int event_fd() const override;
  void dispatch_events() override;

  // The cached public address (STUN discovery or the static setting). Thread-safe.
  void set_public_address(std::optional<acl::Address> a);
  // Settings that may change on reload without touching running calls; a new DTLS certificate
  // (generated, or read again from the files) for the calls that start afterwards. A certificate
  // that cannot be loaded keeps the old one (logged).
  void reload(const conf::Media& cfg, const conf::Dtls& dtls);
  const media::dtls::Certificate& certificate() const { return *certificate_; }
  std::size_t active_sessions() const { return calls_.size(); }
  // The media address the ports are bound on (kept across reloads, like the range).
  const acl::Address& address() const { return cfg_.address; }

  // Per-call captures (docs/operations.md), on the signalling thread. `sip_ports`: the ports SIP
  // of a call may use (listeners, trunks).
  void configure_captures(const std::optional<conf::Capture>& cfg,
                          std::vector<std::uint16_t> sip_ports) {
    captures_.configure(cfg, std::move(sip_ports));
  }
  // Starts capturing a running call, by its label ("c17").
  Expected<capture::CaptureInfo, capture::Refusal> capture_call(const std::string& label);
  capture::Manager& captures() { return captures_; }

  // For the admin surface (signalling thread). Asks every live session for a fresh snapshot;
  // `done` runs once all have answered (or closed). Callers bound the wait themselves.
  void refresh_stats(std::function<void()> done);
  MediaTotals totals() const;
  std::optional<MediaView> view(std::uint64_t call) const;
  media::ports::AllocatorStats port_stats() const { return allocator_.stats(); }
  std::vector<std::chrono::nanoseconds> worker_cpu_times() const {
    return relay_.worker_cpu_times();
  }
  // When the public address was last set (STUN learnt or confirmed it), if ever.
  std::optional<std::chrono::steady_clock::time_point> public_address_since() const;
  // Whether STUN discovery is configured (a missing public address then means pattern 2).
  void set_stun_enabled(bool on) { stun_enabled_ = on; }
  // The diagnosis of a live call from its last snapshot; `outcome`: what SIP knows so far.
  std::optional<diagnosis::Verdict> diagnose(std::uint64_t call, const sip::CallOutcome& outcome);
  // Verdicts of recently ended calls (the last kRecentVerdicts), by the call's label ("c17").
  std::optional<diagnosis::VerdictFields> recent_verdict(const std::string& label) const;
  static constexpr std::size_t kRecentVerdicts = 500;
  // When each relay worker's loop last turned; thread-safe (the systemd watchdog, notify.hpp).
  std::vector<std::chrono::steady_clock::time_point> worker_heartbeats() const {
    return relay_.worker_heartbeats();
  }

 private:
  // What a leg's keys are now, to install new ones only when they change.
  struct LegKeys {
    std::optional<media::srtp::SdesCrypto> sdes_local;  // icegate's key in use
    std::string sdes_remote;                            // the peer's a=crypto line in use
    std::optional<sip::DtlsParams> dtls;                // the handshake's parameters
  };
  struct CallState {
    std::string label;
    capture::CallKey key;  // for a per-call capture
    bool ice[2] = {false, false};
    bool separate_rtcp[2] = {false, false};  // an RTCP port of its own (until mux is agreed)
    bool latching[2] = {false, false};       // when the leg has (or ends up with) no ICE
    std::shared_ptr<const media::dtls::Certificate> certificate;  // as the call started
    LegKeys keys[2];
    sip::PayloadTypes payload_types[2];  // as last handed to the relay
    std::string history;  // ICE / pin-hole / path events, for diagnostics
    std::chrono::steady_clock::time_point created;
    std::optional<media::relay::SessionStats> last;  // latest snapshot from the worker
    // For the diagnosis (docs/troubleshooting.md).
    bool phone[2] = {false, false};
    std::optional<acl::Address> party[2];
    std::vector<media::Endpoint> candidates[2];  // ICE legs: the phone's RTP candidates
    // ICE legs: the candidate ACL, and the check sources it refused (pattern 5, issue 11).
    std::shared_ptr<const acl::Acl> candidate_acl[2];
    std::vector<diagnosis::BlockedCandidate> refused[2];
    std::uint16_t local_rtp[2] = {0, 0};
    std::optional<sip::CallOutcome> outcome;
  };
  diagnosis::CallEvidence evidence(const CallState& state, const media::relay::SessionStats& stats,
                                   bool ended, const std::optional<sip::CallOutcome>& outcome);
  struct StatsWaiter {
    std::set<std::uint64_t> pending;
    std::function<void()> done;
  };
  void settle_waiters(std::uint64_t call);

  void log_bind_failures();
  void attach_capture(std::uint64_t session, std::shared_ptr<media::relay::PacketTap> tap);
  std::size_t bind_failures_pending_ = 0;
  std::string bind_failure_sample_;  // "32770 (Address already in use), ..."
  std::chrono::steady_clock::time_point next_bind_failure_log_{};
  capture::Manager captures_;
  conf::Media cfg_;
  conf::Dtls dtls_cfg_;
  std::shared_ptr<const media::dtls::Certificate> certificate_;
  media::ports::PortAllocator allocator_;
  media::relay::Relay relay_;
  std::map<std::uint64_t, CallState> calls_;
  std::function<void(const sip::MediaEvent&)> sink_;
  std::uint64_t next_id_ = 1;
  MediaTotals closed_;  // closed sessions' relay counters and every event counted so far
  std::vector<StatsWaiter> waiters_;
  bool stun_enabled_ = false;
  std::deque<std::pair<std::string, diagnosis::VerdictFields>> recent_;  // newest last
  mutable std::mutex public_mutex_;  // the STUN thread writes, the signalling thread reads
  std::optional<acl::Address> public_address_;
  std::optional<std::chrono::steady_clock::time_point> public_since_;
};

}  // namespace icegate::gateway
