// Trunks: address resolution, OPTIONS keep-alive with up/down state and fail-over, and
// registration with credentials (401/407 answered, refreshed by nua, back-off on failure).
#include <netdb.h>
#include <strings.h>

#include "sip/b2bua.hpp"
#include "sip/log.hpp"

namespace icegate::sip {
namespace {

constexpr std::chrono::seconds kMaxRegisterBackoff{300};

// Resolves a trunk host once (at start or reload), for recognising calls from the trunk.
std::vector<acl::Address> resolve(const std::string& host) {
  std::vector<acl::Address> out;
  if (auto a = acl::Address::parse(host)) {
    out.push_back(*a);
    return out;
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0) return out;
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    char buf[64] = {};
    if (ai->ai_family == AF_INET) {
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr, buf, sizeof buf);
    } else if (ai->ai_family == AF_INET6) {
      inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr, buf, sizeof buf);
    }
    if (auto a = acl::Address::parse(buf)) out.push_back(*a);
  }
  freeaddrinfo(res);
  return out;
}

void on_options_timer(Stack* /*s*/, su_timer_t* /*t*/, su_timer_arg_t* arg) {
  auto* t = reinterpret_cast<TrunkState*>(arg);
  t->owner->trunk_options(*t);
}

void on_register_timer(Stack* /*s*/, su_timer_t* /*t*/, su_timer_arg_t* arg) {
  auto* t = reinterpret_cast<TrunkState*>(arg);
  t->owner->trunk_register(*t);
}


}  // namespace

std::string B2bua::trunk_uri(const TrunkState& t, std::size_t address,
                             const std::string& user) const {
  const auto& a = t.cfg->addresses.at(std::min(address, t.cfg->addresses.size() - 1));
  const bool v6 = a.host.find(':') != std::string::npos;
  return "sip:" + (user.empty() ? std::string() : user + "@") + (v6 ? "[" + a.host + "]" : a.host) +
         ":" + std::to_string(a.port) + ";transport=" + std::string(conf::to_string(t.cfg->transport));
}

TrunkState* B2bua::trunk_of_source(const acl::Address& a) {
  for (auto& [name, t] : trunks_) {
    for (const auto& r : t.resolved) {
      if (r == a) return &t;
    }
  }
  return nullptr;
}

TrunkState* B2bua::trunk_named(const std::string& name) {
  auto it = trunks_.find(name);
  return it == trunks_.end() ? nullptr : &it->second;
}

void B2bua::start_trunks() {
  for (const auto& tc : cfg_->trunks) {
    TrunkState& t = trunks_[tc.name];
    t.owner = this;
    t.cfg = &tc;
    for (const auto& a : tc.addresses) {
      auto r = resolve(a.host);
      if (r.empty()) log().warn("trunk {}: cannot resolve {}", tc.name, a.host);
      t.resolved.insert(t.resolved.end(), r.begin(), r.end());
    }
    if (tc.options_interval.count() > 0) trunk_options(t);
    if (tc.registration) trunk_register(t);
  }
}

void B2bua::stop_trunks() {
  for (auto& [name, t] : trunks_) {
    t.options_timer.reset();
    t.register_timer.reset();
    if (t.register_handle && t.registered) nua_unregister(t.register_handle.get(), TAG_END());
    t.options_handle.reset();
  }
}

void B2bua::trunk_options(TrunkState& t) {
  if (stopping_) return;
  Profile* p = stack_.profile_for(t.cfg->transport);
  if (!p) return;
  const std::string uri = trunk_uri(t, t.current, "");
  t.options_handle = Handle(nua_handle(p->nua, nullptr, SIPTAG_TO_STR(uri.c_str()), TAG_END()));
  nua_options(t.options_handle.get(), NUTAG_URL(uri.c_str()), TAG_END());
  if (!t.options_timer) t.options_timer.reset(su_timer_create(su_root_task(stack_.root()), 0));
  su_timer_set_interval(t.options_timer.get(), on_options_timer,
                        reinterpret_cast<su_timer_arg_t*>(&t),
                        static_cast<su_duration_t>(t.cfg->options_interval.count()));
}

void B2bua::trunk_register(TrunkState& t) {
  if (stopping_) return;
  Profile* p = stack_.profile_for(t.cfg->transport);
  if (!p) return;
  const auto& reg = *t.cfg->registration;
  const std::string domain = reg.domain.empty() ? t.cfg->addresses.at(t.current).host : reg.domain;
  const std::string aor = "sip:" + reg.username + "@" + domain;
  const std::string registrar = trunk_uri(t, t.current, "");
  const std::string expires =
      std::to_string(std::chrono::duration_cast<std::chrono::seconds>(reg.expires).count());
  t.register_handle = Handle(nua_handle(p->nua, nullptr, SIPTAG_TO_STR(aor.c_str()),
                                        SIPTAG_FROM_STR(aor.c_str()), TAG_END()));
  // nua refreshes the registration before it expires (RFC 3261 §10.2.4).
  nua_register(t.register_handle.get(), NUTAG_REGISTRAR(registrar.c_str()),
               NUTAG_M_USERNAME(reg.username.c_str()), SIPTAG_EXPIRES_STR(expires.c_str()),
               TAG_END());
  log().info("trunk {}: registering {} at {}", t.cfg->name, aor, registrar);
}

void B2bua::on_trunk_response(TrunkState& t, bool is_register, nua_handle_t* nh, int status,
                              const sip_t* sip) {
  if (status < 200) return;
  if (!is_register) {
    // Any answer, even 4xx, proves the trunk is alive; 408 and 5xx do not.
    const bool up = status < 500 && status != 408;
    if (up != t.up) {
      log().warn("trunk {} address {} is {} (OPTIONS answered {})", t.cfg->name,
                 t.cfg->addresses[t.current].host, up ? "up" : "DOWN", status);
    }
    t.up = up;
    if (!up && t.cfg->addresses.size() > 1) {
      t.current = (t.current + 1) % t.cfg->addresses.size();
      log().warn("trunk {}: failing over to {}", t.cfg->name, t.cfg->addresses[t.current].host);
    }
    return;
  }
  const auto& reg = *t.cfg->registration;
  if ((status == 401 || status == 407) && sip && nh && !t.auth_sent) {
    t.auth_sent = true;
    const std::string cred =
        "Digest:" + challenge_realm(status == 401 ? sip->sip_www_authenticate : sip->sip_proxy_authenticate) +
        ":" + reg.username + ":" + reg.password;
    nua_authenticate(nh, NUTAG_AUTH(cred.c_str()), TAG_END());
    return;
  }
  t.auth_sent = false;
  if (status < 300) {
    if (!t.registered) log().info("trunk {}: registered ({})", t.cfg->name, status);
    t.registered = true;
    t.register_backoff = std::chrono::seconds(5);
    return;
  }
  // Failure (a second challenge means the credentials were refused): back off, and move to the
  // next address when this one does not answer or is overloaded.
  t.registered = false;
  if ((status == 408 || status == 503) && t.cfg->addresses.size() > 1) {
    t.current = (t.current + 1) % t.cfg->addresses.size();
  }
  log().warn("trunk {}: registration failed with {}{}; retrying in {} s", t.cfg->name, status,
             status == 401 || status == 407 ? " (credentials refused)" : "",
             t.register_backoff.count());
  if (!t.register_timer) t.register_timer.reset(su_timer_create(su_root_task(stack_.root()), 0));
  su_timer_set_interval(t.register_timer.get(), on_register_timer,
                        reinterpret_cast<su_timer_arg_t*>(&t),
                        static_cast<su_duration_t>(t.register_backoff.count() * 1000));
  t.register_backoff = std::min(t.register_backoff * 2, kMaxRegisterBackoff);
}

}  // namespace icegate::sip
