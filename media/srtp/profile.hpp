// SRTP protection profiles icegate speaks, with the sizes and names each signalling path uses:
// DTLS-SRTP (RFC 5764 §4.1.2, RFC 7714 §14.2) and SDES a=crypto (RFC 4568 §6.2, RFC 7714 §14.2).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace icegate::media::srtp {

enum class SrtpProfile : std::uint8_t {
  aes_cm_128_hmac_sha1_80,
  aes_cm_128_hmac_sha1_32,
  aead_aes_128_gcm,
  aead_aes_256_gcm,
};

struct SrtpProfileInfo {
  std::size_t key_len;         // master key
  std::size_t salt_len;        // master salt
  std::size_t rtp_tag_len;     // authentication tag appended to SRTP
  std::size_t rtcp_tag_len;    // ... and to SRTCP (after the 4-byte E||index word)
  std::uint16_t dtls_id;       // use_srtp protection profile id (RFC 5764 §4.1.2)
  std::string_view dtls_name;  // OpenSSL's name for SSL_CTX_set_tlsext_use_srtp
  std::string_view sdes_name;  // a=crypto suite
};

namespace detail {
// RFC 5764 §4.1.2: the _32 profile keeps an 80-bit tag on SRTCP; RFC 7714 §14.2 for GCM.
inline constexpr SrtpProfileInfo kCm80{
    16, 14, 10, 10, 0x0001, "SRTP_AES128_CM_SHA1_80", "AES_CM_128_HMAC_SHA1_80"};
inline constexpr SrtpProfileInfo kCm32{
    16, 14, 4, 10, 0x0002, "SRTP_AES128_CM_SHA1_32", "AES_CM_128_HMAC_SHA1_32"};
inline constexpr SrtpProfileInfo kGcm{
    16, 12, 16, 16, 0x0007, "SRTP_AEAD_AES_128_GCM", "AEAD_AES_128_GCM"};
inline constexpr SrtpProfileInfo kGcm256{
    32, 12, 16, 16, 0x0008, "SRTP_AEAD_AES_256_GCM", "AEAD_AES_256_GCM"};
}  // namespace detail

constexpr const SrtpProfileInfo& info(SrtpProfile p) noexcept {
  switch (p) {
    case SrtpProfile::aes_cm_128_hmac_sha1_32:
      return detail::kCm32;
    case SrtpProfile::aead_aes_128_gcm:
      return detail::kGcm;
    case SrtpProfile::aead_aes_256_gcm:
      return detail::kGcm256;
    case SrtpProfile::aes_cm_128_hmac_sha1_80:
      break;
  }
  return detail::kCm80;
}

inline constexpr SrtpProfile kAllProfiles[] = {
    SrtpProfile::aes_cm_128_hmac_sha1_80, SrtpProfile::aes_cm_128_hmac_sha1_32,
    SrtpProfile::aead_aes_128_gcm, SrtpProfile::aead_aes_256_gcm};

constexpr bool is_gcm(SrtpProfile p) noexcept {
  return p == SrtpProfile::aead_aes_128_gcm || p == SrtpProfile::aead_aes_256_gcm;
}

constexpr std::string_view to_string(SrtpProfile p) noexcept {
  return info(p).sdes_name;
}

constexpr std::optional<SrtpProfile> profile_from_dtls_id(std::uint16_t id) noexcept {
  for (auto p : kAllProfiles) {
    if (info(p).dtls_id == id) return p;
  }
  return std::nullopt;
}

// Suite names are case-sensitive tokens in RFC 4568 §9.1 grammar.
constexpr std::optional<SrtpProfile> profile_from_sdes_name(std::string_view name) noexcept {
  for (auto p : kAllProfiles) {
    if (info(p).sdes_name == name) return p;
  }
  return std::nullopt;
}

}  // namespace icegate::media::srtp
