// Per-SSRC receive statistics: sequence tracking (RFC 3550 A.1), loss (A.3) and interarrival
// jitter (A.8). Plain arithmetic, no I/O; the caller supplies arrival times.
#pragma once

#include <chrono>
#include <cstdint>

namespace icegate::media::rtp {

// RFC 3550 A.1 `update_seq`, with its constants.
class SequenceTracker {
 public:
  static constexpr std::uint16_t kMaxDropout = 3000;
  static constexpr std::uint16_t kMaxMisorder = 100;
  static constexpr int kMinSequential = 2;

  enum class Update : std::uint8_t {
    valid,      // counted
    probation,  // new source, not yet MIN_SEQUENTIAL in-order packets
    jump,       // large jump, held until the next packet confirms it (then the source restarts)
    restarted,  // the jump was confirmed: statistics restarted at this packet
  };

  // Starts tracking a new source at `seq` (A.1: probation until kMinSequential in-order packets).
  void start(std::uint16_t seq) noexcept;
  Update update(std::uint16_t seq) noexcept;

  std::uint32_t extended_max() const noexcept { return cycles_ + max_seq_; }
  std::uint32_t received() const noexcept { return received_; }
  // A.3: expected = extended max - base + 1; 0 before the first counted packet.
  std::uint32_t expected() const noexcept;
  // A.3 cumulative loss; negative when duplicates arrived.
  std::int64_t lost() const noexcept { return std::int64_t{expected()} - received_; }
  // Forward jumps of more than one (each is one gap, whatever its size).
  std::uint32_t gaps() const noexcept { return gaps_; }
  // Packets older than the highest seen (reordered or duplicated).
  std::uint32_t late() const noexcept { return late_; }

 private:
  void init(std::uint16_t seq) noexcept;

  std::uint16_t max_seq_ = 0;
  std::uint32_t cycles_ = 0;
  std::uint32_t base_seq_ = 0;
  std::uint32_t bad_seq_ = 0x10001;  // RTP_SEQ_MOD + 1: matches no sequence number
  std::uint32_t received_ = 0;
  std::uint32_t gaps_ = 0;
  std::uint32_t late_ = 0;
  int probation_ = 0;
  bool counting_ = false;
};

// RFC 3550 A.8 integer estimator: J += (|D| - J) / 16, kept scaled by 16.
class JitterEstimator {
 public:
  // `arrival` is the arrival time in RTP timestamp units (same clock rate as `rtp_timestamp`).
  void update(std::uint32_t rtp_timestamp, std::uint32_t arrival) noexcept;
  std::uint32_t jitter() const noexcept { return jitter_ >> 4; }  // timestamp units
  void reset() noexcept { *this = {}; }

 private:
  std::uint32_t jitter_ = 0;
  std::int32_t transit_ = 0;
  bool have_transit_ = false;
};

// Statistics of the one SSRC a leg currently receives. A new SSRC restarts them (ssrc_changes
// counts how often): a relay leg carries one stream, and a new SSRC is a new stream.
class StreamStats {
 public:
  using Clock = std::chrono::steady_clock;
  explicit StreamStats(std::uint32_t clock_rate = 8000) noexcept : clock_rate_(clock_rate) {}

  void on_packet(std::uint32_t ssrc, std::uint16_t seq, std::uint32_t rtp_timestamp,
                 Clock::time_point arrival) noexcept {
    on_packet(ssrc, seq, rtp_timestamp, arrival, clock_rate_);
  }
  // With the clock rate of this packet's payload type (RFC 3550 A.8: jitter is kept in the
  // units of the stream's timestamps). 0 leaves the packet out of the jitter estimate (it is
  // still counted: an RFC 4733 event, whose timestamp stays at the event's start); another
  // rate than the last restarts the estimate in the new units (the sender changed codec).
  void on_packet(std::uint32_t ssrc, std::uint16_t seq, std::uint32_t rtp_timestamp,
                 Clock::time_point arrival, std::uint32_t clock_rate) noexcept;
  void set_clock_rate(std::uint32_t hz) noexcept;

  bool active() const noexcept { return active_; }
  std::uint32_t ssrc() const noexcept { return ssrc_; }
  std::uint32_t ssrc_changes() const noexcept { return ssrc_changes_; }
  std::uint32_t clock_rate() const noexcept { return clock_rate_; }
  const SequenceTracker& sequence() const noexcept { return seq_; }
  std::uint32_t jitter_units() const noexcept { return jitter_.jitter(); }
  std::chrono::microseconds jitter() const noexcept;

  // Arrival time expressed in RTP timestamp units of `clock_rate` since `epoch`, modulo 2^32.
  static std::uint32_t to_rtp_units(Clock::duration since_epoch, std::uint32_t clock_rate) noexcept;

 private:
  SequenceTracker seq_;
  JitterEstimator jitter_;
  Clock::time_point epoch_{};
  std::uint32_t clock_rate_;
  std::uint32_t ssrc_ = 0;
  std::uint32_t ssrc_changes_ = 0;
  bool active_ = false;
};

}  // namespace icegate::media::rtp
