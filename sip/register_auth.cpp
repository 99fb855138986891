#include "sip/register_auth.hpp"

#include <sofia-sip/url.h>

#include "sip/log.hpp"
#include "sip/request_info.hpp"

namespace icegate::sip {

std::optional<std::string> authenticate_register(nua_t* nua, nua_handle_t* nh, const sip_t* sip,
                                                 DigestAuth& auth, flood::EdgeGuard& guard,
                                                 const conf::Config& cfg, SipStats& stats) {
  const auto src = request_source(nua);
  const acl::Address source = src ? src->address : acl::Address{};
  const std::string where = src ? src->to_string() : std::string("?");
  const auto now_wall = DigestAuth::Clock::now();
  const auto challenge = [&](bool stale) -> std::optional<std::string> {
    const auto c = auth.challenges(now_wall, source, stale);
    // One challenge per digest algorithm (RFC 8760 §2.4): two at most.
    nua_respond(
        nh, SIP_401_UNAUTHORIZED, NUTAG_WITH_THIS(nua),
        TAG_IF(c.size() > 0, SIPTAG_WWW_AUTHENTICATE_STR(c.size() > 0 ? c[0].c_str() : nullptr)),
        TAG_IF(c.size() > 1, SIPTAG_WWW_AUTHENTICATE_STR(c.size() > 1 ? c[1].c_str() : nullptr)),
        TAG_END());
    return std::nullopt;
  };
  const auto refuse = [&](int status, const char* phrase) -> std::optional<std::string> {
    nua_respond(nh, status, phrase, NUTAG_WITH_THIS(nua), TAG_END());
    return std::nullopt;
  };
  if (!sip->sip_authorization) return challenge(false);
  char uri[1024] = "";
  if (sip->sip_request) {
    const auto n = url_e(uri, sizeof uri, sip->sip_request->rq_url);
    if (n < 0 || static_cast<std::size_t>(n) >= sizeof uri) uri[0] = '\0';
  }
  std::string user;
  const DigestRequest req{sip->sip_authorization->au_params, "REGISTER", uri, source};
  const auto result = auth.verify(
      req, [&](std::string_view name) { return cfg.find_user(name); }, now_wall, &user);
  if (DigestAuth::stale(result)) {
    ++stats.nonces_refused[std::string(nonce_refusal_label(result))];
    log().info("REGISTER for {} from {}: {}, challenged again (stale)", user, where,
               to_string(result));
    return challenge(true);
  }
  if (result != DigestAuth::Result::ok) {
    ++stats.auth_failures["REGISTER"];
    log().warn("REGISTER for {} from {} refused: {}", user, where, to_string(result));
    if (DigestAuth::failure(result) && src) {
      guard.auth_failed(source, user, cfg.find_user(user) != nullptr, flood::Clock::now());
    }
    if (result == DigestAuth::Result::malformed || result == DigestAuth::Result::uri_mismatch) {
      return refuse(SIP_400_BAD_REQUEST);  // RFC 2617 §3.2.2.5
    }
    return challenge(false);
  }
  if (guard.user_locked(user, source, flood::Clock::now())) {
    log().warn("REGISTER for {} from {} refused: the user is locked (password guessing)", user,
               where);
    return refuse(SIP_403_FORBIDDEN);
  }
  return user;
}

}  // namespace icegate::sip
