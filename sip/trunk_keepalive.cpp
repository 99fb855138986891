// Trunks on the Sofia side: host names resolved off the signalling thread, OPTIONS keep-alive
// with up/down state and fail-over, and registration with credentials (401/407 answered,
// refreshed by nua, back-off on failure). The state calls read lives in the TrunkTable.
#include <netdb.h>
#include <strings.h>

#include "sip/b2bua.hpp"
#include "sip/log.hpp"

namespace icegate::sip {
namespace {

constexpr std::chrono::seconds kMaxRegisterBackoff{300};

// getaddrinfo() blocks: it runs on a resolver thread, never on the signalling thread.
std::vector<acl::Address> resolve(const std::string& host) {
  std::vector<acl::Address> out;
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0) return out;
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    char buf[64] = {};
    if (ai->ai_family == AF_INET) {
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr, buf, sizeof buf);
    } else if (ai->ai_family == AF_INET6) {
      inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr, buf,
                sizeof buf);
    }
    if (auto a = acl::Address::parse(buf)) out.push_back(*a);
  }
  freeaddrinfo(res);
  return out;
}

void on_options_timer(Stack* /*s*/, su_timer_t* /*t*/, su_timer_arg_t* arg) {
  auto* t = reinterpret_cast<TrunkLink*>(arg);
  t->owner->trunk_options(*t);
}

void on_register_timer(Stack* /*s*/, su_timer_t* /*t*/, su_timer_arg_t* arg) {
  auto* t = reinterpret_cast<TrunkLink*>(arg);
  t->owner->trunk_register(*t);
}

}  // namespace

void B2bua::resolve_trunk_hosts() {
  const auto hosts = trunks_.host_names();
  if (hosts.empty()) return;
  const std::uint64_t generation = ++resolve_generation_;
  resolvers_.emplace_back([this, hosts, generation] {
    for (const auto& host : hosts) {
      auto addresses = resolve(host);
      // Posted work is dropped once the stack stops; this object outlives the stack's thread.
      stack_.post([this, host, addresses = std::move(addresses), generation] {
        if (generation != resolve_generation_) return;  // a reload started over
        if (addresses.empty()) {
          log().warn("trunk host {}: cannot resolve (calls from it are taken for a phone's)", host);
          return;
        }
        trunks_.set_resolved(host, addresses);
        log().info("trunk host {} resolved to {} address(es)", host, addresses.size());
      });
    }
  });
}

void B2bua::start_trunks() {
  resolve_trunk_hosts();
  for (const auto& tc : cfg_->trunks) {
    TrunkLink& t = trunk_links_[tc.name];
    t.owner = this;
    t.name = tc.name;
    if (tc.options_interval.count() > 0) trunk_options(t);
    if (tc.registration) trunk_register(t);
  }
}

void B2bua::stop_trunks() {
  for (auto& [name, t] : trunk_links_) {
    t.options_timer.reset();
    t.register_timer.reset();
    if (t.register_handle && t.registration == TrunkRegistrationState::registered) {
      nua_unregister(t.register_handle.get(), TAG_END());
    }
    t.options_handle.reset();
  }
}

void B2bua::trunk_options(TrunkLink& link) {
  const TrunkEntry* t = trunks_.named(link.name);
  if (stopping_ || !t) return;
  Profile* p = stack_.profile_for(t->cfg->transport);
  if (!p) return;
  const std::string uri = TrunkTable::uri(*t, t->current, "");
  link.options_handle = Handle(nua_handle(p->nua, nullptr, SIPTAG_TO_STR(uri.c_str()), TAG_END()));
  nua_options(link.options_handle.get(), NUTAG_URL(uri.c_str()), TAG_END());
  if (!link.options_timer)
    link.options_timer.reset(su_timer_create(su_root_task(stack_.root()), 0));
  su_timer_set_interval(link.options_timer.get(), on_options_timer,
                        reinterpret_cast<su_timer_arg_t*>(&link),
                        static_cast<su_duration_t>(t->cfg->options_interval.count()));
}

void B2bua::trunk_register(TrunkLink& link) {
  const TrunkEntry* t = trunks_.named(link.name);
  if (stopping_ || !t) return;
  Profile* p = stack_.profile_for(t->cfg->transport);
  if (!p) return;
  const auto& reg = *t->cfg->registration;
  const std::string domain =
      reg.domain.empty() ? t->cfg->addresses.at(t->current).host : reg.domain;
  const std::string aor = "sip:" + reg.username + "@" + domain;
  const std::string registrar = TrunkTable::uri(*t, t->current, "");
  const std::string expires =
      std::to_string(std::chrono::duration_cast<std::chrono::seconds>(reg.expires).count());
  link.register_handle = Handle(nua_handle(p->nua, nullptr, SIPTAG_TO_STR(aor.c_str()),
                                           SIPTAG_FROM_STR(aor.c_str()), TAG_END()));
  // nua refreshes the registration before it expires (RFC 3261 §10.2.4).
  nua_register(link.register_handle.get(), NUTAG_REGISTRAR(registrar.c_str()),
               NUTAG_M_USERNAME(reg.username.c_str()), SIPTAG_EXPIRES_STR(expires.c_str()),
               TAG_END());
  link.registration = TrunkRegistrationState::registering;
  log().info("trunk {}: registering {} at {}", t->cfg->name, aor, registrar);
}

void B2bua::on_trunk_response(TrunkLink& link, bool is_register, nua_handle_t* nh, int status,
                              const sip_t* sip) {
  TrunkEntry* t = trunks_.named(link.name);
  if (status < 200 || !t) return;
  if (!is_register) {
    // Any answer, even 4xx, proves the trunk is alive; 408 and 5xx do not.
    const bool up = status < 500 && status != 408;
    if (up != t->up) {
      log().warn("trunk {} address {} is {} (OPTIONS answered {})", t->cfg->name,
                 t->cfg->addresses[t->current].host, up ? "up" : "DOWN", status);
    }
    t->up = up;
    if (!up && t->cfg->addresses.size() > 1) {
      t->current = (t->current + 1) % t->cfg->addresses.size();
      log().warn("trunk {}: failing over to {}", t->cfg->name, t->cfg->addresses[t->current].host);
    }
    return;
  }
  const auto& reg = *t->cfg->registration;
  if ((status == 401 || status == 407) && sip && nh &&
      link.registration != TrunkRegistrationState::authenticating) {
    link.registration = TrunkRegistrationState::authenticating;
    const std::string cred =
        "Digest:" +
        challenge_realm(status == 401 ? sip->sip_www_authenticate : sip->sip_proxy_authenticate) +
        ":" + reg.username + ":" + reg.password;
    nua_authenticate(nh, NUTAG_AUTH(cred.c_str()), TAG_END());
    return;
  }
  if (status < 300) {
    if (link.registration != TrunkRegistrationState::registered) {
      log().info("trunk {}: registered ({})", t->cfg->name, status);
    }
    link.registration = TrunkRegistrationState::registered;
    link.register_backoff = std::chrono::seconds(5);
    return;
  }
  // Failure (a second challenge means the credentials were refused): back off, and move to the
  // next address when this one does not answer or is overloaded.
  link.registration = TrunkRegistrationState::unregistered;
  if ((status == 408 || status == 503) && t->cfg->addresses.size() > 1) {
    t->current = (t->current + 1) % t->cfg->addresses.size();
  }
  log().warn("trunk {}: registration failed with {}{}; retrying in {} s", t->cfg->name, status,
             status == 401 || status == 407 ? " (credentials refused)" : "",
             link.register_backoff.count());
  if (!link.register_timer) {
    link.register_timer.reset(su_timer_create(su_root_task(stack_.root()), 0));
  }
  su_timer_set_interval(link.register_timer.get(), on_register_timer,
                        reinterpret_cast<su_timer_arg_t*>(&link),
                        static_cast<su_duration_t>(link.register_backoff.count() * 1000));
  link.register_backoff = std::min(link.register_backoff * 2, kMaxRegisterBackoff);
}

}  // namespace icegate::sip
