// SRTP/SRTCP (RFC 3711) over libsrtp2: one RAII context per direction of a leg. Both work in
// place on the caller's buffer (the relay worker's receive slot), never allocate per packet,
// never throw, and return the new length or why the packet must be dropped.
//
// One context serves every SSRC of its direction (libsrtp ssrc_any_inbound/outbound): a new
// SSRC gets its own stream, ROC and replay window on its first (authenticated) packet; ROC
// tracking across sequence-number wrap is libsrtp's (RFC 3711 §3.3.1 index estimation).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "acl/expected.hpp"
#include "media/srtp/key.hpp"
#include "media/srtp/profile.hpp"

struct srtp_ctx_t_;  // libsrtp's srtp_ctx_t, kept out of this header

namespace icegate::media::srtp {

enum class SrtpError : std::uint8_t {
  auth_failed,  // RFC 3711 §3.3: authentication tag did not verify (or AEAD open failed)
  replay,       // RFC 3711 §3.3.2: index already seen or older than the replay window
  malformed,    // too short or an invalid RTP/RTCP header
  no_room,      // protect: the buffer cannot hold the authentication trailer
  internal,     // anything else libsrtp reports (cipher failure, key use limit reached)
};

constexpr std::string_view to_string(SrtpError e) noexcept {
  switch (e) {
    case SrtpError::auth_failed:
      return "auth-failed";
    case SrtpError::replay:
      return "replay";
    case SrtpError::malformed:
      return "malformed";
    case SrtpError::no_room:
      return "no-room";
    case SrtpError::internal:
      break;
  }
  return "internal";
}

using SrtpResult = Expected<std::size_t, SrtpError>;

struct SrtpOptions {
  // Replay window in packets (RFC 3711 §3.3.2 requires at least 64; libsrtp's limit is 32767).
  // Wide enough for the reordering a relayed leg sees.
  std::uint32_t replay_window = 1024;
};

// srtp_init() once per process, thread-safe; every constructor below calls it. Returns the
// libsrtp error, if any, on every call.
std::optional<std::string> ensure_libsrtp();
std::string_view libsrtp_version();
// Whether this libsrtp2 can key `p` (AES-GCM needs a crypto backend that has it: OpenSSL or
// NSS; a build with libsrtp's own ciphers has none). Checked once, at first use.
bool profile_supported(SrtpProfile p);
// The use_srtp profiles icegate offers and accepts in DTLS-SRTP (RFC 5764 §4.1.2, RFC 7714
// §14.2), strongest first, only those profile_supported(): AEAD_AES_256_GCM, AEAD_AES_128_GCM,
// AES_CM_128_HMAC_SHA1_80.
std::vector<SrtpProfile> dtls_srtp_profiles();

namespace detail {
struct SrtpCtxDeleter {
  void operator()(srtp_ctx_t_* ctx) const noexcept;
};
using SrtpCtxPtr = std::unique_ptr<srtp_ctx_t_, SrtpCtxDeleter>;
}  // namespace detail

// Outbound: RTP/RTCP in, SRTP/SRTCP out.
class SrtpSender {
 public:
  static Expected<SrtpSender, std::string> create(const SrtpKey& key, const SrtpOptions& = {});

  // `buffer` holds the packet in its first `len` bytes and must have room for the trailer
  // (rtp_overhead() / rtcp_overhead() more bytes).
  SrtpResult protect_rtp(std::span<std::byte> buffer, std::size_t len) noexcept;
  SrtpResult protect_rtcp(std::span<std::byte> buffer, std::size_t len) noexcept;

  SrtpProfile profile() const noexcept { return profile_; }
  std::size_t rtp_overhead() const noexcept { return info(profile_).rtp_tag_len; }
  std::size_t rtcp_overhead() const noexcept { return 4 + info(profile_).rtcp_tag_len; }

 private:
  SrtpSender(detail::SrtpCtxPtr ctx, SrtpProfile p) : ctx_(std::move(ctx)), profile_(p) {}
  detail::SrtpCtxPtr ctx_;
  SrtpProfile profile_;
};

// Inbound: SRTP/SRTCP in, RTP/RTCP out (the result is shorter than `len`).
class SrtpReceiver {
 public:
  static Expected<SrtpReceiver, std::string> create(const SrtpKey& key, const SrtpOptions& = {});

  SrtpResult unprotect_rtp(std::span<std::byte> buffer, std::size_t len) noexcept;
  SrtpResult unprotect_rtcp(std::span<std::byte> buffer, std::size_t len) noexcept;

  SrtpProfile profile() const noexcept { return profile_; }

 private:
  SrtpReceiver(detail::SrtpCtxPtr ctx, SrtpProfile p) : ctx_(std::move(ctx)), profile_(p) {}
  detail::SrtpCtxPtr ctx_;
  SrtpProfile profile_;
};

}  // namespace icegate::media::srtp
