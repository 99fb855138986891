#include "gateway/cli/stun_cli.hpp"

#include "gateway/stunio/stun_io.hpp"

namespace icegate::gateway {

Expected<std::vector<StunTarget>, std::string> select_stun_targets(
    const conf::Config& cfg, const std::optional<std::string>& server_name,
    const std::optional<std::string>& stun_host_port) {
  if (stun_host_port) {
    auto hp = parse_host_port(*stun_host_port, 3478);
    if (!hp) return unexpected("--stun " + hp.error());
    return std::vector<StunTarget>{{"command line", hp->host, hp->port}};
  }
  std::vector<StunTarget> out;
  for (const auto& s : cfg.stun.servers) {
    if (server_name && s.name != *server_name) continue;
    out.push_back({s.name, s.host, s.port});
  }
  if (out.empty()) {
    if (!server_name) return unexpected(std::string("no STUN server is configured (use --stun HOST[:PORT])"));
    std::string known;
    for (const auto& s : cfg.stun.servers) known += " " + s.name;
    return unexpected("no STUN server named \"" + *server_name + "\" (known:" +
                      (known.empty() ? std::string(" none") : known) + ")");
  }
  return out;
}

}  // namespace icegate::gateway
