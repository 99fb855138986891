// Registration bindings of softphones (RFC 3261 §10.3). Pure state: no Sofia types, so it is
// tested directly; sip/b2bua.cpp feeds it from REGISTER requests.
//
// Several contacts per user are kept; a call to the user goes to the most recently refreshed
// binding only (no forking): behind NAT an older binding is the likely stale one.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "acl/address.hpp"
#include "conf/config.hpp"

namespace icegate::sip {

struct Binding {
  std::string user;
  std::string contact;     // the Contact URI as the phone sent it (kept for diagnostics)
  std::string route_uri;   // where calls go: the observed source, e.g. sip:1001@192.0.2.7:61002;transport=udp
  acl::Address source;     // observed source address and port of the REGISTER
  std::uint16_t source_port = 0;
  conf::Transport transport = conf::Transport::udp;
  // A WebSocket phone: its bridge connection's port on 127.0.0.1 (route_uri names it); the
  // binding ends when that connection closes (RFC 7118 §5.3). 0 for other transports.
  std::uint16_t bridge_port = 0;
  std::string profile;     // name of the profile (listener) the REGISTER arrived on
  std::string call_id;
  std::uint32_t cseq = 0;
  bool behind_nat = false;  // see ContactUpdate
  std::chrono::steady_clock::time_point registered;  // last refresh
  std::chrono::steady_clock::time_point expires;
};

struct ContactUpdate {
  std::string uri;                      // Contact URI
  std::optional<std::uint32_t> expires; // Contact ;expires= param, if given
  // The Contact's host and port are not where the REGISTER came from (a NAT, or a phone that
  // put its private address in Contact).
  bool behind_nat = false;
};

struct RegisterRequest {
  std::string user;
  std::vector<ContactUpdate> contacts;  // empty = query
  bool star = false;                    // Contact: *
  std::optional<std::uint32_t> expires; // Expires header
  std::string call_id;
  std::uint32_t cseq = 0;
  acl::Address source;
  std::uint16_t source_port = 0;
  conf::Transport transport = conf::Transport::udp;
  std::uint16_t bridge_port = 0;  // see Binding
  std::string profile;
};

struct RegisterOutcome {
  int status = 200;               // 200, 400 (Contact * misuse), 423 (interval too brief)
  std::string reason;             // for non-200
  std::uint32_t min_expires = 0;  // for 423
  std::vector<Binding> bindings;  // the user's current bindings, for the 200 response
};

class Registrar {
 public:
  using Clock = std::chrono::steady_clock;
  explicit Registrar(conf::Registrar limits) : limits_(limits) {}
  void set_limits(conf::Registrar limits) { limits_ = limits; }

  RegisterOutcome apply(const RegisterRequest& req, Clock::time_point now);
  // The binding a call to `user` goes to, or nullopt when not registered.
  std::optional<Binding> lookup(const std::string& user, Clock::time_point now) const;
  std::vector<Binding> bindings(const std::string& user, Clock::time_point now) const;
  // Every live binding of every user (NAT keep-alive).
  std::vector<Binding> all(Clock::time_point now) const;
  // Drops `user`'s binding of `contact`; false when there is none.
  bool remove(const std::string& user, const std::string& contact);
  // Drops every binding made through WebSocket bridge `bridge_port` of `profile` (its
  // connection closed); returns the users whose binding went.
  std::vector<std::string> remove_connection(const std::string& profile, std::uint16_t bridge_port);
  // Drops expired bindings; returns how many.
  std::size_t expire(Clock::time_point now);
  std::size_t size() const;

 private:
  conf::Registrar limits_;
  std::map<std::string, std::vector<Binding>> by_user_;
};

}  // namespace icegate::sip
