#include "sip/call/trunk_table.hpp"

#include <algorithm>

namespace icegate::sip {

TrunkTable::TrunkTable(std::shared_ptr<const conf::Config> cfg) : cfg_(std::move(cfg)) {
  for (const auto& tc : cfg_->trunks) {
    TrunkEntry& t = entries_[tc.name];
    t.cfg = &tc;
    for (const auto& a : tc.addresses) {
      if (auto ip = acl::Address::parse(a.host)) t.resolved.push_back(*ip);
    }
  }
}

const TrunkEntry* TrunkTable::of_source(const acl::Address& source) const {
  for (const auto& [name, t] : entries_) {
    if (std::find(t.resolved.begin(), t.resolved.end(), source) != t.resolved.end()) return &t;
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
      if (!acl::Address::parse(a.host) &&
          std::find(out.begin(), out.end(), a.host) == out.end()) {
        out.push_back(a.host);
      }
    }
  }
  return out;
}

void TrunkTable::set_resolved(const std::string& host, const std::vector<acl::Address>& addresses) {
  for (auto& [name, t] : entries_) {
    const bool uses = std::any_of(t.cfg->addresses.begin(), t.cfg->addresses.end(),
                                  [&](const conf::TrunkAddress& a) { return a.host == host; });
    if (!uses) continue;
    for (const auto& a : addresses) {
      if (std::find(t.resolved.begin(), t.resolved.end(), a) == t.resolved.end()) {
        t.resolved.push_back(a);
      }
    }
  }
}

std::string TrunkTable::uri(const TrunkEntry& t, std::size_t address, const std::string& user) {
  const auto& a = t.cfg->addresses.at(std::min(address, t.cfg->addresses.size() - 1));
  const bool v6 = a.host.find(':') != std::string::npos;
  return "sip:" + (user.empty() ? std::string() : user + "@") + (v6 ? "[" + a.host + "]" : a.host) +
         ":" + std::to_string(a.port) + ";transport=" + std::string(conf::to_string(t.cfg->transport));
}

}  // namespace icegate::sip
