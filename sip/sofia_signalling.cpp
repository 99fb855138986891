#include "sip/sofia_signalling.hpp"

#include <sofia-sip/su_tag_io.h>
#include <sofia-sip/url.h>

#include <strings.h>

#include <algorithm>

#include "sip/call/router.hpp"
#include "sip/log.hpp"
#include "sip/request_info.hpp"

namespace icegate::sip {
namespace {

std::string payload_of(const sip_t* sip) {
  if (!sip || !sip->sip_payload || !sip->sip_payload->pl_data) return {};
  return std::string(sip->sip_payload->pl_data, sip->sip_payload->pl_len);
}

std::string user_of(const url_t* u) {
  return u && u->url_user ? u->url_user : "";
}

std::string host_for_uri(const acl::Address& a) {
  return a.is_v4() ? a.to_string() : "[" + a.to_string() + "]";
}

// RFC 3326 Reason header for icegate's own reasons (a quote would end the text early).
std::string reason_header(std::string text) {
  std::replace(text.begin(), text.end(), '"', '\'');
  return "SIP;cause=200;text=\"" + text + "\"";
}

// The Contact icegate puts into dialog-forming messages where nua's own is wrong. TLS: nua would
// write "sips:" (its TLS transport is bound with a sips: URL), which a sip: dialog must not get
// (RFC 3261 §12.1.1) and some phones cannot send to. WebSocket: nua would name the loopback
// side of the bridge. nullptr: nua's own Contact.
const char* tls_contact(const SofiaLeg& leg) {
  return leg.profile && !leg.profile->contact.empty() ? leg.profile->contact.c_str() : nullptr;
}

// nua_respond() keeps the phrase pointer until it builds the response later on the same loop:
// the text must outlive the callback, so it is copied into the handle's own memory.
const char* kept_phrase(nua_handle_t* nh, const std::string& phrase, int status) {
  if (phrase.empty()) return sip_status_phrase(status) ? sip_status_phrase(status) : "";
  return su_strdup(nua_handle_home(nh), phrase.c_str());
}

InboundRequest request_of(Profile& p, const sip_t* sip) {
  InboundRequest r;
  if (sip->sip_call_id) r.call_id = sip->sip_call_id->i_id;
  if (sip->sip_request) {
    r.request_user = user_of(sip->sip_request->rq_url);
    char uri[1024];
    const auto n = url_e(uri, sizeof uri, sip->sip_request->rq_url);
    if (n > 0 && static_cast<std::size_t>(n) < sizeof uri) {
      r.request_uri.assign(uri, static_cast<std::size_t>(n));
    }
  }
  if (sip->sip_from) r.from_user = user_of(sip->sip_from->a_url);
  if (sip->sip_max_forwards) r.max_forwards = sip->sip_max_forwards->mf_count;
  if (sip->sip_content_type && sip->sip_content_type->c_type) {
    r.content_type = sip->sip_content_type->c_type;
  }
  r.body = payload_of(sip);
  if (sip->sip_proxy_authorization) {
    for (const char* const* a = sip->sip_proxy_authorization->au_params; a && *a; ++a) {
      r.proxy_authorization.emplace_back(*a);
    }
  }
  if (auto src = request_source(p.nua)) {
    r.source = Source{TransportAddress{src->address, src->port}, src->transport, std::nullopt};
    if (src->bridge_port) {
      r.source->next_hop = TransportAddress{acl::Address::v4(0x7f000001u), src->bridge_port};
    }
  }
  r.profile = p.name;
  return r;
}

InboundResponse response_of(int status, const char* phrase, const sip_t* sip) {
  InboundResponse r;
  r.status = status;
  r.phrase = phrase ? phrase : "";
  r.body = payload_of(sip);
  if (sip && (status == 401 || status == 407)) {
    r.challenge_realm =
        challenge_realm(status == 401 ? sip->sip_www_authenticate : sip->sip_proxy_authenticate);
  }
  return r;
}

// "sip:192.0.2.7:41234;transport=udp": a next hop for NUTAG_PROXY.
std::string hop_uri(const Source& s) {
  if (s.next_hop) {  // a WebSocket phone: its bridge, TCP on loopback
    return "sip:" + host_for_uri(s.next_hop->address) + ":" + std::to_string(s.next_hop->port) +
           ";transport=tcp";
  }
  return "sip:" + host_for_uri(s.address.address) + ":" + std::to_string(s.address.port) +
         ";transport=" + std::string(conf::to_string(s.transport));
}

class SofiaTimer final : public Timer {
 public:
  SofiaTimer(su_root_t* root, std::chrono::milliseconds after, std::function<void()> fire)
      : timer_(su_timer_create(su_root_task(root), 0)), fire_(std::move(fire)) {
    su_timer_set_interval(timer_.get(), &SofiaTimer::expired,
                          reinterpret_cast<su_timer_arg_t*>(this),
                          static_cast<su_duration_t>(after.count()));
  }

 private:
  static void expired(Stack* /*stack*/, su_timer_t* /*t*/, su_timer_arg_t* arg) {
    // The owner may destroy this timer from inside `fire`: nothing here is touched after it.
    auto fire = std::move(reinterpret_cast<SofiaTimer*>(arg)->fire_);
    if (fire) fire();
  }
  TimerPtr timer_;
  std::function<void()> fire_;
};

}  // namespace

std::string challenge_realm(const msg_auth_t* challenge) {
  for (const char* const* p = challenge ? challenge->au_params : nullptr; p && *p; ++p) {
    if (strncasecmp(*p, "realm=", 6) == 0) return *p + 6;
  }
  return "\"\"";
}

SofiaSignalling::~SofiaSignalling() = default;

SofiaLeg* SofiaSignalling::find(LegId id) {
  auto it = legs_.find(id);
  return it == legs_.end() ? nullptr : it->second.get();
}

SofiaLeg& SofiaSignalling::adopt(Profile& p, nua_handle_t* nh) {
  auto leg = std::make_unique<SofiaLeg>();
  leg->id = next_leg_++;
  leg->handle = Handle(nh);
  leg->profile = &p;
  nua_handle_bind(nh, leg.get());
  SofiaLeg& ref = *leg;
  legs_[ref.id] = std::move(leg);
  return ref;
}

bool SofiaSignalling::handle(Profile& p, nua_event_t event, int status, const char* phrase,
                             nua_handle_t* nh, SofiaLeg* leg, const sip_t* sip, tagi_t tags[]) {
  switch (event) {
    case nua_i_invite: {
      if (!sip || !sip->sip_request) {
        Handle owned(nh);
        nua_respond(nh, SIP_400_BAD_REQUEST, NUTAG_WITH_THIS(p.nua), TAG_END());
        return true;
      }
      current_nua_ = p.nua;
      current_invite_ = nh;
      const InboundRequest req = request_of(p, sip);
      if (leg) {
        router_->on_reinvite(leg->id, req);
      } else {
        router_->on_invite(adopt(p, nh).id, req);
      }
      current_nua_ = nullptr;
      current_invite_ = nullptr;
      return true;
    }
    case nua_r_invite:
      if (leg && (status == 408 || status == 503) && !leg->via.empty()) {
        // Issue 18: where a phone's INVITE went when it got no answer (NAT closed, no route).
        log().warn("INVITE toward {} not answered: {} {}", leg->via, status, phrase ? phrase : "");
      }
      if (leg) router_->on_invite_response(leg->id, response_of(status, phrase, sip));
      return true;
    case nua_i_cancel:
      if (leg) router_->on_cancel(leg->id);
      return true;
    case nua_i_update: {
      if (!leg) {
        if (nh) nua_respond(nh, SIP_481_NO_TRANSACTION, NUTAG_WITH_THIS(p.nua), TAG_END());
        return true;
      }
      auto saved = std::make_unique<SavedRequest>();
      if (!saved->save(p.nua)) {
        nua_respond(nh, SIP_500_INTERNAL_SERVER_ERROR, NUTAG_WITH_THIS(p.nua), TAG_END());
        return true;
      }
      const std::uint64_t request = next_request_++;
      leg->kept[request] = std::move(saved);
      const LegId id = leg->id;
      if (!router_->on_update(id, request, sip ? request_of(p, sip) : InboundRequest{})) {
        respond_kept(id, request, Reply{481, "", {}, {}, {}, {}});
      }
      return true;
    }
    case nua_r_update:
      if (leg) router_->on_update_response(leg->id, response_of(status, phrase, sip));
      return true;
    case nua_i_bye:
      if (leg) router_->on_bye(leg->id);
      return true;
    case nua_i_state: {
      int state = nua_callstate_init;
      tl_gets(tags, NUTAG_CALLSTATE_REF(state), TAG_END());
      if (leg && state == nua_callstate_terminated) router_->on_terminated(leg->id);
      return true;
    }
    case nua_r_bye:
      // Issue 18: a request that cannot be delivered is logged with where it was sent.
      if (leg && status >= 300) {
        log().warn("BYE not delivered ({} {}){}", status, phrase ? phrase : "",
                   leg->via.empty() ? std::string() : " toward " + leg->via);
      }
      return true;
    case nua_i_terminated:
    case nua_i_ack:
    case nua_r_cancel:
    case nua_i_active:
    case nua_i_prack:
      return true;
    default:
      return false;
  }
}

void SofiaSignalling::send_response(SofiaLeg& leg, const Reply& r, const nua_saved_event_t* saved) {
  nua_handle_t* nh = leg.handle.get();
  const char* contact = tls_contact(leg);
  const std::string reason = r.reason.empty() ? std::string() : reason_header(r.reason);
  const bool with_this = !saved && current_invite_ == nh && current_nua_;
  const std::string retry_after = r.retry_after ? std::to_string(r.retry_after) : std::string();
  nua_respond(
      nh, r.status, kept_phrase(nh, r.phrase, r.status),
      TAG_IF(with_this, NUTAG_WITH_THIS(current_nua_)), TAG_IF(saved, NUTAG_WITH_SAVED(saved)),
      TAG_IF(contact, SIPTAG_CONTACT_STR(contact)),
      TAG_IF(!reason.empty(), SIPTAG_REASON_STR(reason.c_str())),
      // One challenge per digest algorithm (RFC 8760 §2.4): two at most.
      TAG_IF(r.proxy_authenticate.size() > 0,
             SIPTAG_PROXY_AUTHENTICATE_STR(
                 r.proxy_authenticate.size() > 0 ? r.proxy_authenticate[0].c_str() : nullptr)),
      TAG_IF(r.proxy_authenticate.size() > 1,
             SIPTAG_PROXY_AUTHENTICATE_STR(
                 r.proxy_authenticate.size() > 1 ? r.proxy_authenticate[1].c_str() : nullptr)),
      TAG_IF(!r.accept.empty(), SIPTAG_ACCEPT_STR(r.accept.c_str())),
      TAG_IF(!retry_after.empty(), SIPTAG_RETRY_AFTER_STR(retry_after.c_str())),
      TAG_IF(!r.sdp.empty(), SIPTAG_CONTENT_TYPE_STR("application/sdp")),
      TAG_IF(!r.sdp.empty(), SIPTAG_PAYLOAD_STR(r.sdp.c_str())), TAG_END());
}

void SofiaSignalling::respond(LegId id, const Reply& reply) {
  if (SofiaLeg* leg = find(id)) send_response(*leg, reply, nullptr);
}

void SofiaSignalling::respond_kept(LegId id, std::uint64_t request, const Reply& reply) {
  SofiaLeg* leg = find(id);
  if (!leg) return;
  auto it = leg->kept.find(request);
  if (it == leg->kept.end()) return;
  send_response(*leg, reply, it->second->get());
  leg->kept.erase(it);
}

LegId SofiaSignalling::invite(const OutboundInvite& inv) {
  Profile* p = nullptr;
  if (!inv.profile.empty() || !inv.fallback_profile.empty()) {
    p = stack_.profile_named(inv.profile);
    if (!p) p = stack_.profile_named(inv.fallback_profile);
  } else {
    p = stack_.profile_for(inv.transport);
  }
  if (!p) return 0;
  const std::string host = host_for_uri(p->address);
  const std::string to = inv.to.empty() ? "sip:" + inv.to_user + "@" + host : inv.to;
  const std::string from = "sip:" + inv.from_user + "@" + host;
  auto leg = std::make_unique<SofiaLeg>();
  const std::string via = inv.via ? hop_uri(*inv.via) : std::string();
  nua_handle_t* nh = nua_handle(p->nua, leg.get(), SIPTAG_TO_STR(to.c_str()),
                                SIPTAG_FROM_STR(from.c_str()),
                                TAG_IF(!inv.call_id.empty(), SIPTAG_CALL_ID_STR(inv.call_id.c_str())),
                                TAG_END());
  if (!nh) return 0;
  // A handle parameter, set like route_via(): the INVITE, the ACK of its 2xx and every later
  // request of the dialog go there. Queued before the INVITE, so it applies to it.
  if (!via.empty()) nua_set_hparams(nh, NUTAG_PROXY(via.c_str()), TAG_END());
  leg->via = via;
  leg->id = next_leg_++;
  leg->handle = Handle(nh);
  leg->profile = p;
  const std::string max_forwards = std::to_string(inv.max_forwards);
  const char* contact = tls_contact(*leg);
  nua_invite(nh, NUTAG_URL(inv.request_uri.c_str()), TAG_IF(contact, SIPTAG_CONTACT_STR(contact)),
             SIPTAG_CONTENT_TYPE_STR("application/sdp"),
             SIPTAG_MAX_FORWARDS_STR(max_forwards.c_str()), SIPTAG_PAYLOAD_STR(inv.sdp.c_str()),
             TAG_END());
  const LegId id = leg->id;
  legs_[id] = std::move(leg);
  return id;
}

void SofiaSignalling::reinvite(LegId id, const std::string& sdp) {
  SofiaLeg* leg = find(id);
  if (!leg) return;
  const char* contact = tls_contact(*leg);
  nua_invite(leg->handle.get(), TAG_IF(contact, SIPTAG_CONTACT_STR(contact)),
             SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(sdp.c_str()),
             TAG_END());
}

void SofiaSignalling::update(LegId id, const std::string& sdp) {
  SofiaLeg* leg = find(id);
  if (!leg) return;
  const char* contact = tls_contact(*leg);
  nua_update(leg->handle.get(), TAG_IF(contact, SIPTAG_CONTACT_STR(contact)),
             TAG_IF(!sdp.empty(), SIPTAG_CONTENT_TYPE_STR("application/sdp")),
             TAG_IF(!sdp.empty(), SIPTAG_PAYLOAD_STR(sdp.c_str())), TAG_END());
}

void SofiaSignalling::bye(LegId id, const std::string& reason) {
  SofiaLeg* leg = find(id);
  if (!leg) return;
  const std::string header = reason_header(reason);
  nua_bye(leg->handle.get(), SIPTAG_REASON_STR(header.c_str()), TAG_END());
}

void SofiaSignalling::cancel(LegId id) {
  if (SofiaLeg* leg = find(id)) nua_cancel(leg->handle.get(), TAG_END());
}

void SofiaSignalling::authenticate(LegId id, const std::string& credentials) {
  if (SofiaLeg* leg = find(id)) {
    nua_authenticate(leg->handle.get(), NUTAG_AUTH(credentials.c_str()), TAG_END());
  }
}

void SofiaSignalling::route_via(LegId id, const Source& to) {
  SofiaLeg* leg = find(id);
  if (!leg) return;
  leg->via = hop_uri(to);
  nua_set_hparams(leg->handle.get(), NUTAG_PROXY(leg->via.c_str()), TAG_END());
}

void SofiaSignalling::release(LegId id) {
  legs_.erase(id);
}

std::unique_ptr<Timer> SofiaSignalling::start_timer(std::chrono::milliseconds after,
                                                    std::function<void()> fire) {
  return std::make_unique<SofiaTimer>(stack_.root(), after, std::move(fire));
}

}  // namespace icegate::sip
