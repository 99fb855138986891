// SDES key transport (RFC 4568): the value of an SDP `a=crypto:` line for SRTP, parsed and
// formatted. Pure functions: no I/O, the input is never modified.
//
//   a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20
//
// Supported: one inline master key per line with an optional lifetime, the suites of
// SrtpProfile, and the session parameters that leave the transform unchanged (WSH, FEC_ORDER,
// KDR=0). Lines with MKI, several keys or parameters icegate cannot honour are refused with a
// reason, so the SDP code can try the next a=crypto line (RFC 4568 §7.1.1).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "acl/expected.hpp"
#include "media/srtp/key.hpp"
#include "media/srtp/profile.hpp"

namespace icegate::media::srtp {

struct SdesCrypto {
  std::uint32_t tag = 1;                    // RFC 4568 §9.1: 1*9DIGIT
  SrtpKey key;                              // suite, master key and salt
  std::optional<std::uint64_t> lifetime;    // packets under this key ("2^31" or decimal)
  std::vector<std::string> session_params;  // kept verbatim, in order

  friend bool operator==(const SdesCrypto&, const SdesCrypto&) = default;
};

struct SdesError {
  std::string reason;
  std::size_t column = 0;  // 0-based offset into the attribute value
};

// `value` is what follows "a=crypto:". Surrounding whitespace is ignored.
Expected<SdesCrypto, SdesError> parse_sdes_crypto(std::string_view value);

// The attribute value (without "a=crypto:"), e.g. "1 AES_CM_128_HMAC_SHA1_80 inline:...".
std::string format_sdes_crypto(const SdesCrypto& crypto);

// A new line for an offer or answer: fresh random key material (RAND_bytes).
Expected<SdesCrypto, std::string> make_sdes_crypto(std::uint32_t tag, SrtpProfile profile);

// RFC 4648 §4 base64 with padding via OpenSSL EVP_EncodeBlock / EVP_DecodeBlock. Decoding
// also accepts input without the trailing '=' padding.
std::string base64_encode(std::span<const std::uint8_t> bytes);
std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text);

}  // namespace icegate::media::srtp
