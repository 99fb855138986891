// Digest authentication of softphones (RFC 3261 §22, RFC 2617) on top of Sofia's auth_digest
// helpers. Nonces are stateless: a timestamp and an HMAC over it, valid for `nonce_ttl`.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace icegate::sip {

class DigestAuth {
 public:
  using Clock = std::chrono::system_clock;
  enum class Result { ok, malformed, wrong_realm, unknown_user, bad_nonce, stale_nonce, wrong_response };

  DigestAuth(std::string realm, std::chrono::seconds nonce_ttl = std::chrono::seconds(300));

  const std::string& realm() const { return realm_; }

  // Value of a WWW-Authenticate / Proxy-Authenticate header.
  std::string challenge(Clock::time_point now, bool stale = false) const;

  // Checks the au_params of an Authorization / Proxy-Authorization header (Sofia's
  // NULL-terminated parameter list). `password_of` returns the password of a user, if known.
  Result verify(const char* const* params, std::string_view method,
                const std::function<std::optional<std::string>(std::string_view)>& password_of,
                Clock::time_point now, std::string* username_out = nullptr) const;

  std::string make_nonce(Clock::time_point now) const;

 private:
  std::string mac(std::string_view timestamp) const;

  std::string realm_;
  std::string secret_;
  std::chrono::seconds ttl_;
};

std::string_view to_string(DigestAuth::Result r);

}  // namespace icegate::sip
