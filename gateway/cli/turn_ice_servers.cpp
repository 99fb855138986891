// `icegate ice-servers -c FILE USER [--json]` and the list behind it.
#include "gateway/cli/turn_ice_servers.hpp"

#include <chrono>
#include <ostream>

#include "gateway/cli/cli.hpp"
#include "gateway/cli/json_output.hpp"
#include "gateway/cli/options.hpp"

namespace icegate::gateway {
namespace po = boost::program_options;

namespace {

std::string host_for_url(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;  // IPv6 literal
}

}  // namespace

std::string stun_url(const conf::StunServer& s) {
  return "stun:" + host_for_url(s.host) + ":" + std::to_string(s.port);
}

std::string turn_url(const conf::TurnServer& s) {
  const std::string scheme = s.transport == conf::Transport::tls ? "turns:" : "turn:";
  const std::string transport = s.transport == conf::Transport::udp ? "udp" : "tcp";
  return scheme + host_for_url(s.host) + ":" + std::to_string(s.port) + "?transport=" + transport;
}

media::stunclient::TurnCredentials turn_credentials(const conf::TurnServer& server,
                                                    std::string_view user, std::int64_t now_unix) {
  if (server.shared_secret) {
    const auto ttl = std::chrono::duration_cast<std::chrono::seconds>(server.credential_ttl).count();
    return media::stunclient::turn_rest_credentials(*server.shared_secret, user, now_unix + ttl);
  }
  return {server.username.value_or(""), server.password.value_or("")};
}

Expected<std::vector<IceServer>, std::string> ice_servers_for(const conf::Config& cfg,
                                                              std::string_view user,
                                                              std::int64_t now_unix) {
  const conf::User* u = cfg.find_user(user);
  if (u == nullptr) return unexpected("no user named \"" + std::string(user) + "\"");
  std::vector<IceServer> out;
  for (const auto& s : cfg.stun.servers) out.push_back({s.name, {stun_url(s)}, {}, {}, {}});
  if (u->group.empty()) return out;
  const conf::Group* g = cfg.find_group(u->group);
  if (g == nullptr) return unexpected("user " + u->name + ": no group named \"" + u->group + "\"");
  for (const auto& name : g->turn_servers) {
    const conf::TurnServer* t = cfg.find_turn_server(name);
    if (t == nullptr) return unexpected("group " + g->name + ": no TURN server named \"" + name + "\"");
    const auto c = turn_credentials(*t, u->name, now_unix);
    IceServer s{t->name, {turn_url(*t)}, c.username, c.password, {}};
    if (t->shared_secret) {
      s.expires = now_unix + std::chrono::duration_cast<std::chrono::seconds>(t->credential_ttl).count();
    }
    out.push_back(std::move(s));
  }
  return out;
}

int cmd_ice_servers(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  po::options_description desc("icegate ice-servers -c FILE USER [--json]");
  desc.add_options()("help,h", "this help")("config,c", po::value<std::string>(),
                                             "configuration file")(
      "user", po::value<std::string>(), "the user (SIP user name)")("json",
                                                                    "RTCIceServer JSON");
  po::positional_options_description pos;
  pos.add("user", 1);
  auto vm = parse_options(args, desc, pos, err);
  if (!vm) return kExitUsage;
  if (vm->count("help")) {
    out << desc
        << "\nPrints the STUN servers and the TURN servers of USER's group, with fresh\n"
           "time-limited credentials for shared-secret servers. Exit code 1 for an unknown user.\n";
    return kExitOk;
  }
  if (!vm->count("config") || !vm->count("user")) {
    err << "icegate ice-servers: needs -c FILE and USER\n" << desc;
    return kExitUsage;
  }
  auto loaded = load_and_report((*vm)["config"].as<std::string>(), err);
  if (!loaded) return kExitFailure;
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  const auto user = (*vm)["user"].as<std::string>();
  auto list = ice_servers_for(*loaded->config, user, now);
  if (!list) {
    err << "icegate ice-servers: " << list.error() << "\n";
    return kExitFailure;
  }
  if (vm->count("json")) {
    Json servers = Json::array();
    for (const auto& s : *list) {
      Json e = Json::object();
      e["urls"] = s.urls;
      if (s.username) e["username"] = *s.username;
      if (s.credential) e["credential"] = *s.credential;
      servers.push_back(std::move(e));
    }
    Json j = Json::object();
    j["iceServers"] = std::move(servers);
    out << json_line(j);
    return kExitOk;
  }
  out << "ICE servers for user " << user << ":\n";
  for (const auto& s : *list) {
    out << "  " << s.name << ": " << s.urls.front();
    if (s.username) out << " username=" << *s.username << " credential=" << *s.credential;
    if (s.expires) out << " (time-limited, valid until unix time " << *s.expires << ")";
    out << "\n";
  }
  if (list->empty()) out << "  (none: no STUN server configured and no TURN server for this user)\n";
  return kExitOk;
}

}  // namespace icegate::gateway
