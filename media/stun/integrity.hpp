// MESSAGE-INTEGRITY (HMAC-SHA1, RFC 5389 §15.4), MESSAGE-INTEGRITY-SHA256 (RFC 8489 §14.6),
// FINGERPRINT (CRC-32, RFC 5389 §15.5) and the credential keys they are computed with.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "media/stun/message.hpp"

namespace icegate::media::stun {

enum class Check : std::uint8_t {
  ok,
  absent,    // the message carries no such attribute
  mismatch,  // present but wrong (or the message was not parsed from bytes)
};

// Verifies the first MESSAGE-INTEGRITY of a parsed message: HMAC-SHA1 over the message up to
// that attribute, with the header length adjusted to end just after it (RFC 5389 §15.4).
// Compared in constant time.
Check verify_message_integrity(const Message& m, std::span<const std::byte> key);
// Same for MESSAGE-INTEGRITY-SHA256, which may be truncated to 16..32 bytes (RFC 8489 §14.6).
Check verify_message_integrity_sha256(const Message& m, std::span<const std::byte> key);
// CRC-32 of the message up to FINGERPRINT, xored with 0x5354554E (RFC 5389 §15.5).
Check verify_fingerprint(const Message& m);

// Short-term credential key: the password itself (RFC 5389 §15.4; ICE passwords are ice-chars,
// which SASLprep/OpaqueString leave unchanged).
inline std::span<const std::byte> short_term_key(std::string_view password) noexcept {
  return as_bytes(password);
}
// Long-term credential key MD5(username ":" realm ":" password) (RFC 5389 §15.4). The password
// must already be SASLprep'ed (RFC 4013); that is the caller's business.
std::array<std::byte, 16> long_term_key(std::string_view username, std::string_view realm,
                                        std::string_view password);
// Long-term key with PASSWORD-ALGORITHM SHA-256 (RFC 8489 §18.5.1.2).
std::array<std::byte, 32> long_term_key_sha256(std::string_view username, std::string_view realm,
                                               std::string_view password);

// Primitives, exposed for the builder and for tests.
std::uint32_t crc32(std::span<const std::byte> data) noexcept;
inline constexpr std::uint32_t kFingerprintXor = 0x5354554E;
std::array<std::byte, 20> hmac_sha1(std::span<const std::byte> key,
                                    std::span<const std::byte> data);
std::array<std::byte, 32> hmac_sha256(std::span<const std::byte> key,
                                      std::span<const std::byte> data);

}  // namespace icegate::media::stun
