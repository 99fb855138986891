// Parsing of the <security> values and of users' stored digest hashes (docs/security.md).
// Pure functions; each error is a sentence the loader prefixes with file:line.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "acl/expected.hpp"
#include "conf/security.hpp"

namespace icegate::conf {

// "MD5", "SHA-256", or both separated by spaces or commas, in the order they are offered.
Expected<std::vector<DigestAlgorithm>, std::string> parse_digest_algorithms(std::string_view text);
// A hex digest of `bytes` bytes (16: MD5, 32: SHA-256), returned in lowercase.
Expected<std::string, std::string> parse_hex_digest(std::string_view text, std::size_t bytes);
std::string_view to_string(DigestAlgorithm a);  // "MD5", "SHA-256" (RFC 8760 §2 names)

}  // namespace icegate::conf
