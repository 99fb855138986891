#include "sip/call/trunk_table.hpp"

#include <algorithm>

namespace icegate::sip {

TrunkTable::TrunkTable(std::shared_ptr<const conf::Config> cfg) : cfg_(std::move(cfg)) {
  for (const auto& tc : cfg_->trunks) {
    TrunkEntry& t = entries_[tc.name];
    t.cfg = &tc;
    for (const auto& a : tc.addresses) {
      if (auto ip = acl::Address::parse(a.host)) t.resolved.push_back({*ip, a.port});
    }
  }
}

const TrunkEntry* TrunkTable::of_source(const acl::Address& source, std::uint16_t port,
                                        conf::Transport transport) const {
  const bool any_port = transport != conf::Transport::udp;
  for (const auto& [name, t] : entries_) {
    for (const auto& e : t.resolved) {
      if (e.address == source && (any_port || e.port == port)) return &t;
    }
    for (const auto& net : t.cfg->sources) {
      if (net.contains(source)) return &t;
    }
  }
  return nullptr;
}

TrunkEntry* TrunkTable::named(const std::string& name) {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : &it->second;
}

const TrunkEntry* TrunkTable::named(const std::string& name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : &it->second;
}

std::vector<std::string> TrunkTable::host_names() const {
  std::vector<std::string> out;
  for (const auto& [name, t] : entries_) {
    for (const auto& a : t.cfg->addresses) {
      if (!acl::Address::parse(a.host) && std::find(out.begin(), out.end(), a.host) == out.end()) {
        out.push_back(a.host);
      }
    }
  }
  return out;
}

void TrunkTable::set_resolved(const std::string& host, const std::vector<acl::Address>& addresses) {
  for (auto& [name, t] : entries_) {
    for (const auto& configured : t.cfg->addresses) {
      if (configured.host != host) continue;
      for (const auto& a : addresses) {
        const TrunkEndpoint e{a, configured.port};
        if (std::find(t.resolved.begin(), t.resolved.end(), e) == t.resolved.end()) {
          t.resolved.push_back(e);
        }
      }
    }
  }
}

std::string TrunkTable::uri(const TrunkEntry& t, std::size_t address, const std::string& user) {
  const auto& a = t.cfg->addresses.at(std::min(address, t.cfg->addresses.size() - 1));
  const bool v6 = a.host.find(':') != std::string::npos;
  return "sip:" + (user.empty() ? std::string() : user + "@") + (v6 ? "[" + a.host + "]" : a.host) +
         ":" + std::to_string(a.port) +
         ";transport=" + std::string(conf::to_string(t.cfg->transport));
}

}  // namespace icegate::sip
