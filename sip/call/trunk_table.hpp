// The trunks as the call layer sees them: which addresses each resolved to (to recognise a
// request from a trunk), which address is in use (fail-over), up or down (OPTIONS keep-alive).
// Pure state: the Sofia side (sip/trunk_keepalive.cpp) and the resolver feed it.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "acl/address.hpp"
#include "conf/config.hpp"

namespace icegate::sip {

struct TrunkEndpoint {
  acl::Address address;
  std::uint16_t port = 0;
  friend bool operator==(const TrunkEndpoint&, const TrunkEndpoint&) = default;
};

struct TrunkEntry {
  const conf::Trunk* cfg = nullptr;
  std::vector<TrunkEndpoint> resolved;  // every address the trunk's hosts resolved to, with port
  std::size_t current = 0;              // address in use (fail-over moves it)
  bool up = true;                       // OPTIONS keep-alive state
};

class TrunkTable {
 public:
  TrunkTable() = default;
  // Entries for `cfg`'s trunks (the configuration must outlive the table); IP literals are
  // resolved at once, host names wait for set_resolved().
  explicit TrunkTable(std::shared_ptr<const conf::Config> cfg);

  // The trunk a request from `source` over `transport` comes from, or nullptr (a phone): one of
  // the trunk's <source> networks, or one of its addresses and, over UDP, its port too (a phone
  // on the PBX's host is still a phone). Over TCP/TLS the far end connects from any port.
  const TrunkEntry* of_source(const acl::Address& source, std::uint16_t port,
                              conf::Transport transport) const;
  TrunkEntry* named(const std::string& name);
  const TrunkEntry* named(const std::string& name) const;
  // Host names that need resolving (not IP literals).
  std::vector<std::string> host_names() const;
  // The addresses `host` resolved to (empty: it did not resolve).
  void set_resolved(const std::string& host, const std::vector<acl::Address>& addresses);
  std::map<std::string, TrunkEntry>& entries() { return entries_; }

  // "sip:user@host:port;transport=udp" for the trunk's address number `address`.
  static std::string uri(const TrunkEntry& t, std::size_t address, const std::string& user);

 private:
  std::shared_ptr<const conf::Config> cfg_;
  std::map<std::string, TrunkEntry> entries_;
};

}  // namespace icegate::sip
