// Where the request being handled came from (address, port, transport), read from the message
// Sofia received: the observed source, not what the Via or Contact claim (NAT).
#pragma once

#include "sip/sofia_fwd.hpp"

#include <optional>
#include <string>

#include "acl/address.hpp"
#include "conf/config.hpp"

namespace icegate::sip {

struct RequestSource {
  acl::Address address;
  std::uint16_t port = 0;
  conf::Transport transport = conf::Transport::udp;
  // A WebSocket phone (transport ws/wss): the port of its bridge connection to the stack on
  // 127.0.0.1, where requests to it go; 0 for every other source.
  std::uint16_t bridge_port = 0;
  std::string to_string() const;
};

// The source of the request nua is delivering right now (only valid inside its event). On a
// WebSocket listener's profile: the browser's real address, or nullopt for a connection that
// is not one of the WebSocket server's (refused by the stack before anyone else sees it).
std::optional<RequestSource> request_source(nua_t* nua);

}  // namespace icegate::sip
