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
  std::string to_string() const;
};

// The source of the request nua is delivering right now (only valid inside its event).
std::optional<RequestSource> request_source(nua_t* nua);

}  // namespace icegate::sip
