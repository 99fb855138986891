// Cross-checks over the whole configuration once every file was read.
#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "conf/host_checks.hpp"
#include "conf/loader_state.hpp"
#include "conf/values.hpp"

namespace icegate::conf {
namespace {

// A call needs an RTP/RTCP pair on each leg.
constexpr unsigned kMinRtpPorts = 4;

template <class T>
void check_unique(LoaderState& st, const std::vector<T>& items, std::string_view what) {
  std::map<std::string, Location> seen;
  for (const auto& x : items) {
    if (x.name.empty()) continue;  // missing name already reported
    auto [it, fresh] = seen.emplace(x.name, x.where);
    if (!fresh) {
      st.error(x.where, std::string(what) + " \"" + x.name + "\" is defined twice (first at " +
                            it->second.to_string() + ")");
    }
  }
}

void build_acls(LoaderState& st) {
  std::map<std::string, Location> seen;
  for (auto& draft : st.acl_drafts) {
    auto [it, fresh] = seen.emplace(draft.name, draft.where);
    if (!fresh) {
      st.error(draft.where, "acl \"" + draft.name + "\" is defined twice (first at " +
                                it->second.to_string() + ")");
      continue;
    }
    if (draft.entries.empty()) {
      st.warning(draft.where, "acl \"" + draft.name + "\" has no entries: it allows everything");
    }
    acl::AclBuilder b(draft.name);
    for (auto& e : draft.entries) b.add(e.cidr, e.kind, e.origin);
    auto built = std::move(b).build();
    // behaviour.md §6: a whitelist entry less specific than an overlapping blacklist entry is
    // legal but confusing.
    for (const auto& o : built->suspect_overlaps()) {
      Location where{draft.where.file, draft.where.line};
      const auto colon = o.whitelist->origin.rfind(':');
      if (colon != std::string::npos) {
        where = {o.whitelist->origin.substr(0, colon),
                 static_cast<unsigned>(std::stoul(o.whitelist->origin.substr(colon + 1)))};
      }
      st.warning(where, "acl \"" + draft.name + "\": whitelist " + o.whitelist->cidr.to_string() +
                            " is less specific than blacklist " + o.blacklist->cidr.to_string() +
                            " (" + o.blacklist->origin + "), which therefore still blocks " +
                            o.blacklist->cidr.to_string());
    }
    st.cfg.acls.emplace(draft.name, std::move(built));
  }
}

void resolve_policy(LoaderState& st) {
  auto resolve = [&](const std::optional<std::string>& name, std::string_view where_used,
                     std::shared_ptr<const acl::Acl>& out) {
    if (!name) return;
    out = st.cfg.find_acl(*name);
    if (!out) {
      st.error(st.policy_where, std::string(where_used) + " refers to acl \"" + *name +
                                    "\", which does not exist");
    }
  };
  const auto& n = st.policy_names;
  auto& p = st.cfg.policy;
  resolve(n.sip_inbound, "sip-inbound", p.sip_inbound);
  resolve(n.sip_register, "sip-register", p.sip_register);
  resolve(n.remote_candidates, "remote-candidates", p.remote_candidates);
  resolve(n.public_candidate, "public-candidate", p.public_candidate);
  const Location top{st.cfg.files.empty() ? "" : st.cfg.files.front(), 1};
  if (!n.sip_inbound) {
    st.warning(n.sip_register ? st.policy_where : top,
               "no sip-inbound acl: SIP requests from every address are accepted");
  }
}

void check_media(LoaderState& st) {
  const auto& m = st.cfg.media;
  const Location where = m.where.line ? m.where : Location{st.cfg.files.front(), 1};
  if (m.rtp_min > m.rtp_max) {
    st.error(where, "rtp-min " + std::to_string(m.rtp_min) + " is above rtp-max " +
                        std::to_string(m.rtp_max));
  } else if (unsigned(m.rtp_max - m.rtp_min) + 1 < kMinRtpPorts) {
    st.error(where, "RTP port range " + std::to_string(m.rtp_min) + "-" +
                        std::to_string(m.rtp_max) + " is too small: a call needs at least " +
                        std::to_string(kMinRtpPorts) + " ports");
  }
  if (m.rtp_min < 1024) {
    st.warning(where, "rtp-min " + std::to_string(m.rtp_min) + " is a privileged port");
  }
  if (m.rtp_min % 2 != 0) {
    st.warning(where, "rtp-min " + std::to_string(m.rtp_min) +
                          " is odd: RTP takes even ports, so the first port is never used");
  }
  if (m.media_timeout.count() == 0 || m.consent_timeout.count() == 0 || m.ice_timeout.count() == 0) {
    st.error(where, "media-timeout, consent-timeout and ice-timeout must be above zero");
  }
  if (m.address.is_unspecified()) {
    st.error(where, "media address " + m.address.to_string() +
                        " is unspecified: it is put into SDP, give the interface address");
  }
  const bool public_side = st.cfg.stun.enabled || m.public_address.has_value();
  if (public_side && m.address.is_loopback()) {
    // behaviour.md §2: on a separate (DMZ) host a loopback media address cannot work.
    st.warning(where, "media address " + m.address.to_string() + " is a loopback address but " +
                          (st.cfg.stun.enabled ? std::string("STUN is enabled")
                                               : std::string("a public address is set")) +
                          ": phones outside this host cannot reach it");
  }
  for (const auto& l : st.cfg.sip.listeners) {
    if (l.port >= m.rtp_min && l.port <= m.rtp_max &&
        (l.address == m.address || l.address.is_unspecified())) {
      st.warning(l.where, "SIP listener port " + std::to_string(l.port) +
                              " lies inside the RTP port range " + std::to_string(m.rtp_min) +
                              "-" + std::to_string(m.rtp_max));
    }
  }
}

void check_readable(LoaderState& st, const Location& where, const std::string& file) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) {
    st.error(where, "\"" + file + "\" is not a readable file");
  }
}

void check_tls(LoaderState& st) {
  std::map<std::pair<acl::Address, std::uint16_t>, const Listener*> by_addr;
  for (const auto& l : st.cfg.sip.listeners) {
    const bool tls = l.transport == Transport::tls || l.transport == Transport::wss;
    const bool ws = l.transport == Transport::ws || l.transport == Transport::wss;
    const std::string t(to_string(l.transport));
    if (tls && (l.certificate_file.empty() || l.private_key_file.empty())) {
      st.error(l.where,
               "listener \"" + l.name + "\": transport " + t + " needs certificate and private-key");
    } else if (!tls && (!l.certificate_file.empty() || !l.private_key_file.empty())) {
      st.error(l.where,
               "listener \"" + l.name + "\": certificate and private-key are for transport tls or wss");
    }
    if (tls) {
      if (!l.certificate_file.empty()) check_readable(st, l.where, l.certificate_file);
      if (!l.private_key_file.empty()) check_readable(st, l.where, l.private_key_file);
    }
    // One SIP stack instance per address and port: TLS cannot share one with UDP/TCP, and a
    // WebSocket listener (an HTTP server) shares its port with nothing.
    auto [it, fresh] = by_addr.emplace(std::pair{l.address, l.port}, &l);
    const auto own_port = [](const Listener& x) {
      return x.transport == Transport::tls || x.transport == Transport::ws ||
             x.transport == Transport::wss;
    };
    if (!fresh && (own_port(l) || own_port(*it->second))) {
      st.error(l.where, "listener \"" + l.name + "\": " + (ws ? "a WebSocket listener" : "TLS") +
                            " needs a port of its own (" + l.address.to_string() + ":" +
                            std::to_string(l.port) + " is also used by \"" + it->second->name +
                            "\")");
    }
  }
}

void check_dtls(LoaderState& st) {
  const Dtls& d = st.cfg.dtls;
  if (d.handshake_timeout < std::chrono::seconds(1)) {
    st.error(d.where, "handshake-timeout must be at least 1s (the first retransmission is at 1s)");
  }
  if (d.certificate_file.empty() != d.private_key_file.empty()) {
    st.error(d.where,
             "<dtls> needs both certificate and private-key (or neither, to generate one)");
    return;
  }
  for (const std::string* f : {&d.certificate_file, &d.private_key_file}) {
    if (!f->empty()) check_readable(st, d.where, *f);
  }
}

void check_sip(LoaderState& st) {
  if (st.cfg.sip.listeners.empty()) {
    st.error({st.cfg.files.front(), 1}, "no SIP <listener> is configured");
  }
  check_unique(st, st.cfg.sip.listeners, "listener");
  std::map<std::tuple<Transport, acl::Address, std::uint16_t>, Location> bound;
  for (const auto& l : st.cfg.sip.listeners) {
    auto [it, fresh] = bound.emplace(std::tuple{l.transport, l.address, l.port}, l.where);
    if (!fresh) {
      st.error(l.where, "listener " + std::string(to_string(l.transport)) + " " +
                            l.address.to_string() + ":" + std::to_string(l.port) +
                            " is defined twice (first at " + it->second.to_string() + ")");
    }
  }
  const auto& r = st.cfg.sip.registrar;
  if (!(r.min_expires <= r.default_expires && r.default_expires <= r.max_expires)) {
    st.error(st.registrar_where.line ? st.registrar_where : Location{st.cfg.files.front(), 1},
             "registrar expiries must satisfy min-expires <= default-expires <= max-expires");
  }
}

void check_stun_turn(LoaderState& st) {
  check_unique(st, st.cfg.stun.servers, "stun server");
  check_unique(st, st.cfg.turn_servers, "turn server");
  check_unique(st, st.cfg.groups, "group");
  if (st.cfg.stun.enabled && st.cfg.stun.servers.empty()) {
    st.warning(st.cfg.stun.where, "STUN is enabled but no STUN server is configured: no public "
                                  "candidate will be offered");
  }
  for (const auto& t : st.cfg.turn_servers) {
    const bool long_term = t.username || t.password;
    if (long_term && t.shared_secret) {
      st.error(t.where, "turn server \"" + t.name +
                            "\" has both username/password and shared-secret: choose one");
    } else if (long_term && !(t.username && t.password)) {
      st.error(t.where, "turn server \"" + t.name + "\" needs both username and password");
    } else if (!long_term && !t.shared_secret) {
      st.error(t.where, "turn server \"" + t.name +
                            "\" needs username and password, or shared-secret");
    }
  }
  for (const auto& g : st.cfg.groups) {
    for (const auto& name : g.turn_servers) {
      if (!st.cfg.find_turn_server(name)) {
        st.error(g.where, "group \"" + g.name + "\" refers to turn server \"" + name +
                              "\", which does not exist");
      }
    }
  }
}

void check_users_trunks_routes(LoaderState& st) {
  check_unique(st, st.cfg.users, "user");
  check_unique(st, st.cfg.trunks, "trunk");
  for (const auto& u : st.cfg.users) {
    if (!u.group.empty() && !st.cfg.find_group(u.group)) {
      st.error(u.where, "user \"" + u.name + "\" is in group \"" + u.group +
                            "\", which does not exist");
    }
    // A static contact is called from a listener of its transport (as a trunk is).
    if (u.contact && std::none_of(st.cfg.sip.listeners.begin(), st.cfg.sip.listeners.end(),
                                  [&](const Listener& l) { return l.transport == u.contact->transport; })) {
      const std::string t(to_string(u.contact->transport));
      st.error(u.where, "user \"" + u.name + "\": contact transport " + t + " needs a " + t +
                            " <listener> to send from");
    }
  }
  for (const auto& t : st.cfg.trunks) {
    if (t.addresses.empty()) {
      st.error(t.where, "trunk \"" + t.name + "\" needs at least one <address>");
    }
    const bool tls_listener =
        std::any_of(st.cfg.sip.listeners.begin(), st.cfg.sip.listeners.end(),
                    [](const Listener& l) { return l.transport == Transport::tls; });
    if (t.transport == Transport::tls && !tls_listener) {
      st.error(t.where,
               "trunk \"" + t.name + "\": transport tls needs a tls <listener> to send from");
    }
  }
  std::map<std::string, Location> prefixes;
  for (const auto& r : st.cfg.routes) {
    if (!r.trunk.empty() && !st.cfg.find_trunk(r.trunk)) {
      st.error(r.where, "route \"" + r.prefix + "\" refers to trunk \"" + r.trunk +
                            "\", which does not exist");
    }
    auto [it, fresh] = prefixes.emplace(r.prefix, r.where);
    if (!fresh) {
      st.error(r.where, "route prefix \"" + r.prefix + "\" is defined twice (first at " +
                            it->second.to_string() + ")");
    }
  }
  for (const auto& u : st.cfg.users) {
    if (const Route* r = st.cfg.route_for(u.name); r && r->prefix == u.name) {
      st.warning(r->where, "route prefix \"" + r->prefix + "\" equals user \"" + u.name +
                               "\": calls to the user go to the user, not to the trunk");
    }
  }
}

// behaviour.md §9 pattern 4: a trunk that sip-inbound denies gets 403 for every call. Only what
// needs no I/O: addresses given as IP literals and <source> networks (by their network address).
// Names are resolved by check-config (host_checks.hpp), never by the loader.
void check_trunks_admitted(LoaderState& st) {
  for (const auto& t : st.cfg.trunks) {
    for (const auto& a : t.addresses) {
      const auto ip = acl::Address::parse(a.host);
      if (!ip) continue;
      if (auto w = trunk_source_denied(st.cfg, t, *ip, ip->to_string())) st.warning(t.where, *w);
    }
    for (const auto& net : t.sources) {
      const auto shown = net.network().to_string() + " (source " + net.to_string() + ")";
      if (auto w = trunk_source_denied(st.cfg, t, net.network(), shown)) st.warning(t.where, *w);
    }
  }
}

}  // namespace

void validate(LoaderState& st) {
  if (st.cfg.files.empty()) return;
  build_acls(st);
  resolve_policy(st);
  check_sip(st);
  check_media(st);
  check_dtls(st);
  check_stun_turn(st);
  check_users_trunks_routes(st);
  check_trunks_admitted(st);
  check_tls(st);
}

}  // namespace icegate::conf
