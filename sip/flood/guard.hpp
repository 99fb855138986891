// The SIP edge's protection (behaviour.md §7, docs/security.md): the request rate of each source,
// bans for floods and for password guessing, and users whose password is being guessed. It
// sits on the signalling thread; Stack asks it about every request before the B2BUA sees it
// (Stack::set_gate), the digest checks report their failures to it. Trusted sources (trunks,
// the <security trusted> ACL) are never limited or banned.
#pragma once

#include <functional>
#include <string>

#include "acl/address.hpp"
#include "conf/security.hpp"
#include "sip/call/stats.hpp"
#include "sip/flood/rate_limiter.hpp"

namespace icegate::sip::flood {

struct Admission {
  enum class Action : std::uint8_t { pass, drop, reply_503 } action = Action::pass;
  std::uint32_t retry_after = 0;  // seconds, for reply_503
  bool new_ban = false;           // this request started a ban
};

class EdgeGuard {
 public:
  using Trusted = std::function<bool(const acl::Address&)>;
  explicit EdgeGuard(SipStats& stats) : stats_(stats) {}

  void configure(const conf::Security& s, Trusted trusted);

  // One request from `source`, counted before anything else looks at it.
  Admission admit(const acl::Address& source, Clock::time_point now);
  // A digest check failed (wrong password or unknown user): counted for the source and, when
  // `user` is configured, for the user; at the limits the source is banned / the user locked.
  void auth_failed(const acl::Address& source, const std::string& user, bool known_user,
                   Clock::time_point now);
  // The user's credentials are not accepted now from `source` (too many failures for the user;
  // trusted sources excepted).
  bool user_locked(const std::string& user, const acl::Address& source,
                   Clock::time_point now) const;
  bool trusted(const acl::Address& source) const { return trusted_ && trusted_(source); }

  const RateLimiter& limiter() const { return limiter_; }

 private:
  SipStats& stats_;
  conf::Security settings_;
  Trusted trusted_;
  RateLimiter limiter_;
  FailureCounter by_source_;
  FailureCounter by_user_;
  std::map<std::string, Clock::time_point> locked_users_;
};

}  // namespace icegate::sip::flood
