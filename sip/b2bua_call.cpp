// Back-to-back calls: INVITE in, INVITE out, responses, CANCEL, BYE, re-INVITE, media events.
#include <sofia-sip/su_tag_io.h>
#include <sofia-sip/url.h>

#include <strings.h>

#include <cinttypes>
#include <cstdio>

#include "sip/b2bua.hpp"
#include "sip/call_sdp.hpp"
#include "sip/log.hpp"
#include "sip/request_info.hpp"

namespace icegate::sip {
namespace {

std::string payload_of(const sip_t* sip) {
  if (!sip || !sip->sip_payload || !sip->sip_payload->pl_data) return {};
  return std::string(sip->sip_payload->pl_data, sip->sip_payload->pl_len);
}

std::string user_of(const url_t* u) { return u && u->url_user ? u->url_user : ""; }

std::string host_for_uri(const acl::Address& a) {
  return a.is_v4() ? a.to_string() : "[" + a.to_string() + "]";
}

// Final responses passed back to the caller: the far end's code where it means something to a
// caller, otherwise the nearest that does (behaviour.md §7: 486, 404, 408, 480, 487, 503).
int map_final(int status) {
  if (status >= 300 && status < 400) return 480;  // no redirects across the B2BUA
  if (status == 401 || status == 407) return 403;  // the far end wanted credentials we lack
  if (status >= 400 && status < 700) return status;
  return 500;
}

void on_ice_timer(Stack* /*stack*/, su_timer_t* /*t*/, su_timer_arg_t* arg);

// The Contact icegate puts into dialog-forming messages on a TLS leg: nua would write
// "sips:" (its TLS transport is bound with a sips: URL), which a sip: dialog must not get
// (RFC 3261 §12.1.1) and some phones cannot send to. nullptr: nua's own Contact.
const char* tls_contact(const Leg& leg) {
  return leg.profile && leg.profile->tls ? leg.profile->contact.c_str() : nullptr;
}

// nua_respond() keeps the phrase pointer until it builds the response later on the same loop:
// the text must outlive the callback, so it is copied into the handle's own memory.
const char* kept(nua_handle_t* nh, const char* phrase, int status) {
  if (!phrase || !*phrase) return sip_status_phrase(status);
  return su_strdup(nua_handle_home(nh), phrase);
}

}  // namespace

void B2bua::on_invite(Profile& p, nua_handle_t* nh, const sip_t* sip) {
  const auto src = request_source(p.nua);
  const auto reject = [&](int status, const char* phrase, const std::string& why) {
    Handle owned(nh);
    log().info("INVITE {} from {} rejected: {} {} ({})",
               sip && sip->sip_call_id ? sip->sip_call_id->i_id : "-",
               src ? src->to_string() : std::string("?"), status, phrase, why);
    ++stats_.calls_failed;
    nua_respond(nh, status, kept(nh, phrase, status), NUTAG_WITH_THIS(p.nua), TAG_END());
  };
  if (!acl_allows(p, nh, sip, cfg_->policy.sip_inbound, "INVITE")) {
    Handle owned(nh);
    return;
  }
  if (!sip || !sip->sip_request || !src) return reject(400, "Bad Request", "no request line");
  // RFC 3261 §16.3 step 3 (the B2BUA keeps the hop count going to stop loops).
  unsigned long max_forwards = 70;
  if (sip->sip_max_forwards) max_forwards = sip->sip_max_forwards->mf_count;
  if (max_forwards == 0) return reject(483, "Too Many Hops", "Max-Forwards reached 0");

  auto call = std::make_unique<Call>();
  char idbuf[32];
  std::snprintf(idbuf, sizeof idbuf, "c%" PRIu64, next_call_++);
  call->id = idbuf;
  call->started = std::chrono::steady_clock::now();
  call->owner = this;
  call->to_user = user_of(sip->sip_request->rq_url);
  call->from_user = sip->sip_from ? user_of(sip->sip_from->a_url) : "";
  call->max_forwards = max_forwards - 1;
  call->a = std::make_unique<Leg>();
  call->b = std::make_unique<Leg>();
  Leg& a = *call->a;
  Leg& b = *call->b;
  a.call = b.call = call.get();
  a.side = Side::a;
  b.side = Side::b;
  a.profile = &p;

  std::optional<Binding> callee;
  acl::Address phone_party = src->address;  // whose address decides the public candidate
  if (TrunkState* t = trunk_of_source(src->address)) {
    // From a trunk: to the user named in the Request-URI (behaviour.md §7).
    a.trunk = t->cfg->name;
    if (!cfg_->find_user(call->to_user)) {
      return reject(404, "Not Found", "no user \"" + call->to_user + "\"");
    }
    callee = registrar_.lookup(call->to_user, Registrar::Clock::now());
    if (!callee) {
      return reject(480, "Temporarily Unavailable", "user " + call->to_user + " not registered");
    }
    b.phone = true;
    phone_party = callee->source;
  } else {
    // From a softphone: it must prove who it is (RFC 3261 §22.3, proxy-style 407).
    a.phone = true;
    const auto now_wall = DigestAuth::Clock::now();
    const auto challenge = [&](bool stale) {
      Handle owned(nh);
      const std::string c = auth_.challenge(now_wall, stale);
      nua_respond(nh, SIP_407_PROXY_AUTH_REQUIRED, NUTAG_WITH_THIS(p.nua),
                  SIPTAG_PROXY_AUTHENTICATE_STR(c.c_str()), TAG_END());
    };
    if (!sip->sip_proxy_authorization) return challenge(false);
    std::string user;
    const auto r = auth_.verify(
        sip->sip_proxy_authorization->au_params, "INVITE",
        [&](std::string_view name) -> std::optional<std::string> {
          if (const auto* u = cfg_->find_user(name)) return u->password;
          return std::nullopt;
        },
        now_wall, &user);
    if (r == DigestAuth::Result::stale_nonce) return challenge(true);
    if (r != DigestAuth::Result::ok) {
      log().warn("INVITE from {} as {}: authentication failed: {}", src->to_string(), user,
                 to_string(r));
      return challenge(false);
    }
    call->from_user = user;
    if (cfg_->find_user(call->to_user)) {
      callee = registrar_.lookup(call->to_user, Registrar::Clock::now());
      if (!callee) {
        return reject(480, "Temporarily Unavailable", "user " + call->to_user + " not registered");
      }
      b.phone = true;
    } else {
      const conf::Route* route = cfg_->route_for(call->to_user);
      TrunkState* t = route ? trunk_named(route->trunk) : nullptr;
      if (!t) return reject(404, "Not Found", "no route for \"" + call->to_user + "\"");
      b.trunk = t->cfg->name;
    }
  }

  // The offer is read only once the caller is known (no SDP parsing for strangers).
  if (sip->sip_content_type && sip->sip_content_type->c_type &&
      strcasecmp(sip->sip_content_type->c_type, "application/sdp") != 0) {
    Handle owned(nh);
    nua_respond(nh, SIP_415_UNSUPPORTED_MEDIA, NUTAG_WITH_THIS(p.nua),
                SIPTAG_ACCEPT_STR("application/sdp"), TAG_END());
    return;
  }
  const std::string offer_text = payload_of(sip);
  if (offer_text.empty()) {
    return reject(488, "Not Acceptable Here", "no SDP offer in the INVITE (late offer)");
  }
  auto offer = sdp::parse(offer_text);
  if (!offer) return reject(400, "Bad Request", "malformed SDP: " + offer.error().to_string());

  // The caller's media, with the candidate ACL applied to a softphone's candidates.
  auto remote = analyse_remote(*offer, a.phone, cfg_->policy.remote_candidates.get());
  if (!remote) {
    ++stats_.rejected_candidates;
    log().warn("call {}: {}", call->id, remote.error());
    return reject(488, "Not Acceptable Here", "no usable ICE candidate");
  }
  if (!remote->dropped.empty()) log().info("call {}: {}", call->id, remote->dropped);

  MediaCallSetup setup;
  setup.label = call->id;
  setup.a = {a.phone, a.phone ? offers_rtcp_mux(*offer) : false};
  // A called phone is offered rtcp-mux with a fallback RTCP port (baresip, linphone decline it).
  setup.b = {b.phone, false};
  auto media = media_.create_call(setup);
  if (!media) {
    log().error("call {}: no media ports: {}", call->id, media.error().message);
    return reject(503, "Service Unavailable", media.error().message);
  }
  call->media = *media;
  if (auto err = accept_offer(*call, a, *offer, remote->media)) {
    media_.destroy_call(media->id);
    log().warn("call {}: {}", call->id, *err);
    return reject(488, "Not Acceptable Here", *err);
  }
  media_.set_remote(media->id, Side::a, remote->media);

  // The offer for B, derived from A's offer.
  a.party = src->address;
  a.remote_sdp = offer_text;
  if (b.phone) {
    b.party = phone_party;
    b.profile = stack_.profile_named(callee->profile);
    if (!b.profile) b.profile = &p;
    call->target_uri = callee->route_uri;
  }
  auto b_offer = sdp_toward(*call, b, *offer, false);
  if (!b_offer) {
    media_.destroy_call(call->media->id);
    return reject(488, "Not Acceptable Here", "cannot build the offer for the callee");
  }
  call->b_offer = *b_offer;
  a.handle = Handle(nh);
  nua_handle_bind(nh, &a);
  ++stats_.calls_started;
  log().info("call {}: {} ({}) -> {} ({}), media ports A {} B {}", call->id, call->from_user,
             a.phone ? "phone " + src->to_string() : "trunk " + a.trunk, call->to_user,
             b.phone ? "phone " + call->target_uri : "trunk " + b.trunk, call->media->a.ports.rtp,
             call->media->b.ports.rtp);
  Call& ref = *call;
  calls_[call->id] = std::move(call);
  if (!place_b_leg(ref)) fail_call(ref, 503, "Service Unavailable");
}

bool B2bua::place_b_leg(Call& call) {
  Leg& b = *call.b;
  std::string to, from;
  if (!b.phone) {
    TrunkState* t = trunk_named(b.trunk);
    if (!t) return false;
    b.profile = stack_.profile_for(t->cfg->transport);
    if (!b.profile) return false;
    call.target_uri = trunk_uri(*t, b.trunk_address, call.to_user);
    to = trunk_uri(*t, b.trunk_address, call.to_user);
    to = to.substr(0, to.find(';'));
  } else {
    to = "sip:" + call.to_user + "@" + host_for_uri(b.profile->address);
  }
  from = "sip:" + (call.from_user.empty() ? std::string("anonymous") : call.from_user) + "@" +
         host_for_uri(b.profile->address);
  nua_handle_t* nh = nua_handle(b.profile->nua, &b, SIPTAG_TO_STR(to.c_str()),
                                SIPTAG_FROM_STR(from.c_str()), TAG_END());
  if (!nh) return false;
  b.handle = Handle(nh);
  b.answered = b.terminated = b.auth_tried = false;
  // RFC 3261 §16.6 step 3 applied across the B2BUA: a loop through icegate still ends.
  const std::string max_forwards = std::to_string(call.max_forwards);
  const char* contact = tls_contact(b);
  nua_invite(nh, NUTAG_URL(call.target_uri.c_str()), TAG_IF(contact, SIPTAG_CONTACT_STR(contact)),
             SIPTAG_CONTENT_TYPE_STR("application/sdp"),
             SIPTAG_MAX_FORWARDS_STR(max_forwards.c_str()),
             SIPTAG_PAYLOAD_STR(call.b_offer.c_str()), TAG_END());
  log().debug("call {}: INVITE {}", call.id, call.target_uri);
  return true;
}

void B2bua::on_invite_response(Leg& leg, int status, const char* phrase, const sip_t* sip) {
  Call& call = *leg.call;
  Leg* other = call.other(leg);
  if (other && other->reinvite_pending && !call.ending) {
    // The answer to a re-INVITE we forwarded from the other leg: pass it back, rewritten.
    if (status < 200) return;
    other->reinvite_pending = false;
    std::string answer;
    if (status < 300 && sip && sip->sip_payload) {
      const std::string body = payload_of(sip);
      if (auto d = sdp::parse(body)) {
        if (auto err = take_answer(call, leg, *d, body)) {
          log().warn("call {}: re-INVITE answer: {}", call.id, *err);
        }
        answer = sdp_toward(call, *other, *d, true).value_or("");
      }
    }
    const char* contact = tls_contact(*other);
    nua_respond(other->handle.get(), status, kept(other->handle.get(), phrase, status),
                TAG_IF(contact, SIPTAG_CONTACT_STR(contact)),
                TAG_IF(!answer.empty(), SIPTAG_CONTENT_TYPE_STR("application/sdp")),
                TAG_IF(!answer.empty(), SIPTAG_PAYLOAD_STR(answer.c_str())), TAG_END());
    return;
  }
  if (leg.side == Side::a || call.ending) return;  // only B's responses to the first INVITE
  Leg& a = *call.a;
  if (status < 200 && status > 100) {
    std::string early;
    if (sip && sip->sip_payload) {
      const std::string body = payload_of(sip);
      auto d = sdp::parse(body);
      if (d && !take_answer(call, leg, *d, body))
        early = sdp_toward(call, a, *d, true).value_or("");
    }
    a.ringing_sent = a.ringing_sent || status == 180;
    const char* contact = tls_contact(a);
    nua_respond(a.handle.get(), status, kept(a.handle.get(), phrase, status),
                TAG_IF(contact, SIPTAG_CONTACT_STR(contact)),
                TAG_IF(!early.empty(), SIPTAG_CONTENT_TYPE_STR("application/sdp")),
                TAG_IF(!early.empty(), SIPTAG_PAYLOAD_STR(early.c_str())), TAG_END());
    return;
  }
  if (status < 200) return;
  if (status < 300) {
    leg.answered = true;
    const std::string body = payload_of(sip);
    auto d = body.empty() ? decltype(sdp::parse(body))(unexpected(sdp::ParseError{0, "no SDP"}))
                          : sdp::parse(body);
    if (!d) {
      log().warn("call {}: 2xx from B without usable SDP: {}", call.id, d.error().to_string());
      return end_call(call, "answer without usable SDP");
    }
    auto r = analyse_remote(*d, leg.phone, cfg_->policy.remote_candidates.get());
    if (!r) {
      log().warn("call {}: {}", call.id, r.error());
      return end_call(call, "no usable ICE candidate in the answer");
    }
    if (auto err = accept_answer(call, leg, *d, r->media)) {
      log().warn("call {}: {}", call.id, *err);
      return end_call(call, *err);
    }
    leg.remote_sdp = body;
    media_.set_remote(call.media->id, Side::b, r->media);
    const auto built = sdp_toward(call, a, *d, true);
    if (!built) return end_call(call, "cannot build the answer for the caller");
    const std::string answer = *built;
    if (!leg.media_ready()) {
      // behaviour.md §7: the phone's leg is connected only once ICE (and DTLS, when used)
      // succeeded; until then the caller hears ringback.
      call.waiting_ice = true;
      call.pending_answer = answer;
      if (!a.ringing_sent) {
        const char* contact = tls_contact(a);
        nua_respond(a.handle.get(), SIP_180_RINGING, TAG_IF(contact, SIPTAG_CONTACT_STR(contact)),
                    TAG_END());
        a.ringing_sent = true;
      }
      log().info("call {}: B answered, waiting for ICE{} on the phone leg", call.id,
                 leg.keying == Keying::Kind::dtls ? " and DTLS" : "");
      call.ice_timer.reset(su_timer_create(su_root_task(stack_.root()), 0));
      su_timer_set_interval(call.ice_timer.get(), on_ice_timer,
                            reinterpret_cast<su_timer_arg_t*>(&call),
                            static_cast<su_duration_t>(cfg_->media.ice_timeout.count()));
      return;
    }
    return answer_a(call, answer);
  }
  // Final failure. A trunk that does not answer or is overloaded: try its next address.
  if (!leg.phone) {
    TrunkState* t = trunk_named(leg.trunk);
    if (t && (status == 401 || status == 407) && t->cfg->registration && !leg.auth_tried) {
      leg.auth_tried = true;
      const std::string realm = challenge_realm(status == 401 ? sip->sip_www_authenticate
                                                        : sip->sip_proxy_authenticate);
      const std::string cred = "Digest:" + realm + ":" + t->cfg->registration->username + ":" +
                               t->cfg->registration->password;
      nua_authenticate(leg.handle.get(), NUTAG_AUTH(cred.c_str()), TAG_END());
      return;
    }
    if (t && (status == 503 || status == 408) && leg.trunk_address + 1 < t->cfg->addresses.size()) {
      log().warn("call {}: trunk {} address {} answered {}: trying the next address", call.id,
                 t->cfg->name, t->cfg->addresses[leg.trunk_address].host, status);
      const std::size_t next = leg.trunk_address + 1;
      leg.handle.reset();
      leg.trunk_address = next;
      if (place_b_leg(call)) return;
    }
  }
  if (leg.phone && !leg.plain_retry && !leg.keys_negotiated && leg.keying == Keying::Kind::dtls &&
      (status == 488 || status == 415 || status == 606)) {
    // A softphone without DTLS-SRTP refuses the UDP/TLS/RTP/SAVPF offer: offer it RTP/AVP.
    if (auto a_offer = sdp::parse(call.a->remote_sdp)) {
      log().info("call {}: the phone refused the DTLS-SRTP offer ({}): offering plain RTP/AVP",
                 call.id, status);
      leg.plain_retry = true;
      leg.handle.reset();
      if (auto offer = sdp_toward(call, leg, *a_offer, false)) {
        call.b_offer = *offer;
        if (place_b_leg(call)) return;
      }
    }
  }
  log().info("call {}: B answered {} {}", call.id, status, phrase ? phrase : "");
  leg.terminated = true;
  fail_call(call, map_final(status), phrase ? phrase : "Failed");
}

void B2bua::answer_a(Call& call, const std::string& sdp) {
  call.waiting_ice = false;
  call.ice_timer.reset();
  Leg& a = *call.a;
  a.answered = true;
  ++stats_.calls_answered;
  const char* contact = tls_contact(a);
  nua_respond(a.handle.get(), SIP_200_OK, TAG_IF(contact, SIPTAG_CONTACT_STR(contact)),
              SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(sdp.c_str()),
              TAG_END());
  log().info("call {}: connected", call.id);
  if (!a.media_ready()) {
    // The calling phone starts its checks after our 200: it has ice-timeout to succeed.
    call.ice_timer.reset(su_timer_create(su_root_task(stack_.root()), 0));
    su_timer_set_interval(call.ice_timer.get(), on_ice_timer,
                          reinterpret_cast<su_timer_arg_t*>(&call),
                          static_cast<su_duration_t>(cfg_->media.ice_timeout.count()));
  }
}

namespace {
void on_ice_timer(Stack* /*stack*/, su_timer_t* /*t*/, su_timer_arg_t* arg) {
  // The timer belongs to the call and dies with it, so the call is alive here.
  auto* call = reinterpret_cast<Call*>(arg);
  call->owner->on_ice_timeout(call->id);
}
}  // namespace

void B2bua::on_reinvite(Leg& leg, const sip_t* sip) {
  Call& call = *leg.call;
  Leg* other = call.other(leg);
  const std::string body = payload_of(sip);
  if (call.ending || !other || !other->answered || !leg.answered) {
    nua_respond(leg.handle.get(), SIP_491_REQUEST_PENDING, TAG_END());
    return;
  }
  if (body.empty()) {
    // A re-INVITE without an offer: answer with our current description of this leg.
    nua_respond(leg.handle.get(), SIP_488_NOT_ACCEPTABLE, TAG_END());
    return;
  }
  const auto built = take_reoffer(call, leg, body, "re-INVITE");
  if (!built) {
    nua_respond(leg.handle.get(), built.error(), sip_status_phrase(built.error()), TAG_END());
    return;
  }
  const std::string& offer = *built;
  // The other leg's answer comes back as nua_r_invite on it (on_invite_response).
  leg.reinvite_pending = true;
  const char* contact = tls_contact(*other);
  nua_invite(other->handle.get(), TAG_IF(contact, SIPTAG_CONTACT_STR(contact)),
             SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(offer.c_str()),
             TAG_END());
  log().info("call {}: re-INVITE from {} forwarded", call.id, to_string(leg.side));
}

void B2bua::on_update(Profile& p, Leg& leg, const sip_t* sip) {
  // RFC 3311: UPDATE changes the session (or refreshes it) inside a dialog, early or confirmed.
  // It is passed to the other leg like a re-INVITE, with its SDP rewritten; the answer comes
  // back on nua_r_update of the other leg.
  Call& call = *leg.call;
  Leg* other = call.other(leg);
  const auto respond_now = [&](int status, const char* phrase) {
    nua_respond(leg.handle.get(), status, phrase, NUTAG_WITH_THIS(p.nua), TAG_END());
  };
  if (call.ending || !other || !other->handle || other->terminated) {
    return respond_now(SIP_481_NO_TRANSACTION);
  }
  if (leg.update || other->update || leg.reinvite_pending || other->reinvite_pending) {
    return respond_now(SIP_491_REQUEST_PENDING);  // RFC 3311 §5.2: one offer at a time
  }
  const std::string body = payload_of(sip);
  std::string offer;
  if (!body.empty()) {
    auto built = take_reoffer(call, leg, body, "UPDATE");
    if (!built) return respond_now(built.error(), sip_status_phrase(built.error()));
    offer = std::move(*built);
  }
  if (!leg.update.save(p.nua)) return respond_now(SIP_500_INTERNAL_SERVER_ERROR);
  const char* contact = tls_contact(*other);
  nua_update(other->handle.get(), TAG_IF(contact, SIPTAG_CONTACT_STR(contact)),
             TAG_IF(!offer.empty(), SIPTAG_CONTENT_TYPE_STR("application/sdp")),
             TAG_IF(!offer.empty(), SIPTAG_PAYLOAD_STR(offer.c_str())), TAG_END());
  log().info("call {}: UPDATE from {} forwarded{}", call.id, to_string(leg.side),
             offer.empty() ? " (no SDP)" : "");
}

void B2bua::on_update_response(Leg& leg, int status, const char* phrase, const sip_t* sip) {
  Call& call = *leg.call;
  Leg* other = call.other(leg);
  if (status < 200 || !other || !other->update) return;
  std::string answer;
  if (status < 300 && sip && sip->sip_payload) {
    const std::string body = payload_of(sip);
    if (auto d = sdp::parse(body)) {
      if (auto err = take_answer(call, leg, *d, body)) {
        log().warn("call {}: UPDATE answer: {}", call.id, *err);
      }
      answer = sdp_toward(call, *other, *d, true).value_or("");
    }
  }
  // 401/407 from the far end mean nothing to the other party (as map_final does for INVITE).
  const int code = status == 401 || status == 407 ? 500 : status;
  const char* contact = tls_contact(*other);
  nua_respond(other->handle.get(), code, kept(other->handle.get(), phrase, code),
              NUTAG_WITH_SAVED(other->update.get()), TAG_IF(contact, SIPTAG_CONTACT_STR(contact)),
              TAG_IF(!answer.empty(), SIPTAG_CONTENT_TYPE_STR("application/sdp")),
              TAG_IF(!answer.empty(), SIPTAG_PAYLOAD_STR(answer.c_str())), TAG_END());
  other->update.reset();
  log().info("call {}: UPDATE answered {} on {}", call.id, status, to_string(leg.side));
}

void B2bua::on_cancel(Leg& leg) {
  Call& call = *leg.call;
  // nua has answered the CANCEL with 200 and the INVITE with 487 (RFC 3261 §9.2).
  log().info("call {}: CANCEL from the caller", call.id);
  leg.terminated = true;
  end_call(call, "cancelled by the caller");
}

void B2bua::on_bye(Leg& leg) {
  Call& call = *leg.call;
  log().info("call {}: BYE from {}", call.id, to_string(leg.side));
  leg.answered = false;  // nua answered the BYE; the dialog is gone
  end_call(call, std::string("BYE from ") + (leg.side == Side::a ? "the caller" : "the callee"));
}

void B2bua::on_state(Leg& leg, tagi_t tags[]) {
  int state = nua_callstate_init;
  tl_gets(tags, NUTAG_CALLSTATE_REF(state), TAG_END());
  if (state != nua_callstate_terminated) return;
  leg.terminated = true;
  Call& call = *leg.call;
  if (!call.ending) {
    // A leg ended without BYE/CANCEL reaching us (e.g. a transaction timeout on our 200).
    end_call(call, "leg terminated");
  }
  maybe_destroy(call);
}

void B2bua::fail_call(Call& call, int status, const std::string& phrase) {
  ++stats_.calls_failed;
  Leg& a = *call.a;
  if (!a.answered && !a.terminated && a.handle) {
    nua_respond(a.handle.get(), status, kept(a.handle.get(), phrase.c_str(), status), TAG_END());
  }
  end_call(call, phrase);
}

void B2bua::end_call(Call& call, const std::string& reason) {
  const bool first = !call.ending;
  call.ending = true;
  call.ice_timer.reset();
  const std::string reason_hdr = "SIP;cause=200;text=\"" + reason + "\"";
  for (Leg* l : {call.a.get(), call.b.get()}) {
    if (!l || !l->handle || l->terminated) continue;
    if (l->answered) {
      nua_bye(l->handle.get(), SIPTAG_REASON_STR(reason_hdr.c_str()), TAG_END());
      l->answered = false;
    } else if (l->side == Side::a) {
      nua_respond(l->handle.get(), 480, "Temporarily Unavailable",
                  SIPTAG_REASON_STR(reason_hdr.c_str()), TAG_END());
    } else {
      nua_cancel(l->handle.get(), TAG_END());
    }
  }
  if (first && call.media) {
    log().info("call {}: ending ({}); media: {}", call.id, reason, media_.describe(call.media->id));
    media_.destroy_call(call.media->id);
  }
  maybe_destroy(call);
}

void B2bua::maybe_destroy(Call& call) {
  const auto done = [](const Leg* l) { return !l || !l->handle || l->terminated; };
  if (!call.ending || !done(call.a.get()) || !done(call.b.get())) return;
  calls_.erase(call.id);  // destroys the legs, releasing their handles
}

Call* B2bua::find_call(std::uint64_t media_id) {
  for (auto& [id, c] : calls_) {
    if (c->media && c->media->id == media_id) return c.get();
  }
  return nullptr;
}

void B2bua::on_media_event(const MediaEvent& ev) {
  Call* call = find_call(ev.call);
  if (!call || call->ending) return;
  Leg& leg = call->leg(ev.side);
  // A phone leg's media is ready once ICE and (with DTLS) the handshake passed: the trunk's
  // 200 waits for B's, the ICE deadline for A's.
  const auto leg_progressed = [&] {
    if (!leg.media_ready()) return;
    if (call->waiting_ice && ev.side == Side::b) {
      answer_a(*call, call->pending_answer);
    } else if (ev.side == Side::a && call->a->answered) {
      call->ice_timer.reset();
    }
  };
  switch (ev.kind) {
    case MediaEventKind::ice_connected:
      leg.ice_connected = true;
      log().info("call {}: ICE connected on {} ({})", call->id, to_string(ev.side), ev.detail);
      return leg_progressed();
    case MediaEventKind::secure_media_up:
      leg.secure_up = true;
      log().info("call {}: DTLS-SRTP up on {} ({})", call->id, to_string(ev.side), ev.detail);
      return leg_progressed();
    case MediaEventKind::path_changed:
      log().info("call {}: media path on {} now {}", call->id, to_string(ev.side), ev.detail);
      return;
    case MediaEventKind::consent_lost:
      log().warn("call {}: ICE consent lost on {}: {}", call->id, to_string(ev.side), ev.detail);
      return end_call(*call, "ICE consent lost");
    case MediaEventKind::secure_media_failed:
      log().warn("call {}: DTLS-SRTP failed on {}: {}", call->id, to_string(ev.side), ev.detail);
      return end_call(*call, "DTLS-SRTP failed");
    case MediaEventKind::media_timeout:
      log().warn("call {}: media timeout on {}: {}", call->id, to_string(ev.side), ev.detail);
      return end_call(*call, "media timeout");
  }
}

void B2bua::on_ice_timeout(const std::string& call_id) {
  auto it = calls_.find(call_id);
  if (it == calls_.end() || it->second->ending) return;
  Call& call = *it->second;
  const bool a_waiting = !call.a->media_ready();
  const Side side = call.waiting_ice || !a_waiting ? Side::b : Side::a;
  const Leg& leg = call.leg(side);
  const std::string media = call.media ? media_.describe(call.media->id) : std::string("no media");
  if (leg.ice_connected) {
    // ICE passed but the DTLS handshake on the selected path did not finish (behaviour.md §9).
    log().warn("call {}: DTLS-SRTP did not complete on {} within {} ms after ICE ({})", call.id,
               to_string(side), cfg_->media.ice_timeout.count(), media);
    if (call.waiting_ice) return fail_call(call, 480, "DTLS-SRTP failed");
    return end_call(call, "DTLS-SRTP failed");
  }
  // behaviour.md §9 pattern 1/6: say what was tried so support can tell routing from firewall.
  log().warn(
      "call {}: ICE did not succeed on {} within {} ms: no valid binding request arrived "
      "({}); check routing/firewall for the RTP range, or try the pin-hole puncher",
      call.id, to_string(side), cfg_->media.ice_timeout.count(), media);
  if (call.waiting_ice) {
    fail_call(call, 480, "ICE failed");
  } else {
    end_call(call, "ICE failed");
  }
}

}  // namespace icegate::sip
