#include "media/stun/integrity.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <string>
#include <vector>

#include "media/stun/wire.hpp"

namespace icegate::media::stun {

namespace {

constexpr std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr auto kCrcTable = make_crc_table();

template <std::size_t N>
std::array<std::byte, N> hmac(const EVP_MD* md, std::span<const std::byte> key,
                              std::span<const std::byte> data) {
  std::array<std::byte, N> out{};
  unsigned int len = 0;
  // HMAC() with an empty key must still get a valid pointer.
  static const unsigned char kEmpty = 0;
  const auto* k = key.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(key.data());
  if (HMAC(md, k, static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
           data.size(), reinterpret_cast<unsigned char*>(out.data()), &len) == nullptr ||
      len != N) {
    // Cannot happen with the built-in digests; a zeroed MAC never verifies against a real one.
    out.fill(std::byte{0});
  }
  return out;
}

template <std::size_t N>
std::array<std::byte, N> digest(const EVP_MD* md, std::string_view input) {
  std::array<std::byte, N> out{};
  unsigned int len = 0;
  if (EVP_Digest(input.data(), input.size(), reinterpret_cast<unsigned char*>(out.data()), &len, md,
                 nullptr) != 1 ||
      len != N) {
    out.fill(std::byte{0});
  }
  return out;
}

// The message bytes before `a`, with the header length rewritten so the message appears to end
// `tail` bytes after the start of `a` (RFC 5389 §15.4, §15.5).
std::vector<std::byte> prefix_with_length(const Message& m, const Attribute& a, std::size_t tail) {
  std::vector<std::byte> buf(m.raw.begin(), m.raw.begin() + static_cast<std::ptrdiff_t>(a.offset));
  wire::store16(buf, 2, static_cast<std::uint16_t>(a.offset - kHeaderSize + tail));
  return buf;
}

// Finds the first attribute of `type` that the integrity rules let count, in a parsed message.
const Attribute* parsed_attr(const Message& m, std::uint16_t type) {
  const Attribute* a = m.find(type);
  if (a == nullptr) return nullptr;
  if (m.raw.size() < a->offset + kAttributeHeaderSize + a->value.size() ||
      a->offset < kHeaderSize) {
    return nullptr;
  }
  return a;
}

}  // namespace

std::uint32_t crc32(std::span<const std::byte> data) noexcept {
  std::uint32_t c = 0xFFFFFFFFu;
  for (auto b : data) c = kCrcTable[(c ^ std::to_integer<std::uint32_t>(b)) & 0xFFu] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

std::array<std::byte, 20> hmac_sha1(std::span<const std::byte> key,
                                    std::span<const std::byte> data) {
  return hmac<20>(EVP_sha1(), key, data);
}

std::array<std::byte, 32> hmac_sha256(std::span<const std::byte> key,
                                      std::span<const std::byte> data) {
  return hmac<32>(EVP_sha256(), key, data);
}

Check verify_message_integrity(const Message& m, std::span<const std::byte> key) {
  if (m.find(attr::message_integrity) == nullptr) return Check::absent;
  const Attribute* a = parsed_attr(m, attr::message_integrity);
  if (a == nullptr || a->value.size() != 20) return Check::mismatch;
  const auto mac = hmac_sha1(key, prefix_with_length(m, *a, kAttributeHeaderSize + 20));
  return CRYPTO_memcmp(mac.data(), a->value.data(), mac.size()) == 0 ? Check::ok : Check::mismatch;
}

Check verify_message_integrity_sha256(const Message& m, std::span<const std::byte> key) {
  if (m.find(attr::message_integrity_sha256) == nullptr) return Check::absent;
  const Attribute* a = parsed_attr(m, attr::message_integrity_sha256);
  if (a == nullptr || a->value.size() < 16 || a->value.size() > 32) return Check::mismatch;
  const auto mac =
      hmac_sha256(key, prefix_with_length(m, *a, kAttributeHeaderSize + a->value.size()));
  // RFC 8489 §14.6: a truncated value is compared with the leading bytes of the HMAC.
  return CRYPTO_memcmp(mac.data(), a->value.data(), a->value.size()) == 0 ? Check::ok
                                                                          : Check::mismatch;
}

Check verify_fingerprint(const Message& m) {
  if (m.find(attr::fingerprint) == nullptr) return Check::absent;
  const Attribute* a = parsed_attr(m, attr::fingerprint);
  if (a == nullptr || a->value.size() != 4) return Check::mismatch;
  const std::uint32_t want =
      crc32(prefix_with_length(m, *a, kAttributeHeaderSize + 4)) ^ kFingerprintXor;
  return wire::load32(a->value, 0) == want ? Check::ok : Check::mismatch;
}

std::array<std::byte, 16> long_term_key(std::string_view username, std::string_view realm,
                                        std::string_view password) {
  std::string input;
  input.reserve(username.size() + realm.size() + password.size() + 2);
  input.append(username).append(":").append(realm).append(":").append(password);
  return digest<16>(EVP_md5(), input);
}

std::array<std::byte, 32> long_term_key_sha256(std::string_view username, std::string_view realm,
                                               std::string_view password) {
  std::string input;
  input.reserve(username.size() + realm.size() + password.size() + 2);
  input.append(username).append(":").append(realm).append(":").append(password);
  return digest<32>(EVP_sha256(), input);
}

}  // namespace icegate::media::stun
