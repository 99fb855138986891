#include "media/srtp/session.hpp"

#include <openssl/crypto.h>
#include <srtp2/srtp.h>

#include <array>
#include <climits>
#include <mutex>

namespace icegate::media::srtp {
namespace {

constexpr std::size_t kRtpHeader = 12;  // RFC 3550 §5.1 fixed header
constexpr std::size_t kRtcpHeader = 8;  // RFC 3550 §6.4.1: header + sender SSRC

std::string status_text(srtp_err_status_t s) {
  return "libsrtp error " + std::to_string(s);
}

SrtpError map_status(srtp_err_status_t s) noexcept {
  switch (s) {
    case srtp_err_status_auth_fail:
      return SrtpError::auth_failed;
    case srtp_err_status_replay_fail:
    case srtp_err_status_replay_old:
      return SrtpError::replay;
    case srtp_err_status_bad_param:
    case srtp_err_status_parse_err:
    case srtp_err_status_no_ctx:
      return SrtpError::malformed;
    default:
      return SrtpError::internal;
  }
}

void set_crypto_policy(SrtpProfile p, srtp_policy_t& policy) {
  switch (p) {
    case SrtpProfile::aes_cm_128_hmac_sha1_80:
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
      break;
    case SrtpProfile::aes_cm_128_hmac_sha1_32:
      // RFC 5764 §4.1.2 / RFC 4568 §6.2.2: SRTCP keeps the 80-bit tag.
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&policy.rtp);
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
      break;
    case SrtpProfile::aead_aes_128_gcm:
      // RFC 7714 §14.2: 16-octet tag on both.
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
      break;
    case SrtpProfile::aead_aes_256_gcm:
      srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtp);
      srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtcp);
      break;
  }
}

Expected<detail::SrtpCtxPtr, std::string> create_ctx(const SrtpKey& key, srtp_ssrc_type_t type,
                                                     const SrtpOptions& options) {
  if (auto err = ensure_libsrtp()) return unexpected(*err);
  if (key.master().empty()) return unexpected(std::string("empty SRTP key"));
  if (options.replay_window < 64 || options.replay_window > 0x7fff) {
    return unexpected("replay window " + std::to_string(options.replay_window) +
                      " outside 64..32767");
  }
  // libsrtp reads the key during srtp_create only; it takes a non-const pointer.
  std::array<unsigned char, SrtpKey::kMaxLen> master{};
  std::copy(key.master().begin(), key.master().end(), master.begin());

  srtp_policy_t policy{};
  set_crypto_policy(key.profile(), policy);
  policy.ssrc.type = type;
  policy.key = master.data();
  policy.window_size = options.replay_window;
  policy.allow_repeat_tx = 0;  // RFC 3711 §9.1: never reuse a keystream
  srtp_t ctx = nullptr;
  const auto status = srtp_create(&ctx, &policy);
  OPENSSL_cleanse(master.data(), master.size());
  if (status != srtp_err_status_ok) return unexpected("srtp_create: " + status_text(status));
  return detail::SrtpCtxPtr(ctx);
}

// Shared guard for every in-place call: libsrtp takes an int length.
bool sane(std::span<std::byte> buffer, std::size_t len, std::size_t min) noexcept {
  return len >= min && len <= buffer.size() && buffer.size() <= static_cast<std::size_t>(INT_MAX);
}

}  // namespace

std::optional<std::string> ensure_libsrtp() {
  static std::once_flag once;
  static srtp_err_status_t status = srtp_err_status_ok;
  std::call_once(once, [] { status = srtp_init(); });
  if (status != srtp_err_status_ok) return "srtp_init: " + status_text(status);
  return std::nullopt;
}

bool profile_supported(SrtpProfile p) {
  // A libsrtp2 built without a GCM-capable crypto backend has no AES-GCM cipher: srtp_create
  // then fails. Asked once per profile with a throw-away key (a context both ways).
  static std::once_flag once;
  static std::array<bool, std::size(kAllProfiles)> ok{};
  std::call_once(once, [] {
    for (std::size_t i = 0; i < std::size(kAllProfiles); ++i) {
      const auto key = SrtpKey::generate(kAllProfiles[i]);
      ok[i] = key && SrtpSender::create(*key) && SrtpReceiver::create(*key);
    }
  });
  for (std::size_t i = 0; i < std::size(kAllProfiles); ++i) {
    if (kAllProfiles[i] == p) return ok[i];
  }
  return false;
}

std::vector<SrtpProfile> dtls_srtp_profiles() {
  // Strongest first (RFC 5764 §4.1.1: the client lists them by preference; OpenSSL as server
  // picks its own most preferred one among those the client offers). RFC 7714 §14.2 GCM before
  // AES-CM; the _32 profile is left out (a weaker tag for nothing on a relay).
  std::vector<SrtpProfile> out;
  for (auto p : {SrtpProfile::aead_aes_256_gcm, SrtpProfile::aead_aes_128_gcm,
                 SrtpProfile::aes_cm_128_hmac_sha1_80}) {
    if (profile_supported(p)) out.push_back(p);
  }
  return out;
}

std::string_view libsrtp_version() {
  return srtp_get_version_string();
}

void detail::SrtpCtxDeleter::operator()(srtp_ctx_t_* ctx) const noexcept {
  srtp_dealloc(ctx);
}

Expected<SrtpSender, std::string> SrtpSender::create(const SrtpKey& key,
                                                     const SrtpOptions& options) {
  auto ctx = create_ctx(key, ssrc_any_outbound, options);
  if (!ctx) return unexpected(std::move(ctx).error());
  return SrtpSender(std::move(*ctx), key.profile());
}

SrtpResult SrtpSender::protect_rtp(std::span<std::byte> buffer, std::size_t len) noexcept {
  if (!sane(buffer, len, kRtpHeader)) return unexpected(SrtpError::malformed);
  if (buffer.size() - len < rtp_overhead()) return unexpected(SrtpError::no_room);
  int n = static_cast<int>(len);
  const auto s = srtp_protect(ctx_.get(), buffer.data(), &n);
  if (s != srtp_err_status_ok) return unexpected(map_status(s));
  return static_cast<std::size_t>(n);
}

SrtpResult SrtpSender::protect_rtcp(std::span<std::byte> buffer, std::size_t len) noexcept {
  if (!sane(buffer, len, kRtcpHeader)) return unexpected(SrtpError::malformed);
  if (buffer.size() - len < rtcp_overhead()) return unexpected(SrtpError::no_room);
  int n = static_cast<int>(len);
  const auto s = srtp_protect_rtcp(ctx_.get(), buffer.data(), &n);
  if (s != srtp_err_status_ok) return unexpected(map_status(s));
  return static_cast<std::size_t>(n);
}

Expected<SrtpReceiver, std::string> SrtpReceiver::create(const SrtpKey& key,
                                                         const SrtpOptions& options) {
  auto ctx = create_ctx(key, ssrc_any_inbound, options);
  if (!ctx) return unexpected(std::move(ctx).error());
  return SrtpReceiver(std::move(*ctx), key.profile());
}

SrtpResult SrtpReceiver::unprotect_rtp(std::span<std::byte> buffer, std::size_t len) noexcept {
  if (!sane(buffer, len, kRtpHeader + info(profile_).rtp_tag_len)) {
    return unexpected(SrtpError::malformed);
  }
  int n = static_cast<int>(len);
  const auto s = srtp_unprotect(ctx_.get(), buffer.data(), &n);
  if (s != srtp_err_status_ok) return unexpected(map_status(s));
  return static_cast<std::size_t>(n);
}

SrtpResult SrtpReceiver::unprotect_rtcp(std::span<std::byte> buffer, std::size_t len) noexcept {
  if (!sane(buffer, len, kRtcpHeader + 4 + info(profile_).rtcp_tag_len)) {
    return unexpected(SrtpError::malformed);
  }
  int n = static_cast<int>(len);
  const auto s = srtp_unprotect_rtcp(ctx_.get(), buffer.data(), &n);
  if (s != srtp_err_status_ok) return unexpected(map_status(s));
  return static_cast<std::size_t>(n);
}

}  // namespace icegate::media::srtp
