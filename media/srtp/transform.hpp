// The relay's PacketTransform for an SRTP leg (DTLS-SRTP or SDES): unprotect what arrives,
// protect what leaves, and count every drop by its reason so the relay can report them.
// Worker-thread only, like the session that owns it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "acl/expected.hpp"
#include "media/relay/transform.hpp"
#include "media/srtp/key.hpp"
#include "media/srtp/session.hpp"

namespace icegate::media::srtp {

struct SrtpDropCounters {
  std::uint64_t auth_failed = 0;
  std::uint64_t replay = 0;
  std::uint64_t malformed = 0;
  std::uint64_t no_room = 0;
  std::uint64_t internal = 0;

  std::uint64_t total() const noexcept {
    return auth_failed + replay + malformed + no_room + internal;
  }
  void count(SrtpError e) noexcept;
};

struct SrtpCounters {
  std::uint64_t unprotected_rtp = 0, unprotected_rtcp = 0;  // accepted inbound
  std::uint64_t protected_rtp = 0, protected_rtcp = 0;      // sent outbound
  SrtpDropCounters inbound_drops, outbound_drops;
};

class SrtpTransform final : public relay::PacketTransform {
 public:
  // `outbound` protects what icegate sends on this leg, `inbound` checks what the peer sends.
  static Expected<std::unique_ptr<SrtpTransform>, std::string> create(
      const SrtpKey& outbound, const SrtpKey& inbound, const SrtpOptions& options = {});

  std::optional<std::size_t> unprotect(std::span<std::byte> buffer, std::size_t len,
                                       bool rtcp) noexcept override;
  std::optional<std::size_t> protect(std::span<std::byte> buffer, std::size_t len,
                                     bool rtcp) noexcept override;

  const SrtpCounters& counters() const noexcept { return counters_; }
  // Why the last unprotect() that failed was refused (meaningful after a failure only).
  SrtpError last_unprotect_error() const noexcept { return last_unprotect_error_; }
  SrtpProfile profile() const noexcept { return sender_.profile(); }

 private:
  SrtpTransform(SrtpSender s, SrtpReceiver r) : sender_(std::move(s)), receiver_(std::move(r)) {}
  SrtpSender sender_;
  SrtpReceiver receiver_;
  SrtpCounters counters_;
  SrtpError last_unprotect_error_ = SrtpError::internal;
};

}  // namespace icegate::media::srtp
