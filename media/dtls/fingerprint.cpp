#include "media/dtls/fingerprint.hpp"

#include <openssl/evp.h>

#include <array>

namespace icegate::media::dtls {
namespace {

struct HashInfo {
  HashAlgorithm algorithm;
  std::string_view name;
  std::size_t len;
};
constexpr std::array<HashInfo, 5> kHashes{{{HashAlgorithm::sha1, "sha-1", 20},
                                           {HashAlgorithm::sha224, "sha-224", 28},
                                           {HashAlgorithm::sha256, "sha-256", 32},
                                           {HashAlgorithm::sha384, "sha-384", 48},
                                           {HashAlgorithm::sha512, "sha-512", 64}}};

const HashInfo& hash_info(HashAlgorithm a) noexcept {
  return kHashes[static_cast<std::size_t>(a)];
}

const EVP_MD* evp(HashAlgorithm a) noexcept {
  switch (a) {
    case HashAlgorithm::sha1:
      return EVP_sha1();
    case HashAlgorithm::sha224:
      return EVP_sha224();
    case HashAlgorithm::sha256:
      return EVP_sha256();
    case HashAlgorithm::sha384:
      return EVP_sha384();
    case HashAlgorithm::sha512:
      return EVP_sha512();
  }
  return EVP_sha256();
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
    if ((x >= 'A' && x <= 'Z' ? x | 0x20 : x) != (y >= 'A' && y <= 'Z' ? y | 0x20 : y)) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string_view to_string(HashAlgorithm a) noexcept {
  return hash_info(a).name;
}

Expected<Fingerprint, std::string> Fingerprint::parse(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\r')) {
    v.remove_suffix(1);
  }
  const auto sp = v.find_first_of(" \t");
  if (sp == std::string_view::npos) {
    return unexpected(std::string("expected '<hash-func> <fingerprint>'"));
  }
  const auto name = v.substr(0, sp);
  auto hex = v.substr(sp);
  while (!hex.empty() && (hex.front() == ' ' || hex.front() == '\t')) hex.remove_prefix(1);

  const HashInfo* hi = nullptr;
  for (const auto& h : kHashes) {
    if (iequals(h.name, name)) hi = &h;
  }
  if (hi == nullptr) {
    return unexpected("unsupported hash function '" + std::string(name) + "'");
  }
  Fingerprint f;
  f.algorithm = hi->algorithm;
  // RFC 8122 §5: fingerprint = 2UHEX *(":" 2UHEX)
  for (std::size_t i = 0; i < hex.size(); i += 3) {
    if (i + 2 > hex.size()) return unexpected(std::string("truncated fingerprint"));
    const int hi4 = hex_value(hex[i]), lo4 = hex_value(hex[i + 1]);
    if (hi4 < 0 || lo4 < 0) {
      return unexpected("bad hex digit at offset " + std::to_string(i) + " of the fingerprint");
    }
    if (i + 2 < hex.size() && hex[i + 2] != ':') {
      return unexpected("expected ':' at offset " + std::to_string(i + 2) + " of the fingerprint");
    }
    f.digest.push_back(static_cast<std::uint8_t>(hi4 << 4 | lo4));
  }
  if (f.digest.size() != hi->len) {
    return unexpected(std::string(hi->name) + " fingerprint must have " + std::to_string(hi->len) +
                      " bytes, got " + std::to_string(f.digest.size()));
  }
  return f;
}

Expected<Fingerprint, std::string> Fingerprint::of(X509* certificate, HashAlgorithm algorithm) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (certificate == nullptr || X509_digest(certificate, evp(algorithm), md.data(), &len) != 1) {
    return unexpected(std::string("X509_digest failed"));
  }
  Fingerprint f;
  f.algorithm = algorithm;
  f.digest.assign(md.begin(), md.begin() + len);
  return f;
}

std::string Fingerprint::hex() const {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(digest.size() * 3);
  for (std::size_t i = 0; i < digest.size(); ++i) {
    if (i != 0) out += ':';
    out += kDigits[digest[i] >> 4];
    out += kDigits[digest[i] & 0x0f];
  }
  return out;
}

std::string Fingerprint::to_string() const {
  return std::string(dtls::to_string(algorithm)) + " " + hex();
}

}  // namespace icegate::media::dtls
