// TURN credentials: long-term (RFC 8656 §9.2, RFC 5389 §10.2) and the time-limited ones of the
// TURN REST API convention that coturn's use-auth-secret implements
// (draft-uberti-behave-turn-rest-00 §2.2): username "<expiry unix time>:<user>",
// password base64(HMAC-SHA1(shared secret, username)).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace icegate::media::stunclient {

struct TurnCredentials {
  std::string username;
  std::string password;
};

TurnCredentials turn_rest_credentials(std::string_view shared_secret, std::string_view user,
                                      std::int64_t expiry_unix_time);

// Standard base64 with padding (RFC 4648 §4).
std::string base64(std::string_view bytes);

}  // namespace icegate::media::stunclient
