#include "media/ice/credentials.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace icegate::media::ice {

namespace {
constexpr std::string_view kIceChars =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static_assert(kIceChars.size() == 64, "6 bits per character, no modulo bias");

std::string random_ice_string(RandomSource& rng, std::size_t n) {
  std::vector<std::byte> raw(n);
  rng.fill(raw);
  std::string out;
  out.reserve(n);
  for (auto b : raw) out.push_back(kIceChars[std::to_integer<unsigned>(b) & 0x3Fu]);
  return out;
}
}  // namespace

void OpenSslRandom::fill(std::span<std::byte> out) {
  // RAND_bytes takes an int length; our requests are tiny but stay correct for large ones.
  while (!out.empty()) {
    const std::size_t n = std::min<std::size_t>(out.size(), INT_MAX);
    if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
      std::fputs("icegate: OpenSSL RAND_bytes failed; refusing to continue without a CSPRNG\n",
                 stderr);
      std::abort();
    }
    out = out.subspan(n);
  }
}

RandomSource& default_random() {
  static OpenSslRandom rng;
  return rng;
}

bool is_ice_chars(std::string_view s) noexcept {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return kIceChars.find(c) != std::string_view::npos; });
}

Credentials Credentials::generate(RandomSource& rng) {
  Credentials c;
  c.ufrag = random_ice_string(rng, kUfragLength);
  c.pwd = random_ice_string(rng, kPwdLength);
  return c;
}

bool Credentials::valid() const noexcept {
  return ufrag.size() >= 4 && ufrag.size() <= 256 && pwd.size() >= 22 && pwd.size() <= 256 &&
         is_ice_chars(ufrag) && is_ice_chars(pwd);
}

}  // namespace icegate::media::ice
