// Event dispatch, the SIP ACL, the registrar and OPTIONS.
#include "sip/b2bua.hpp"

#include <sofia-sip/msg_addr.h>
#include <sofia-sip/su_addrinfo.h>
#include <sofia-sip/url.h>

#include <netinet/in.h>
#include <strings.h>

#include "sip/log.hpp"
#include "sip/register_auth.hpp"
#include "sip/request_check.hpp"
#include "sip/request_info.hpp"

namespace icegate::sip {

B2bua::B2bua(Stack& stack, MediaPort& media, std::shared_ptr<const conf::Config> cfg)
    : stack_(stack),
      media_(media),
      cfg_(std::move(cfg)),
      auth_(cfg_->sip.registrar.realm),
      registrar_(cfg_->sip.registrar),
      trunks_(cfg_),
      signalling_(stack),
      router_(signalling_, media_, auth_, registrar_, trunks_, cfg_) {
  signalling_.set_router(router_);
  stack_.set_guard(&router_.guard());  // flood and password-guessing bans (docs/security.md)
  media_.set_event_sink([this](const MediaEvent& ev) { router_.on_media_event(ev); });
}

B2bua::~B2bua() {
  for (auto& t : resolvers_) t.join();
}

void B2bua::reload(std::shared_ptr<const conf::Config> cfg) {
  // Users, ACLs, routes and timeouts take effect for new requests; listeners need a restart.
  // The trunk table points into the configuration: rebuild it with the new snapshot.
  stop_trunks();
  trunk_links_.clear();
  cfg_ = std::move(cfg);
  trunks_ = TrunkTable(cfg_);
  router_.set_config(cfg_);
  registrar_.set_limits(cfg_->sip.registrar);  // bindings survive a reload
  if (cfg_->sip.registrar.realm != auth_.realm()) {
    auth_ = DigestAuth(cfg_->sip.registrar.realm, digest_settings(cfg_->sip.security));
  }
  start_trunks();
  start_contact_keepalive();
  log().info("SIP configuration reloaded: {} users, {} trunks, {} routes", cfg_->users.size(),
             cfg_->trunks.size(), cfg_->routes.size());
}

void B2bua::on_started() {
  // Media events are drained on this thread, where the calls live.
  stack_.watch(media_.event_fd(), [this] { media_.dispatch_events(); });
  start_trunks();
  start_contact_keepalive();
}

void B2bua::on_stopping() {
  stopping_ = true;
  stop_trunks();
  keepalive_timer_.reset();
  keepalive_by_handle_.clear();
  keepalives_.clear();
  router_.end_all("icegate shutting down");
}

void B2bua::on_nua_event(Profile& p, nua_event_t event, int status, const char* phrase,
                         nua_handle_t* nh, SofiaLeg* leg, const sip_t* sip, tagi_t tags[]) {
  if (!leg && (event == nua_i_invite || event == nua_i_register || event == nua_i_options)) {
    if (auto why = malformed_reason(sip)) {
      Handle owned(nh);
      log().info("{} from {} refused with 400: {}", nua_event_name(event),
                 request_source(p.nua) ? request_source(p.nua)->to_string() : std::string("?"),
                 *why);
      nua_respond(nh, 400, su_strdup(nua_handle_home(nh), why->c_str()), NUTAG_WITH_THIS(p.nua),
                  TAG_END());
      return;
    }
  }
  if (signalling_.handle(p, event, status, phrase, nh, leg, sip, tags)) return;
  switch (event) {
    case nua_i_register:
      return on_register(p, nh, sip);
    case nua_i_options:
      return on_options(p, nh, sip);
    case nua_r_options:
      if (keepalive_by_handle_.count(nh)) return on_contact_keepalive_response(nh, status);
      [[fallthrough]];
    case nua_r_register:
    case nua_r_unregister:
      for (auto& [name, t] : trunk_links_) {
        const bool reg = event != nua_r_options;
        if ((reg ? t.register_handle.get() : t.options_handle.get()) == nh) {
          return on_trunk_response(t, reg, nh, status, sip);
        }
      }
      return;
    case nua_i_info:
      return;
    default:
      // Requests we do not serve: nua_i_message, nua_i_subscribe, ... Handles nua created for
      // them are released; nua answers 501/405 itself for methods we did not enable.
      if (nh && !leg && event >= nua_i_error && event <= nua_i_network_changed) {
        log().debug("ignoring {} ({} {})", nua_event_name(event), status, phrase ? phrase : "");
      }
      return;
  }
}

void B2bua::on_ws_closed(Profile& p, std::uint16_t bridge_port, const ws::Peer& peer) {
  // RFC 7118 §5.3 (with RFC 5626's flow semantics): the connection is the phone's only path,
  // so its registration ends with it.
  for (const auto& user : registrar_.remove_connection(p.name, bridge_port)) {
    log().info("REGISTER: {}'s binding over WebSocket from {}:{} ended with its connection", user,
               peer.address.to_string(), peer.port);
  }
  // Its calls cannot go on either: no BYE can reach it any more (a closed tab sends none).
  const auto through = [&](const Leg& l) {
    return l.phone && l.profile == p.name && l.via && l.via->next_hop &&
           l.via->next_hop->port == bridge_port;
  };
  std::vector<std::string> ended;
  for (const auto& [id, call] : router_.calls()) {
    if (through(call->a()) || through(call->b())) ended.push_back(id);
  }
  for (const auto& id : ended) {
    auto it = router_.calls().find(id);
    if (it == router_.calls().end()) continue;
    log().info("call {}: the phone's WebSocket connection closed", id);
    it->second->end("WebSocket connection closed");
  }
}

bool B2bua::acl_allows(Profile& p, nua_handle_t* nh, const sip_t* sip,
                       const std::shared_ptr<const acl::Acl>& acl, const char* what) {
  if (!acl) return true;
  const auto src = request_source(p.nua);
  if (!src) return true;  // no address (cannot happen for network requests)
  const auto d = acl->check(src->address);
  if (d.allowed()) return true;
  // behaviour.md §6 / §9 pattern 4: this exact line is what support engineers grep for.
  log().warn("IP {} Rejected by acl \"{}\" ({} {}, {})", src->address.to_string(), acl->name(),
             what, sip && sip->sip_call_id ? sip->sip_call_id->i_id : "-", d.explain());
  ++router_.stats().acl_rejections[{acl->name(), what}];
  nua_respond(nh, SIP_403_FORBIDDEN, NUTAG_WITH_THIS(p.nua), TAG_END());
  return false;
}

void B2bua::on_options(Profile& p, nua_handle_t* nh, const sip_t* sip) {
  Handle owned(nh);  // nua created this handle for the request: release it when answered
  ++router_.stats().requests["OPTIONS"];
  if (!acl_allows(p, nh, sip, cfg_->policy.sip_inbound, "OPTIONS")) return;
  nua_respond(nh, SIP_200_OK, NUTAG_WITH_THIS(p.nua),
              SIPTAG_ACCEPT_STR("application/sdp"), TAG_END());
}

void B2bua::on_register(Profile& p, nua_handle_t* nh, const sip_t* sip) {
  Handle owned(nh);
  ++router_.stats().requests["REGISTER"];
  const auto& acl = cfg_->policy.sip_register ? cfg_->policy.sip_register
                                              : cfg_->policy.sip_inbound;
  // The ACL comes before any challenge: a blocked source learns nothing about users.
  if (!acl_allows(p, nh, sip, acl, "REGISTER")) return;
  if (!sip || !sip->sip_to || !sip->sip_to->a_url->url_user || !sip->sip_call_id ||
      !sip->sip_cseq) {
    nua_respond(nh, SIP_400_BAD_REQUEST, NUTAG_WITH_THIS(p.nua), TAG_END());
    return;
  }
  const std::string aor_user = sip->sip_to->a_url->url_user;
  const auto authenticated =
      authenticate_register(p.nua, nh, sip, auth_, router_.guard(), *cfg_, router_.stats());
  if (!authenticated) return;  // answered: 401 (challenge), 400 or 403
  const std::string& user = *authenticated;
  if (user != aor_user) {
    log().warn("REGISTER: user {} may not register {}", user, aor_user);
    nua_respond(nh, SIP_403_FORBIDDEN, NUTAG_WITH_THIS(p.nua), TAG_END());
    return;
  }
  RegisterRequest req;
  req.user = aor_user;
  req.call_id = sip->sip_call_id->i_id;
  req.cseq = sip->sip_cseq->cs_seq;
  if (sip->sip_expires) req.expires = static_cast<std::uint32_t>(sip->sip_expires->ex_delta);
  const auto src = request_source(p.nua);
  if (src) {
    req.source = src->address;
    req.source_port = src->port;
    req.transport = src->transport;
    req.bridge_port = src->bridge_port;
  }
  req.profile = p.name;
  su_home_t* home = nua_handle_home(nh);
  for (const sip_contact_t* m = sip->sip_contact; m; m = m->m_next) {
    if (m->m_url->url_type == url_any) {
      req.star = true;
      continue;
    }
    ContactUpdate c;
    char* uri = url_as_string(home, m->m_url);
    c.uri = uri ? uri : "";
    if (m->m_expires) c.expires = static_cast<std::uint32_t>(std::strtoul(m->m_expires, nullptr, 10));
    if (src && m->m_url->url_host) {
      // The Contact's host (an IP literal, or a name: a name is not the source either).
      std::string_view h = m->m_url->url_host;
      if (h.size() > 2 && h.front() == '[') h = h.substr(1, h.size() - 2);  // IPv6 reference
      auto host = acl::Address::parse(h);
      const unsigned long port =
          m->m_url->url_port ? std::strtoul(m->m_url->url_port, nullptr, 10)
                             : (src->transport == conf::Transport::tls ? 5061 : 5060);
      c.behind_nat = !host || *host != src->address || port != src->port;
    }
    req.contacts.push_back(std::move(c));
  }
  if (req.star && !req.contacts.empty()) req.contacts.clear(), req.star = true;
  const auto out = registrar_.apply(req, Registrar::Clock::now());
  if (out.status == 423) {
    const std::string min = std::to_string(out.min_expires);
    nua_respond(nh, 423, "Interval Too Brief", NUTAG_WITH_THIS(p.nua),
                SIPTAG_MIN_EXPIRES_STR(min.c_str()), TAG_END());
    return;
  }
  if (out.status != 200) {
    // nua keeps the phrase pointer past this callback: copy it into the handle's memory.
    nua_respond(nh, out.status, su_strdup(nua_handle_home(nh), out.reason.c_str()),
                NUTAG_WITH_THIS(p.nua), TAG_END());
    return;
  }
  ++router_.stats().registrations;
  std::string contacts;
  const auto now = Registrar::Clock::now();
  for (const auto& b : out.bindings) {
    const auto left = std::chrono::duration_cast<std::chrono::seconds>(b.expires - now).count();
    contacts += (contacts.empty() ? "" : ", ") + ("<" + b.contact + ">;expires=" +
                                                  std::to_string(std::max<long long>(left, 0)));
  }
  if (req.star || req.contacts.empty() == false) {
    log().info("REGISTER {} from {}: {} binding(s){}", aor_user,
               src ? src->to_string() : std::string("?"), out.bindings.size(),
               out.bindings.empty() ? "" : ", calls go to " + registrar_.lookup(aor_user, now)->route_uri);
  }
  nua_respond(nh, SIP_200_OK, NUTAG_WITH_THIS(p.nua),
              TAG_IF(!contacts.empty(), SIPTAG_CONTACT_STR(contacts.c_str())), TAG_END());
}

}  // namespace icegate::sip
