// Hook for SRTP on a leg (RFC 3711). The DTLS-SRTP issue fills it with libsrtp; the relay only
// calls it. Both calls work in place on a buffer with room to grow (the worker's receive slot
// is larger than any datagram it accepts), return the new length, or nullopt to drop the packet
// (counted as Drop::transform_failed). They run on the session's worker thread, never block and
// never throw.
#pragma once

#include <cstddef>
#include <optional>
#include <span>

namespace icegate::media::relay {

class PacketTransform {
 public:
  virtual ~PacketTransform() = default;
  // A packet that arrived on this leg: SRTP/SRTCP in, RTP/RTCP out.
  virtual std::optional<std::size_t> unprotect(std::span<std::byte> buffer, std::size_t len,
                                               bool rtcp) noexcept = 0;
  // A packet about to leave on this leg: RTP/RTCP in, SRTP/SRTCP out.
  virtual std::optional<std::size_t> protect(std::span<std::byte> buffer, std::size_t len,
                                             bool rtcp) noexcept = 0;
};

}  // namespace icegate::media::relay
