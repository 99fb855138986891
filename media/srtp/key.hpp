// SRTP master key material (master key || master salt) for one direction and one profile.
// Wiped from memory when destroyed; copies are wiped too.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "acl/expected.hpp"
#include "media/srtp/profile.hpp"

namespace icegate::media::srtp {

class SrtpKey {
 public:
  static constexpr std::size_t kMaxLen =
      46;  // AES-256 key + 14-byte salt: the largest libsrtp takes

  SrtpKey() = default;
  SrtpKey(const SrtpKey&) = default;
  SrtpKey& operator=(const SrtpKey&) = default;
  ~SrtpKey();

  // Fails when the lengths do not match the profile.
  static Expected<SrtpKey, std::string> make(SrtpProfile profile, std::span<const std::uint8_t> key,
                                             std::span<const std::uint8_t> salt);
  // key||salt in one span, as carried by SDES inline: and as libsrtp wants it.
  static Expected<SrtpKey, std::string> from_master(SrtpProfile profile,
                                                    std::span<const std::uint8_t> key_and_salt);
  // Fresh random material from OpenSSL's CSPRNG (RAND_bytes). Fails only if the RNG does.
  static Expected<SrtpKey, std::string> generate(SrtpProfile profile);

  SrtpProfile profile() const noexcept { return profile_; }
  std::span<const std::uint8_t> key() const noexcept { return {bytes_.data(), key_len_}; }
  std::span<const std::uint8_t> salt() const noexcept {
    return {bytes_.data() + key_len_, salt_len_};
  }
  std::span<const std::uint8_t> master() const noexcept {
    return {bytes_.data(), key_len_ + salt_len_};
  }

  friend bool operator==(const SrtpKey& a, const SrtpKey& b) noexcept;

 private:
  SrtpProfile profile_ = SrtpProfile::aes_cm_128_hmac_sha1_80;
  std::array<std::uint8_t, kMaxLen> bytes_{};
  std::size_t key_len_ = 0;
  std::size_t salt_len_ = 0;
};

}  // namespace icegate::media::srtp
