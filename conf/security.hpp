// <security> inside <sip> (docs/security.md): digest nonces, per-source flood limits and bans,
// authentication-failure bans. Every limit has a default that suits a small deployment.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace icegate::conf {

enum class DigestAlgorithm : std::uint8_t { md5, sha256 };

struct Security {
  // A nonce is valid this long from the challenge that issued it, from the address it was issued
  // to; an older one is answered with a new challenge and stale=true (RFC 2617 §3.2.1).
  std::chrono::milliseconds nonce_ttl = std::chrono::seconds(30);
  // Challenges offered, in this order (RFC 8760 §2.4: the client uses the first it supports).
  // MD5 alone by default: libre 1.1 (baresip 1.0) fails on a second challenge for its realm.
  std::vector<DigestAlgorithm> digest_algorithms{DigestAlgorithm::md5};
  // The digest uri must be exactly the Request-URI; false (default): the Request-URI without
  // its user part is accepted too (sipp and some clients authenticate toward sip:host:port).
  bool strict_digest_uri = false;
  // Requests per second one source address may send (0 = no limit); over it the source is
  // banned for `ban_time`: its requests are dropped.
  unsigned requests_per_second = 200;
  std::chrono::milliseconds ban_time = std::chrono::seconds(60);
  // The first request dropped in a ban gets 503 with Retry-After (the ban's length) instead of
  // nothing (off: a flood source learns nothing).
  bool reply_503 = false;
  // Failed digest checks (wrong password, unknown user) from one source within `auth_window`
  // before it is banned (0 = never), and for one user (from any source) before that user's
  // credentials stop being accepted for `ban_time` except from trusted sources.
  unsigned auth_failures = 10;
  unsigned user_auth_failures = 30;
  std::chrono::milliseconds auth_window = std::chrono::seconds(60);
  // Sources never limited or banned besides the trunks: the ACL's allowed addresses.
  std::optional<std::string> trusted_acl;
  // How many sources the rate table tracks at most (oldest idle entries go first).
  unsigned max_tracked_sources = 100000;
};

}  // namespace icegate::conf
