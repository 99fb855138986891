// Certificate fingerprints as carried by SDP a=fingerprint (RFC 8122 §5):
//   a=fingerprint:sha-256 AB:CD:...:EF
// Parsing is a pure function; computing one reads an X509 (X509_digest).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/x509.h>

#include "acl/expected.hpp"

namespace icegate::media::dtls {

// Listed from weakest to strongest; RFC 8122 §5 forbids md2/md5, so they are refused.
enum class HashAlgorithm : std::uint8_t { sha1, sha224, sha256, sha384, sha512 };

std::string_view to_string(HashAlgorithm a) noexcept;  // "sha-256"

struct Fingerprint {
  HashAlgorithm algorithm = HashAlgorithm::sha256;
  std::vector<std::uint8_t> digest;

  // "sha-256 AB:CD:..." (the attribute value). Hash names are case-insensitive, hex digits may
  // be either case; the digest length must match the hash.
  static Expected<Fingerprint, std::string> parse(std::string_view attribute_value);
  // The fingerprint of a DER-encoded certificate.
  static Expected<Fingerprint, std::string> of(X509* certificate, HashAlgorithm algorithm);

  std::string hex() const;        // "AB:CD:..." (upper case, RFC 8122 §5 UHEX)
  std::string to_string() const;  // "sha-256 AB:CD:..."

  friend bool operator==(const Fingerprint&, const Fingerprint&) = default;
};

}  // namespace icegate::media::dtls
