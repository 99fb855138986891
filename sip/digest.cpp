#include "sip/digest.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sofia-sip/auth_digest.h>
#include <sofia-sip/su_alloc.h>
#include <sofia-sip/url.h>
#include <strings.h>

#include <algorithm>
#include <charconv>
#include <memory>

#include "conf/security_values.hpp"

namespace icegate::sip {
namespace {

std::string hex(const unsigned char* p, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  s.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    s += kDigits[p[i] >> 4];
    s += kDigits[p[i] & 15];
  }
  return s;
}

std::string hash_hex(conf::DigestAlgorithm alg, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len,
             alg == conf::DigestAlgorithm::sha256 ? EVP_sha256() : EVP_md5(), nullptr);
  return hex(out, len);
}

struct HomeDeleter {
  void operator()(su_home_t* h) const noexcept { su_home_unref(h); }
};
using HomePtr = std::unique_ptr<su_home_t, HomeDeleter>;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool same_text(const char* a, const char* b) {
  return (!a && !b) || (a && b && strcasecmp(a, b) == 0);
}

// RFC 2617 §3.2.2.5: the digest-uri names the same resource as the Request-URI. Compared as
// parsed SIP URIs (RFC 3261 §19.1.4), or as text when either does not parse. Unless `strict`,
// the Request-URI without its user part is accepted too: sipp (and some PBX-minded clients)
// authenticate toward the server's address, sip:host:port, whatever number they call.
bool same_uri(su_home_t* home, std::string_view digest_uri, std::string_view request_uri,
              bool strict) {
  const std::string a(digest_uri), b(request_uri);
  const url_t* ua = url_make(home, a.c_str());
  const url_t* ub = url_make(home, b.c_str());
  if (!ua || !ub || ua->url_type == url_unknown || ub->url_type == url_unknown) {
    return strcasecmp(a.c_str(), b.c_str()) == 0;
  }
  if (url_cmp_all(ua, ub) == 0) return true;
  return !strict && !ua->url_user && ub->url_user && ua->url_type == ub->url_type &&
         same_text(ua->url_host, ub->url_host) && same_text(ua->url_port, ub->url_port) &&
         !ua->url_params && !ua->url_headers;
}

}  // namespace

std::string digest_ha1(conf::DigestAlgorithm alg, std::string_view user, std::string_view realm,
                       std::string_view password) {
  std::string a1;
  a1.append(user).append(":").append(realm).append(":").append(password);
  return hash_hex(alg, a1);
}

DigestAuth::DigestAuth(std::string realm, Settings settings)
    : realm_(std::move(realm)), settings_(std::move(settings)) {
  unsigned char key[32];
  RAND_bytes(key, sizeof key);  // a fresh secret per process: old nonces die with a restart
  secret_.assign(reinterpret_cast<char*>(key), sizeof key);
}

std::string DigestAuth::mac(std::string_view issued_and_random, const acl::Address& source) const {
  // The source address is part of what is signed: the nonce is only good from there.
  std::string data(issued_and_random);
  data += '|';
  data += source.to_string();
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return hex(out, 16);
}

std::string DigestAuth::make_nonce(Clock::time_point now, const acl::Address& source) const {
  unsigned char rnd[8];
  RAND_bytes(rnd, sizeof rnd);  // every challenge a distinct nonce: one-time use can be tracked
  const auto ts = std::to_string(
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
  const std::string body = ts + "." + hex(rnd, sizeof rnd);
  return body + "." + mac(body, source);
}

std::vector<std::string> DigestAuth::challenges(Clock::time_point now, const acl::Address& source,
                                                bool stale) const {
  std::vector<std::string> out;
  for (const auto alg : settings_.algorithms) {
    // RFC 8760 §2.4: one challenge per algorithm, each with its own nonce.
    out.push_back("Digest realm=\"" + realm_ + "\", nonce=\"" + make_nonce(now, source) +
                  "\", algorithm=" + std::string(conf::to_string(alg)) + ", qop=\"auth\"" +
                  (stale ? ", stale=true" : ""));
  }
  return out;
}

void DigestAuth::forget_expired(Clock::time_point now) {
  while (!order_.empty() && (order_.front().first <= now || used_.size() > settings_.max_nonces)) {
    auto it = used_.find(order_.front().second);
    if (it != used_.end() && it->second.expires == order_.front().first) used_.erase(it);
    order_.pop_front();
  }
}

DigestAuth::Result DigestAuth::verify(const DigestRequest& req, const UserLookup& user_of,
                                      Clock::time_point now, std::string* username_out) {
  HomePtr home(static_cast<su_home_t*>(su_home_new(sizeof(su_home_t))));
  auth_response_t ar{};
  ar.ar_size = sizeof ar;
  if (!req.params || auth_digest_response_get(home.get(), &ar, req.params) < 0 || !ar.ar_username ||
      !ar.ar_nonce || !ar.ar_response || !ar.ar_uri || !ar.ar_realm) {
    return Result::malformed;
  }
  if (username_out) *username_out = ar.ar_username;
  if (realm_ != ar.ar_realm) return Result::wrong_realm;

  conf::DigestAlgorithm alg = conf::DigestAlgorithm::md5;
  if (ar.ar_algorithm && strcasecmp(ar.ar_algorithm, "SHA-256") == 0) {
    alg = conf::DigestAlgorithm::sha256;
  } else if (ar.ar_algorithm && strcasecmp(ar.ar_algorithm, "MD5") != 0) {
    return Result::unsupported;  // MD5-sess, SHA-512-256, ...: never offered
  }
  std::uint32_t nc = 0;
  const bool qop = ar.ar_qop != nullptr;
  if (qop) {
    if (strcasecmp(ar.ar_qop, "auth") != 0) return Result::unsupported;  // auth-int: not offered
    // RFC 2617 §3.2.2: nc is 8 hex digits, cnonce is required with qop.
    const std::string_view ncs = ar.ar_nc ? ar.ar_nc : "";
    if (ncs.size() != 8 || !ar.ar_cnonce ||
        std::from_chars(ncs.data(), ncs.data() + ncs.size(), nc, 16).ptr !=
            ncs.data() + ncs.size()) {
      return Result::malformed;
    }
  }
  if (!same_uri(home.get(), ar.ar_uri, req.request_uri, settings_.strict_uri)) {
    return Result::uri_mismatch;
  }

  const conf::User* user = user_of(ar.ar_username);
  if (!user) return Result::unknown_user;
  std::string ha1;
  if (!user->password.empty()) {
    ha1 = digest_ha1(alg, ar.ar_username, realm_, user->password);
  } else {
    ha1 = alg == conf::DigestAlgorithm::sha256 ? user->ha1_sha256 : user->ha1;
    if (ha1.empty()) return Result::unsupported;  // no stored hash for this algorithm
  }
  const std::string ha2 = hash_hex(alg, std::string(req.method) + ":" + ar.ar_uri);
  const std::string expected = qop ? hash_hex(alg, ha1 + ":" + ar.ar_nonce + ":" + ar.ar_nc + ":" +
                                                       ar.ar_cnonce + ":" + ar.ar_qop + ":" + ha2)
                                   : hash_hex(alg, ha1 + ":" + ar.ar_nonce + ":" + ha2);
  const std::string got = lower(ar.ar_response);
  if (got.size() != expected.size() ||
      CRYPTO_memcmp(got.data(), expected.data(), expected.size()) != 0) {
    return Result::wrong_response;
  }

  // The client knows the password; now the nonce: ours, for this source, fresh, not replayed.
  const std::string_view nonce = ar.ar_nonce;
  const auto last_dot = nonce.rfind('.');
  const auto first_dot = nonce.find('.');
  if (last_dot == std::string_view::npos || first_dot == last_dot) return Result::invalid_nonce;
  const std::string want = mac(nonce.substr(0, last_dot), req.source);
  const auto tag = nonce.substr(last_dot + 1);
  if (tag.size() != want.size() || CRYPTO_memcmp(tag.data(), want.data(), want.size()) != 0) {
    return Result::invalid_nonce;
  }
  long long issued = 0;
  const auto ts = nonce.substr(0, first_dot);
  std::from_chars(ts.data(), ts.data() + ts.size(), issued);
  const long long age =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count() - issued;
  if (age < -5 || age > settings_.nonce_ttl.count()) return Result::expired_nonce;

  forget_expired(now);
  const std::string key(nonce);
  auto it = used_.find(key);
  const bool invite = req.method == "INVITE";
  if (it != used_.end()) {
    // RFC 2617 §3.2.2: a repeated nonce-count is a replay; without qop the nonce is single-use.
    if (!qop || nc <= it->second.last_nc || (invite && it->second.invite)) return Result::replayed;
    it->second.last_nc = nc;
    it->second.invite = it->second.invite || invite;
    return Result::ok;
  }
  // Valid while the age in whole seconds is at most the ttl: until issued + ttl + 1 s. The state
  // must live as long, or a replay just before the end would find none.
  const auto expires = Clock::time_point(std::chrono::seconds(issued)) + settings_.nonce_ttl +
                       std::chrono::seconds(1);
  used_.emplace(key, Use{nc, invite, expires});
  order_.emplace_back(expires, key);
  forget_expired(now);  // over max_nonces: the oldest go
  return Result::ok;
}

std::string_view to_string(DigestAuth::Result r) {
  switch (r) {
    case DigestAuth::Result::ok:
      return "ok";
    case DigestAuth::Result::malformed:
      return "malformed credentials";
    case DigestAuth::Result::wrong_realm:
      return "wrong realm";
    case DigestAuth::Result::unknown_user:
      return "unknown user";
    case DigestAuth::Result::wrong_response:
      return "wrong password";
    case DigestAuth::Result::uri_mismatch:
      return "digest uri is not the Request-URI";
    case DigestAuth::Result::unsupported:
      return "algorithm or qop not offered";
    case DigestAuth::Result::expired_nonce:
      return "stale nonce";
    case DigestAuth::Result::invalid_nonce:
      return "nonce not issued by us to this address";
    case DigestAuth::Result::replayed:
      return "nonce replayed";
  }
  return "?";
}

std::string_view nonce_refusal_label(DigestAuth::Result r) {
  switch (r) {
    case DigestAuth::Result::expired_nonce:
      return "expired";
    case DigestAuth::Result::invalid_nonce:
      return "invalid";
    case DigestAuth::Result::replayed:
      return "replayed";
    default:
      return "other";
  }
}

}  // namespace icegate::sip
