#include "media/srtp/key.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>

namespace icegate::media::srtp {

SrtpKey::~SrtpKey() {
  OPENSSL_cleanse(bytes_.data(), bytes_.size());
}

Expected<SrtpKey, std::string> SrtpKey::make(SrtpProfile profile, std::span<const std::uint8_t> key,
                                             std::span<const std::uint8_t> salt) {
  const auto& pi = info(profile);
  if (key.size() != pi.key_len || salt.size() != pi.salt_len) {
    return unexpected(std::string(to_string(profile)) + " needs a " + std::to_string(pi.key_len) +
                      "-byte key and a " + std::to_string(pi.salt_len) + "-byte salt, got " +
                      std::to_string(key.size()) + " and " + std::to_string(salt.size()));
  }
  SrtpKey k;
  k.profile_ = profile;
  k.key_len_ = key.size();
  k.salt_len_ = salt.size();
  std::copy(key.begin(), key.end(), k.bytes_.begin());
  std::copy(salt.begin(), salt.end(), k.bytes_.begin() + static_cast<std::ptrdiff_t>(key.size()));
  return k;
}

Expected<SrtpKey, std::string> SrtpKey::from_master(SrtpProfile profile,
                                                    std::span<const std::uint8_t> key_and_salt) {
  const auto& pi = info(profile);
  if (key_and_salt.size() != pi.key_len + pi.salt_len) {
    return unexpected(std::string(to_string(profile)) + " needs " +
                      std::to_string(pi.key_len + pi.salt_len) + " bytes of key||salt, got " +
                      std::to_string(key_and_salt.size()));
  }
  return make(profile, key_and_salt.first(pi.key_len), key_and_salt.subspan(pi.key_len));
}

Expected<SrtpKey, std::string> SrtpKey::generate(SrtpProfile profile) {
  const auto& pi = info(profile);
  std::array<std::uint8_t, kMaxLen> buf{};
  const auto n = pi.key_len + pi.salt_len;
  if (RAND_bytes(buf.data(), static_cast<int>(n)) != 1) {
    return unexpected(std::string("RAND_bytes failed"));
  }
  auto k = from_master(profile, std::span<const std::uint8_t>(buf.data(), n));
  OPENSSL_cleanse(buf.data(), buf.size());
  return k;
}

bool operator==(const SrtpKey& a, const SrtpKey& b) noexcept {
  return a.profile_ == b.profile_ && a.key_len_ == b.key_len_ && a.salt_len_ == b.salt_len_ &&
         std::equal(a.master().begin(), a.master().end(), b.master().begin());
}

}  // namespace icegate::media::srtp
