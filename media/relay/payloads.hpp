// The payload types of a relay leg, as the call layer negotiated them (media knows nothing of
// SDP: it gets numbers). Two uses, both per packet:
//  - the clock rate of each payload type that arrives on the leg, for the RFC 3550 A.8 jitter
//    estimate (opus counts at 48 kHz, PCMU at 8 kHz; RFC 4733 events are left out: an event's
//    packets repeat its start timestamp while they arrive 50 ms apart);
//  - the payload type a packet leaving on the leg gets, where the two legs numbered the same
//    codec differently (the trunk's telephone-event 101 is the browser's 126): behaviour.md §1,
//    "payload types are kept consistent (mapped where the legs differ)".
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace icegate::media::relay {

struct PayloadFormat {
  std::uint8_t pt = 0;
  std::uint32_t clock_rate = 0;  // Hz (RFC 3551 §4.5.2: G722 counts at 8000)
  bool event = false;            // RFC 4733 telephone-event: not used for jitter
  friend bool operator==(const PayloadFormat&, const PayloadFormat&) = default;
};

struct PayloadPlan {
  // What arrives on this leg, by payload type (the leg's own and the ones icegate offered it).
  std::vector<PayloadFormat> formats;
  // What leaves on this leg: {payload type as the other leg sends it, this leg's}. Only pairs
  // that differ; a payload type not listed leaves unchanged.
  std::vector<std::pair<std::uint8_t, std::uint8_t>> rewrite;
  friend bool operator==(const PayloadPlan&, const PayloadPlan&) = default;
};

// A leg's plan in the form the per-packet path reads: a short scan of at most kMaxRewrites pairs
// for the rewrite (none at all on a leg without one), a short scan with a one-entry cache for
// the clock rate. Small on purpose: every session has two (sessions are many).
class LegPayloads {
 public:
  // More codecs than this numbered differently between two parties is not seen in practice
  // (a browser offers about ten formats); pairs past it are left unmapped.
  static constexpr std::size_t kMaxRewrites = 16;

  // Rate for payload types the plan does not name (the leg's LegConfig::clock_rate).
  explicit LegPayloads(std::uint32_t default_rate = 8000) noexcept : default_rate_(default_rate) {}

  void set(const PayloadPlan& plan);
  void set_default_rate(std::uint32_t hz) noexcept {
    if (hz != 0) default_rate_ = hz;
    last_pt_ = kNone;
  }

  // The clock rate of `pt` arriving on this leg; 0: leave it out of the jitter estimate.
  std::uint32_t clock_rate(std::uint8_t pt) noexcept {
    if (pt == last_pt_) return last_rate_;
    std::uint32_t rate = default_rate_;
    for (const auto& f : formats_) {
      if (f.pt == pt) {
        rate = f.event ? 0 : f.clock_rate;
        break;
      }
    }
    last_pt_ = pt;
    last_rate_ = rate;
    return rate;
  }

  bool rewrites() const noexcept { return count_ != 0; }
  // RFC 3550 §5.1: the payload type is the low 7 bits of the second octet (M is the high one).
  void rewrite(std::span<std::byte> rtp) const noexcept {
    if (count_ == 0 || rtp.size() < 2) return;
    const auto b = std::to_integer<std::uint8_t>(rtp[1]);
    const std::uint8_t pt = mapped(b & 0x7fu);
    rtp[1] = static_cast<std::byte>((b & 0x80u) | pt);
  }
  std::uint8_t mapped(std::uint8_t pt) const noexcept {
    for (std::size_t i = 0; i < count_; ++i) {
      if (from_[i] == pt) return to_[i];
    }
    return pt;
  }

 private:
  static constexpr std::uint16_t kNone = 0x100;
  std::uint16_t last_pt_ = kNone;
  std::uint8_t count_ = 0;
  std::uint32_t last_rate_ = 0;
  std::uint32_t default_rate_;
  std::array<std::uint8_t, kMaxRewrites> from_{}, to_{};
  std::vector<PayloadFormat> formats_;
};

}  // namespace icegate::media::relay
