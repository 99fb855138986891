// The digest check of a REGISTER (RFC 3261 §10.3 step 5, §22; docs/security.md): challenges
// bound to the source address, the digest uri checked against the Request-URI, nonce replay
// refused with stale=true, failures reported to the edge guard.
#pragma once

#include "sip/sofia.hpp"

#include <optional>
#include <string>

#include "conf/config.hpp"
#include "sip/call/stats.hpp"
#include "sip/digest.hpp"
#include "sip/flood/guard.hpp"

namespace icegate::sip {

// The authenticated user of the REGISTER nua is delivering (inside its nua_i_register event),
// or nullopt once it has been answered (401 with challenges, 400, 403).
std::optional<std::string> authenticate_register(nua_t* nua, nua_handle_t* nh, const sip_t* sip,
                                                 DigestAuth& auth, flood::EdgeGuard& guard,
                                                 const conf::Config& cfg, SipStats& stats);

}  // namespace icegate::sip
