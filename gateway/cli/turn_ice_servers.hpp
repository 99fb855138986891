// The ICE server list a provisioning layer hands a user's phone (RTCIceServer shape): the STUN
// servers, then the TURN servers of the user's group, with fresh time-limited credentials for
// servers that use a shared secret (TURN REST API, coturn use-auth-secret).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "acl/expected.hpp"
#include "conf/config.hpp"
#include "media/stunclient/turn_credentials.hpp"

namespace icegate::gateway {

struct IceServer {
  std::string name;  // configured server name
  std::vector<std::string> urls;
  std::optional<std::string> username;
  std::optional<std::string> credential;
  std::optional<std::int64_t> expires;  // unix time, for time-limited credentials
};

// "stun:host:port", "turn:host:port?transport=udp", "turns:host:port?transport=tcp".
std::string stun_url(const conf::StunServer& s);
std::string turn_url(const conf::TurnServer& s);

// The credentials to use with `server` for `user` at `now_unix`.
media::stunclient::TurnCredentials turn_credentials(const conf::TurnServer& server,
                                                    std::string_view user, std::int64_t now_unix);

// Fails when the user is unknown or the group names an unknown TURN server.
Expected<std::vector<IceServer>, std::string> ice_servers_for(const conf::Config& cfg,
                                                              std::string_view user,
                                                              std::int64_t now_unix);

// `icegate ice-servers -c FILE USER [--json]`: prints that list.
int cmd_ice_servers(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace icegate::gateway
