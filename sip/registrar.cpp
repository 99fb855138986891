#include "sip/registrar.hpp"

#include <algorithm>

namespace icegate::sip {
namespace {

std::string route_uri_for(const RegisterRequest& r) {
  if (r.bridge_port) {
    // A WebSocket phone is reached down its own connection: the bridge's end on loopback.
    return "sip:" + r.user + "@127.0.0.1:" + std::to_string(r.bridge_port) + ";transport=tcp";
  }
  const std::string host =
      r.source.is_v4() ? r.source.to_string() : "[" + r.source.to_string() + "]";
  return "sip:" + r.user + "@" + host + ":" + std::to_string(r.source_port) +
         ";transport=" + std::string(conf::to_string(r.transport));
}

}  // namespace

RegisterOutcome Registrar::apply(const RegisterRequest& req, Clock::time_point now) {
  RegisterOutcome out;
  expire(now);
  auto& list = by_user_[req.user];
  const auto secs = [](std::chrono::milliseconds d) {
    return static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(d).count());
  };
  if (req.star) {
    // RFC 3261 §10.3 step 6: "*" only with Expires: 0 and no other contact.
    if (!req.contacts.empty() || !req.expires || *req.expires != 0) {
      out.status = 400;
      out.reason = "Contact: * needs Expires: 0 and no other Contact";
      return out;
    }
    by_user_.erase(req.user);
    return out;
  }
  for (const auto& c : req.contacts) {
    std::uint32_t expires = c.expires.value_or(req.expires.value_or(secs(limits_.default_expires)));
    if (expires != 0 && expires < secs(limits_.min_expires)) {
      out.status = 423;
      out.reason = "Interval Too Brief";
      out.min_expires = secs(limits_.min_expires);
      return out;
    }
    expires = std::min(expires, secs(limits_.max_expires));
    auto it = std::find_if(list.begin(), list.end(), [&](const Binding& b) { return b.contact == c.uri; });
    if (it != list.end() && it->call_id == req.call_id && req.cseq <= it->cseq) {
      continue;  // RFC 3261 §10.3 step 7: an out-of-order refresh is ignored
    }
    if (expires == 0) {
      if (it != list.end()) list.erase(it);
      continue;
    }
    Binding b;
    b.user = req.user;
    b.contact = c.uri;
    b.behind_nat = c.behind_nat;
    b.route_uri = route_uri_for(req);
    b.source = req.source;
    b.source_port = req.source_port;
    b.transport = req.transport;
    b.bridge_port = req.bridge_port;
    b.profile = req.profile;
    b.call_id = req.call_id;
    b.cseq = req.cseq;
    b.registered = now;
    b.expires = now + std::chrono::seconds(expires);
    if (it != list.end()) *it = std::move(b);
    else list.push_back(std::move(b));
  }
  out.bindings = list;
  if (list.empty()) by_user_.erase(req.user);
  return out;
}

std::vector<std::string> Registrar::remove_connection(const std::string& profile,
                                                     std::uint16_t bridge_port) {
  std::vector<std::string> users;
  for (auto it = by_user_.begin(); it != by_user_.end();) {
    auto& list = it->second;
    const auto gone = std::remove_if(list.begin(), list.end(), [&](const Binding& b) {
      return b.bridge_port == bridge_port && b.profile == profile;
    });
    if (gone != list.end()) users.push_back(it->first);
    list.erase(gone, list.end());
    it = list.empty() ? by_user_.erase(it) : std::next(it);
  }
  return users;
}

std::vector<Binding> Registrar::bindings(const std::string& user, Clock::time_point now) const {
  std::vector<Binding> out;
  auto it = by_user_.find(user);
  if (it == by_user_.end()) return out;
  for (const auto& b : it->second) {
    if (b.expires > now) out.push_back(b);
  }
  return out;
}

std::optional<Binding> Registrar::lookup(const std::string& user, Clock::time_point now) const {
  auto list = bindings(user, now);
  if (list.empty()) return std::nullopt;
  return *std::max_element(list.begin(), list.end(), [](const Binding& a, const Binding& b) {
    return a.registered < b.registered;
  });
}

std::vector<Binding> Registrar::all(Clock::time_point now) const {
  std::vector<Binding> out;
  for (const auto& [user, list] : by_user_) {
    for (const auto& b : list) {
      if (b.expires > now) out.push_back(b);
    }
  }
  return out;
}

bool Registrar::remove(const std::string& user, const std::string& contact) {
  auto it = by_user_.find(user);
  if (it == by_user_.end()) return false;
  const auto n = std::erase_if(it->second, [&](const Binding& b) { return b.contact == contact; });
  if (it->second.empty()) by_user_.erase(it);
  return n > 0;
}

std::size_t Registrar::expire(Clock::time_point now) {
  std::size_t n = 0;
  for (auto it = by_user_.begin(); it != by_user_.end();) {
    n += std::erase_if(it->second, [&](const Binding& b) { return b.expires <= now; });
    it = it->second.empty() ? by_user_.erase(it) : std::next(it);
  }
  return n;
}

std::size_t Registrar::size() const {
  std::size_t n = 0;
  for (const auto& [u, list] : by_user_) n += list.size();
  return n;
}

}  // namespace icegate::sip
