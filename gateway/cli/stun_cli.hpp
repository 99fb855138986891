// Which STUN servers the operator commands (stun-check, nat-detect) ask.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "acl/expected.hpp"
#include "conf/config.hpp"

namespace icegate::gateway {

struct StunTarget {
  std::string name;   // configured name, or "command line"
  std::string host;
  std::uint16_t port = 3478;
  std::string label() const { return host + ":" + std::to_string(port); }
};

// --stun HOST[:PORT] wins, then --server NAME, else every configured server.
Expected<std::vector<StunTarget>, std::string> select_stun_targets(
    const conf::Config& cfg, const std::optional<std::string>& server_name,
    const std::optional<std::string>& stun_host_port);

}  // namespace icegate::gateway
