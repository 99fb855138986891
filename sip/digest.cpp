#include "sip/digest.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sofia-sip/auth_digest.h>
#include <sofia-sip/su_alloc.h>
#include <strings.h>

#include <charconv>
#include <memory>

namespace icegate::sip {
namespace {

std::string hex(const unsigned char* p, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < n; ++i) {
    s += kDigits[p[i] >> 4];
    s += kDigits[p[i] & 15];
  }
  return s;
}

struct HomeDeleter {
  void operator()(su_home_t* h) const noexcept { su_home_unref(h); }
};

}  // namespace

DigestAuth::DigestAuth(std::string realm, std::chrono::seconds nonce_ttl)
    : realm_(std::move(realm)), ttl_(nonce_ttl) {
  unsigned char key[32];
  RAND_bytes(key, sizeof key);  // a fresh secret per process: old nonces die with a restart
  secret_.assign(reinterpret_cast<char*>(key), sizeof key);
}

std::string DigestAuth::mac(std::string_view timestamp) const {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
       reinterpret_cast<const unsigned char*>(timestamp.data()), timestamp.size(), out, &len);
  return hex(out, 16);
}

std::string DigestAuth::make_nonce(Clock::time_point now) const {
  const auto ts = std::to_string(
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
  return ts + "." + mac(ts);
}

std::string DigestAuth::challenge(Clock::time_point now, bool stale) const {
  return "Digest realm=\"" + realm_ + "\", nonce=\"" + make_nonce(now) +
         "\", algorithm=MD5, qop=\"auth\"" + (stale ? ", stale=true" : "");
}

DigestAuth::Result DigestAuth::verify(
    const char* const* params, std::string_view method,
    const std::function<std::optional<std::string>(std::string_view)>& password_of,
    Clock::time_point now, std::string* username_out) const {
  std::unique_ptr<su_home_t, HomeDeleter> home(static_cast<su_home_t*>(su_home_new(sizeof(su_home_t))));
  auth_response_t ar{};
  ar.ar_size = sizeof ar;
  if (!params || auth_digest_response_get(home.get(), &ar, params) < 0 || !ar.ar_username ||
      !ar.ar_nonce || !ar.ar_response || !ar.ar_uri || !ar.ar_realm) {
    return Result::malformed;
  }
  if (username_out) *username_out = ar.ar_username;
  if (realm_ != ar.ar_realm) return Result::wrong_realm;
  // Nonce: "<unix seconds>.<mac>" made by us, not older than the ttl.
  const std::string_view nonce = ar.ar_nonce;
  const auto dot = nonce.find('.');
  if (dot == std::string_view::npos) return Result::bad_nonce;
  const auto ts = nonce.substr(0, dot);
  const std::string expected = mac(ts);
  if (nonce.size() - dot - 1 != expected.size() ||
      CRYPTO_memcmp(nonce.data() + dot + 1, expected.data(), expected.size()) != 0) {
    return Result::bad_nonce;
  }
  long long issued = 0;
  std::from_chars(ts.data(), ts.data() + ts.size(), issued);
  const auto age = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count() -
                   issued;
  if (age < -5 || age > ttl_.count()) return Result::stale_nonce;
  auto password = password_of(ar.ar_username);
  if (!password) return Result::unknown_user;
  auth_hexmd5_t ha1, response;
  auth_digest_ha1(ha1, ar.ar_username, realm_.c_str(), password->c_str());
  const std::string method_s(method);
  auth_digest_response(&ar, response, ha1, method_s.c_str(), nullptr, 0);
  if (strcasecmp(response, ar.ar_response) != 0) return Result::wrong_response;
  return Result::ok;
}

std::string_view to_string(DigestAuth::Result r) {
  switch (r) {
    case DigestAuth::Result::ok: return "ok";
    case DigestAuth::Result::malformed: return "malformed credentials";
    case DigestAuth::Result::wrong_realm: return "wrong realm";
    case DigestAuth::Result::unknown_user: return "unknown user";
    case DigestAuth::Result::bad_nonce: return "nonce not issued by us";
    case DigestAuth::Result::stale_nonce: return "stale nonce";
    case DigestAuth::Result::wrong_response: return "wrong password";
  }
  return "?";
}

}  // namespace icegate::sip
