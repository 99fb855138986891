#include "media/rtp/stream_stats.hpp"

#include <cstdlib>

namespace icegate::media::rtp {

namespace {
constexpr std::uint32_t kSeqMod = 1u << 16;
}

void SequenceTracker::init(std::uint16_t seq) noexcept {
  base_seq_ = seq;
  max_seq_ = seq;
  bad_seq_ = kSeqMod + 1;
  cycles_ = 0;
  received_ = 0;
}

void SequenceTracker::start(std::uint16_t seq) noexcept {
  *this = {};
  init(seq);
  max_seq_ = static_cast<std::uint16_t>(seq - 1);
  probation_ = kMinSequential;
}

SequenceTracker::Update SequenceTracker::update(std::uint16_t seq) noexcept {
  const auto udelta = static_cast<std::uint16_t>(seq - max_seq_);
  if (probation_ > 0) {
    // A.1: a source is valid once kMinSequential packets arrived in sequence.
    if (seq == static_cast<std::uint16_t>(max_seq_ + 1)) {
      --probation_;
      max_seq_ = seq;
      if (probation_ == 0) {
        init(seq);
        ++received_;
        counting_ = true;
        return Update::valid;
      }
    } else {
      probation_ = kMinSequential - 1;
      max_seq_ = seq;
    }
    return Update::probation;
  }
  Update result = Update::valid;
  if (udelta < kMaxDropout) {
    if (seq < max_seq_) cycles_ += kSeqMod;  // wrapped
    if (udelta > 1) ++gaps_;
    max_seq_ = seq;
  } else if (udelta <= kSeqMod - kMaxMisorder) {
    // A.1: a very large jump; accept it only if the next packet follows it (source restarted).
    if (seq == bad_seq_) {
      init(seq);
      result = Update::restarted;
    } else {
      bad_seq_ = (seq + 1u) & (kSeqMod - 1);
      return Update::jump;
    }
  } else {
    ++late_;  // duplicate or reordered
  }
  ++received_;
  return result;
}

std::uint32_t SequenceTracker::expected() const noexcept {
  if (!counting_) return 0;
  return extended_max() - base_seq_ + 1;
}

void JitterEstimator::update(std::uint32_t rtp_timestamp, std::uint32_t arrival) noexcept {
  // A.8: transit differences are taken modulo 2^32, like the timestamps themselves.
  const auto transit = static_cast<std::int32_t>(arrival - rtp_timestamp);
  if (!have_transit_) {
    transit_ = transit;
    have_transit_ = true;
    return;
  }
  const std::uint32_t d = static_cast<std::uint32_t>(
      std::abs(static_cast<std::int64_t>(transit) - static_cast<std::int64_t>(transit_)));
  transit_ = transit;
  // J(i) = J(i-1) + (|D| - J(i-1)) / 16, scaled by 16 (A.8 integer form). Saturate absurd
  // differences (hostile timestamps) so the estimate cannot wrap.
  const std::uint32_t dd = d > (1u << 27) ? (1u << 27) : d;
  jitter_ += dd - ((jitter_ + 8) >> 4);
}

std::uint32_t StreamStats::to_rtp_units(Clock::duration since_epoch,
                                        std::uint32_t clock_rate) noexcept {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch).count();
  const auto uns = static_cast<std::uint64_t>(ns < 0 ? 0 : ns);
  const std::uint64_t secs = uns / 1'000'000'000u;
  const std::uint64_t rem = uns % 1'000'000'000u;
  return static_cast<std::uint32_t>(secs * clock_rate + rem * clock_rate / 1'000'000'000u);
}

void StreamStats::set_clock_rate(std::uint32_t hz) noexcept {
  if (hz == clock_rate_ || hz == 0) return;
  clock_rate_ = hz;
  jitter_.reset();  // units changed: the old estimate means nothing in the new ones
}

void StreamStats::on_packet(std::uint32_t ssrc, std::uint16_t seq, std::uint32_t rtp_timestamp,
                            Clock::time_point arrival, std::uint32_t clock_rate) noexcept {
  if (!active_ || ssrc != ssrc_) {
    if (active_) ++ssrc_changes_;
    active_ = true;
    ssrc_ = ssrc;
    epoch_ = arrival;
    seq_.start(seq);
    jitter_.reset();
  }
  const auto r = seq_.update(seq);
  if (r == SequenceTracker::Update::jump) return;  // not yet believed: keep it out of jitter
  if (clock_rate == 0) return;
  if (clock_rate != clock_rate_) {
    clock_rate_ = clock_rate;
    jitter_.reset();  // transit times in other units compare with nothing of the old ones
  }
  jitter_.update(rtp_timestamp, to_rtp_units(arrival - epoch_, clock_rate_));
}

std::chrono::microseconds StreamStats::jitter() const noexcept {
  if (clock_rate_ == 0) return {};
  return std::chrono::microseconds(std::uint64_t{jitter_.jitter()} * 1'000'000u / clock_rate_);
}

}  // namespace icegate::media::rtp
