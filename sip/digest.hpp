// Digest authentication of softphones (RFC 3261 §22, RFC 2617/7616, RFC 8760 SHA-256) with
// nonces that cannot be replayed (docs/security.md):
// - a nonce is "<issued>.<random>.<mac>": the MAC (HMAC-SHA-256, a per-process key) covers the
//   time, the random part and the source address it was issued to, so a nonce is only good
//   from that address and for `nonce_ttl`;
// - with qop=auth each use must carry a higher nonce-count than the last accepted one (RFC 2617
//   §3.2.2); without qop a nonce is good once; an INVITE's nonce is good for one INVITE;
// - the digest uri must be the Request-URI (RFC 2617 §3.2.2.5), or (unless strict) that URI
//   without its user part: credentials for sip:host:port, as sipp sends them, still name no
//   other host, and their nonce is good for one INVITE from one address.
// A right response with an unacceptable nonce is answered with a new challenge and stale=true
// (RFC 2617 §3.2.1): honest phones retry silently. The nonce state (used nonces and their last
// count) is kept only for right responses and dropped once the nonce expires.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "acl/address.hpp"
#include "conf/config.hpp"

namespace icegate::sip {

// H(user:realm:password) in lowercase hex for `alg` (what <user ha1=...> stores).
std::string digest_ha1(conf::DigestAlgorithm alg, std::string_view user, std::string_view realm,
                       std::string_view password);

// What a digest check needs of the request.
struct DigestRequest {
  const char* const* params = nullptr;  // Authorization / Proxy-Authorization au_params, NULL-ended
  std::string_view method;              // "REGISTER", "INVITE"
  std::string_view request_uri;         // the Request-URI as received
  acl::Address source;                  // where the request came from (observed, not Via)
};

struct DigestSettings {
  std::chrono::seconds nonce_ttl{30};
  std::vector<conf::DigestAlgorithm> algorithms{conf::DigestAlgorithm::md5};
  std::size_t max_nonces = 100000;  // used nonces remembered at most (oldest go first)
  // The digest uri must be the Request-URI itself; false: its host-only form is accepted too.
  bool strict_uri = false;
};

class DigestAuth {
 public:
  using Clock = std::chrono::system_clock;
  enum class Result : std::uint8_t {
    ok,
    malformed,  // missing parameters, bad nc: 400
    wrong_realm,
    unknown_user,
    wrong_response,  // wrong password (or a response for another method or uri)
    uri_mismatch,    // digest uri is not the Request-URI
    unsupported,     // algorithm or qop not offered, or no stored hash for the algorithm
    // The response was right but the nonce is not acceptable: a new challenge, stale=true.
    expired_nonce,
    invalid_nonce,  // not issued by this process to this source address
    replayed,       // nonce-count not above the last one, or an INVITE's nonce again
  };
  using Settings = DigestSettings;
  using UserLookup = std::function<const conf::User*(std::string_view)>;

  explicit DigestAuth(std::string realm, Settings settings = {});

  const std::string& realm() const { return realm_; }
  void set_settings(Settings s) { settings_ = std::move(s); }
  const Settings& settings() const { return settings_; }

  // The WWW-Authenticate / Proxy-Authenticate values, one per offered algorithm, in order.
  std::vector<std::string> challenges(Clock::time_point now, const acl::Address& source,
                                      bool stale) const;
  Result verify(const DigestRequest& req, const UserLookup& user_of, Clock::time_point now,
                std::string* username_out = nullptr);

  std::string make_nonce(Clock::time_point now, const acl::Address& source) const;
  std::size_t nonces_tracked() const { return used_.size(); }
  // Answered with a new challenge carrying stale=true.
  static bool stale(Result r) {
    return r == Result::expired_nonce || r == Result::invalid_nonce || r == Result::replayed;
  }
  // A failed password check (counts toward bans).
  static bool failure(Result r) {
    return r == Result::wrong_response || r == Result::unknown_user || r == Result::uri_mismatch;
  }

 private:
  struct Use {
    std::uint32_t last_nc = 0;
    bool invite = false;
    Clock::time_point expires;
  };
  std::string mac(std::string_view issued_and_random, const acl::Address& source) const;
  void forget_expired(Clock::time_point now);

  std::string realm_;
  std::string secret_;
  Settings settings_;
  std::unordered_map<std::string, Use> used_;
  std::deque<std::pair<Clock::time_point, std::string>> order_;  // (expires, nonce), oldest first
};

std::string_view to_string(DigestAuth::Result r);
// The nonces_refused metric label of a stale result ("expired", "invalid", "replayed").
std::string_view nonce_refusal_label(DigestAuth::Result r);

}  // namespace icegate::sip
