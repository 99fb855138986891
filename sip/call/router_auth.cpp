// The router's part of the SIP edge's protection: the <security> settings, and the digest check
// of a phone's INVITE (RFC 3261 §22.3, docs/security.md).
#include "sip/call/router.hpp"

#include "sip/log.hpp"

namespace icegate::sip {

DigestAuth::Settings digest_settings(const conf::Security& s) {
  DigestAuth::Settings d;
  d.nonce_ttl = std::chrono::duration_cast<std::chrono::seconds>(s.nonce_ttl);
  d.algorithms = s.digest_algorithms;
  d.strict_uri = s.strict_digest_uri;
  return d;
}

void CallRouter::set_config(std::shared_ptr<const conf::Config> cfg) {
  cfg_ = std::move(cfg);
  const auto& sec = cfg_->sip.security;
  auth_.set_settings(digest_settings(sec));
  trusted_acl_ = sec.trusted_acl ? cfg_->find_acl(*sec.trusted_acl) : nullptr;
  if (sec.trusted_acl && !trusted_acl_) {
    log().error("<security trusted=\"{}\">: no such acl; only trunks are trusted",
                *sec.trusted_acl);
  }
  guard_.configure(sec, [this](const acl::Address& a) {
    // A trunk's address (any port: over TCP the far end connects from any) or its <source>
    // networks, or the operator's trusted ACL.
    if (trunks_.of_source(a, 0, conf::Transport::tcp)) return true;
    return trusted_acl_ && trusted_acl_->check(a).allowed();
  });
}

std::optional<std::string> CallRouter::authenticated_user(LegId leg, const InboundRequest& req) {
  // RFC 3261 §22.3: a phone proves who it is to the B2BUA as to a proxy (407).
  const auto now_wall = DigestAuth::Clock::now();
  const acl::Address source = req.source->address.address;
  const auto challenge = [&](bool stale) -> std::optional<std::string> {
    LegLink owned(signalling_, leg);
    Reply r{407, "Proxy Authentication Required", {}, {}, {}, {}};
    r.proxy_authenticate = auth_.challenges(now_wall, source, stale);
    signalling_.respond(leg, r);
    return std::nullopt;
  };
  const auto refuse = [&](int status, const char* phrase) -> std::optional<std::string> {
    LegLink owned(signalling_, leg);
    ++stats_.invites_rejected[{status, "auth"}];
    signalling_.respond(leg, Reply{status, phrase, {}, {}, {}, {}});
    return std::nullopt;
  };
  if (req.proxy_authorization.empty()) return challenge(false);
  std::vector<const char*> params;
  for (const auto& p : req.proxy_authorization) params.push_back(p.c_str());
  params.push_back(nullptr);
  std::string user;
  const DigestRequest dr{params.data(), "INVITE", req.request_uri, source};
  const auto r = auth_.verify(
      dr, [&](std::string_view name) { return cfg_->find_user(name); }, now_wall, &user);
  if (DigestAuth::stale(r)) {
    // The password was right: an old, moved or replayed nonce. An honest phone retries silently.
    ++stats_.nonces_refused[std::string(nonce_refusal_label(r))];
    log().info("INVITE {} from {} as {}: {}, challenged again (stale)", req.call_id,
               req.source->to_string(), user, to_string(r));
    return challenge(true);
  }
  if (r != DigestAuth::Result::ok) {
    ++stats_.auth_failures["INVITE"];
    log().warn("INVITE from {} as {}: authentication failed: {}", req.source->to_string(), user,
               to_string(r));
    if (DigestAuth::failure(r)) {
      guard_.auth_failed(source, user, cfg_->find_user(user) != nullptr, flood::Clock::now());
    }
    if (r == DigestAuth::Result::malformed || r == DigestAuth::Result::uri_mismatch) {
      return refuse(400, "Bad Request");  // RFC 2617 §3.2.2.5
    }
    return challenge(false);
  }
  if (guard_.user_locked(user, source, flood::Clock::now())) {
    log().warn("INVITE from {} as {}: refused, the user is locked (password guessing)",
               req.source->to_string(), user);
    return refuse(403, "Forbidden");
  }
  return user;
}

}  // namespace icegate::sip
