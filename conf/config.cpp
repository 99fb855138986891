#include "conf/config.hpp"

#include <algorithm>

namespace icegate::conf {

std::string_view to_string(Transport t) {
  switch (t) {
    case Transport::udp: return "udp";
    case Transport::tcp: return "tcp";
    case Transport::tls: return "tls";
    case Transport::ws: return "ws";
    case Transport::wss: return "wss";
  }
  return "?";
}

std::string_view to_string(MediaProfile p) {
  return p == MediaProfile::sdes ? "sdes" : "rtp";
}

std::string Diagnostic::to_string() const {
  return where.to_string() + ": " + (severity == Severity::error ? "error: " : "warning: ") +
         message;
}

namespace {
template <class T>
const T* find_named(const std::vector<T>& v, std::string_view name) {
  auto it = std::find_if(v.begin(), v.end(), [&](const T& x) { return x.name == name; });
  return it == v.end() ? nullptr : &*it;
}
}  // namespace

const User* Config::find_user(std::string_view name) const { return find_named(users, name); }
const Trunk* Config::find_trunk(std::string_view name) const { return find_named(trunks, name); }
const TurnServer* Config::find_turn_server(std::string_view name) const {
  return find_named(turn_servers, name);
}
const Group* Config::find_group(std::string_view name) const { return find_named(groups, name); }

std::shared_ptr<const acl::Acl> Config::find_acl(std::string_view name) const {
  auto it = acls.find(std::string(name));
  return it == acls.end() ? nullptr : it->second;
}

const Route* Config::route_for(std::string_view number) const {
  const Route* best = nullptr;
  for (const auto& r : routes) {
    if (number.substr(0, r.prefix.size()) == r.prefix &&
        (best == nullptr || r.prefix.size() > best->prefix.size())) {
      best = &r;
    }
  }
  return best;
}

}  // namespace icegate::conf
