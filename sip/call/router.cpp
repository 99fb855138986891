// A new INVITE in named steps, and the dispatch of leg events to their calls.
#include "sip/call/router.hpp"

#include <strings.h>

#include <cinttypes>
#include <cstdio>
#include <random>
#include <utility>

#include "sip/call_sdp.hpp"
#include "sip/log.hpp"

namespace icegate::sip {

std::string Source::to_string() const {
  const std::string host = address.address.is_v4() ? address.address.to_string()
                                                   : "[" + address.address.to_string() + "]";
  return host + ":" + std::to_string(address.port) + "/" + std::string(conf::to_string(transport));
}

CallRouter::CallRouter(SignallingPort& signalling, MediaPort& media, DigestAuth& auth,
                       const Registrar& registrar, TrunkTable& trunks,
                       std::shared_ptr<const conf::Config> cfg)
    : signalling_(signalling), media_(media), auth_(auth), registrar_(registrar), trunks_(trunks) {
  set_config(std::move(cfg));  // router_auth.cpp: also the guard's and the digest's settings
  // RFC 3261 §8.1.1.4: Call-IDs unique in space and time; 64 random bits per process.
  std::random_device rd;
  char buf[24];
  std::snprintf(buf, sizeof buf, "%08x%08x", rd(), rd());
  call_id_prefix_ = buf;
}

CallRouter::~CallRouter() {
  // Calls still here at destruction release their links and media without signalling.
  legs_.clear();
  calls_.clear();
}

void CallRouter::reject(LegId leg, const InboundRequest& req, int status, const std::string& phrase,
                        const char* cause, const std::string& why) {
  LegLink owned(signalling_, leg);
  log().info("INVITE {} from {} rejected: {} {} ({})", req.call_id.empty() ? "-" : req.call_id,
             req.source ? req.source->to_string() : std::string("?"), status, phrase, why);
  ++stats_.invites_rejected[{status, cause}];
  if (status == 488) ++stats_.sdp_rejections[cause];
  Reply r{status, phrase, {}, {}, {}, {}};
  if (status == 503 && draining_) r.retry_after = 60;  // RFC 3261 §21.5.4: try another node
  signalling_.respond(leg, r);
}

bool CallRouter::admitted(LegId leg, const InboundRequest& req) {
  const auto& acl = cfg_->policy.sip_inbound;
  if (!acl || !req.source) return true;
  const auto d = acl->check(req.source->address.address);
  if (d.allowed()) return true;
  // behaviour.md §6 / §9 pattern 4: this exact line is what support engineers grep for.
  log().warn("IP {} Rejected by acl \"{}\" (INVITE {}, {})",
             req.source->address.address.to_string(), acl->name(),
             req.call_id.empty() ? "-" : req.call_id, d.explain());
  ++stats_.acl_rejections[{acl->name(), "INVITE"}];
  ++stats_.invites_rejected[{403, "acl"}];
  LegLink owned(signalling_, leg);
  signalling_.respond(leg, Reply{403, "Forbidden", {}, {}, {}, {}});
  return false;
}

std::optional<CallRouter::Route> CallRouter::route(LegId leg, const InboundRequest& req,
                                                   const std::string& to_user, bool from_trunk) {
  Route out;
  if (const conf::User* user = cfg_->find_user(to_user)) {
    out.to_phone = true;
    out.callee = registrar_.lookup(to_user, Registrar::Clock::now());
    if (!out.callee && user->contact) {
      // A device that never registers (issue 11): its static contact, unless a registration
      // is live (that wins, above).
      out.static_contact = user->contact;
      return out;
    }
    if (!out.callee) {
      reject(leg, req, 480, "Temporarily Unavailable", "not-registered", "user " + to_user + " not registered");
      return std::nullopt;
    }
    return out;
  }
  if (from_trunk) {
    // From a trunk: to the user named in the Request-URI (behaviour.md §7).
    reject(leg, req, 404, "Not Found", "no-such-user", "no user \"" + to_user + "\"");
    return std::nullopt;
  }
  const conf::Route* r = cfg_->route_for(to_user);
  const TrunkEntry* t = r ? trunks_.named(r->trunk) : nullptr;
  if (!t) {
    reject(leg, req, 404, "Not Found", "no-route", "no route for \"" + to_user + "\"");
    return std::nullopt;
  }
  out.trunk = t->cfg->name;
  return out;
}

void CallRouter::on_invite(LegId leg, const InboundRequest& req) {
  ++stats_.requests["INVITE"];
  if (!admitted(leg, req)) return;
  if (draining_) {
    return reject(leg, req, 503, "Service Unavailable", "draining", "draining: no new calls");
  }
  if (!req.source) return reject(leg, req, 400, "Bad Request", "bad-request", "no source address");
  // RFC 3261 §16.3 step 3 (the B2BUA keeps the hop count going to stop loops).
  const unsigned long max_forwards = req.max_forwards.value_or(70);
  if (max_forwards == 0) return reject(leg, req, 483, "Too Many Hops", "too-many-hops", "Max-Forwards reached 0");

  const TrunkEntry* from_trunk = trunks_.of_source(req.source->address.address,
                                                   req.source->address.port, req.source->transport);
  std::string from_user = req.from_user;
  if (!from_trunk) {
    auto user = authenticated_user(leg, req);
    if (!user) return;
    from_user = *user;
  }
  auto r = route(leg, req, req.request_user, from_trunk != nullptr);
  if (!r) return;

  // The offer is read only once the caller is known (no SDP parsing for strangers).
  if (!req.content_type.empty() && strcasecmp(req.content_type.c_str(), "application/sdp") != 0) {
    LegLink owned(signalling_, leg);
    ++stats_.invites_rejected[{415, "unsupported-content"}];
    Reply reply{415, "Unsupported Media Type", {}, {}, {}, {}};
    reply.accept = "application/sdp";
    signalling_.respond(leg, reply);
    return;
  }
  if (req.body.empty()) {
    return reject(leg, req, 488, "Not Acceptable Here", "no-sdp-offer", "no SDP offer in the INVITE (late offer)");
  }
  auto offer = sdp::parse(req.body);
  if (!offer) {
    return reject(leg, req, 400, "Bad Request", "malformed-sdp", "malformed SDP: " + offer.error().to_string());
  }

  char idbuf[32];
  std::snprintf(idbuf, sizeof idbuf, "c%" PRIu64, next_call_++);
  auto call = std::make_unique<Call>(*this, idbuf);
  call->started = std::chrono::steady_clock::now();
  call->a_call_id = req.call_id;
  call->to_user = req.request_user;
  call->from_user = from_user;
  call->max_forwards = max_forwards - 1;
  Leg& a = call->a();
  Leg& b = call->b();
  a.phone = from_trunk == nullptr;
  if (from_trunk) a.trunk = from_trunk->cfg->name;
  a.profile = req.profile;
  a.party = req.source->address.address;
  b.phone = r->to_phone;
  b.trunk = r->trunk;
  // A called phone is offered ICE: its leg waits for ICE before it counts as connected
  // (behaviour.md §7) unless its answer has none.
  if (b.phone) b.media_to(MediaState::waiting_ice);
  if (r->callee) {
    b.party = r->callee->source;
    b.profile = r->callee->profile;
    b.via =
        Source{TransportAddress{r->callee->source, r->callee->source_port}, r->callee->transport,
               std::nullopt};
    if (r->callee->bridge_port) {  // a WebSocket phone: down its own connection
      b.via->next_hop = TransportAddress{acl::Address::v4(0x7f000001u), r->callee->bridge_port};
    }
    call->target_uri = r->callee->route_uri;
  } else if (r->static_contact) {
    // Not behind NAT: no forced hop (the dialog follows its Contact), its SDP taken as it is.
    // Sent from a listener of the contact's transport (check-config makes sure there is one).
    const conf::StaticContact& c = *r->static_contact;
    b.party = c.address;
    for (const auto& l : cfg_->sip.listeners) {
      if (l.transport == c.transport) {
        b.profile = l.name;
        break;
      }
    }
    call->target_uri = c.uri;
    log().info("call {}: user {} has no registration: to its static contact {}", call->id(),
               call->to_user, c.uri);
  }

  // The caller's media, with the candidate ACL applied to a softphone's candidates.
  auto remote = analyse_remote(*offer, a.phone, cfg_->policy.remote_candidates.get());
  if (!remote) {
    log().warn("call {}: {}", call->id(), remote.error());
    return reject(leg, req, 488, "Not Acceptable Here", "candidates-blocked",
                  "no usable ICE candidate");
  }
  if (!remote->dropped.empty()) log().info("call {}: {}", call->id(), remote->dropped);
  if (!remote->peer_reflexive.empty()) log().info("call {}: {}", call->id(), remote->peer_reflexive);
  // A calling phone without ICE (desk phones, apps with ICE off) is a plain leg that latches.
  const bool a_ice = a.phone && remote->media.ice.has_value();
  if (a_ice) a.media_to(MediaState::waiting_ice);

  MediaCallSetup setup;
  setup.label = call->id();
  setup.a = {a_ice, a_ice ? offers_rtcp_mux(*offer) : false, {}, a.phone, a.party,
             cfg_->policy.remote_candidates};
  // A called phone is offered rtcp-mux with a fallback RTCP port (baresip, linphone decline it).
  setup.b = {b.phone, false, {}, b.phone, {}, cfg_->policy.remote_candidates};
  // A phone's group may set latching for its own leg (issue 18: per user group and globally).
  if (a.phone) setup.a.latching = group_latching(from_user);
  if (b.phone) setup.b.latching = group_latching(call->to_user);
  if (r->callee || r->static_contact) setup.b.party = b.party;
  setup.from_user = call->from_user;
  setup.to_user = call->to_user;
  setup.a_call_id = call->a_call_id;
  setup.b_call_id = call_id_prefix_ + "-" + call->id();
  auto media = media_.create_call(setup);
  if (!media) {
    log().error("call {}: no media ports: {}", call->id(), media.error().message);
    return reject(leg, req, 503, "Service Unavailable", "no-media-ports", media.error().message);
  }
  call->media.emplace(media_, *media);
  if (auto err = call->take_first_offer(*offer, req.body, remote->media)) {
    log().warn("call {}: {}", call->id(), *err);
    return reject(leg, req, 488, "Not Acceptable Here", "unusable-offer", *err);
  }
  Call& ref = *call;
  calls_[ref.id()] = std::move(call);
  bind(a, leg);
  // behaviour.md §7: a phone's in-dialog requests go where its messages come from (NAT).
  if (a.phone) {
    signalling_.route_via(leg, *req.source);
    a.via = *req.source;
  }
  a.to(LegState::inviting);
  ref.b_call_id = setup.b_call_id;
  ++stats_.calls_active[ref.direction()];
  // The call's first line: both legs' Call-IDs join icegate's log to traces and phone logs.
  log().info("call {}: {} ({}) -> {} ({}), Call-ID A {} B {}, media ports A {} B {}", ref.id(),
             ref.from_user, a.phone ? "phone " + req.source->to_string() : "trunk " + a.trunk,
             ref.to_user, b.phone ? "phone " + ref.target_uri : "trunk " + b.trunk, ref.a_call_id,
             ref.b_call_id, ref.media->call().a.ports.rtp, ref.media->call().b.ports.rtp);
  if (!ref.offer_to_b(*offer)) ref.fail(503, "Service Unavailable");
}

std::optional<bool> CallRouter::group_latching(const std::string& user) const {
  const conf::User* u = cfg_->find_user(user);
  const conf::Group* g = u && !u->group.empty() ? cfg_->find_group(u->group) : nullptr;
  return g ? g->latching : std::nullopt;
}

Leg* CallRouter::leg_of(LegId id) {
  auto it = legs_.find(id);
  return it == legs_.end() ? nullptr : it->second;
}

bool CallRouter::on_reinvite(LegId id, const InboundRequest& req) {
  Leg* leg = leg_of(id);
  if (!leg) return false;
  leg->call().on_reinvite(*leg, req);
  return true;
}

bool CallRouter::on_update(LegId id, std::uint64_t request, const InboundRequest& req) {
  Leg* leg = leg_of(id);
  if (!leg) return false;
  leg->call().on_update(*leg, request, req);
  return true;
}

void CallRouter::on_invite_response(LegId id, const InboundResponse& r) {
  if (Leg* leg = leg_of(id)) leg->call().on_invite_response(*leg, r);
}

void CallRouter::on_update_response(LegId id, const InboundResponse& r) {
  if (Leg* leg = leg_of(id)) leg->call().on_update_response(*leg, r);
}

void CallRouter::on_cancel(LegId id) {
  if (Leg* leg = leg_of(id)) leg->call().on_cancel(*leg);
}

void CallRouter::on_bye(LegId id) {
  if (Leg* leg = leg_of(id)) leg->call().on_bye(*leg);
}

void CallRouter::on_terminated(LegId id) {
  if (Leg* leg = leg_of(id)) leg->call().on_terminated(*leg);
}

void CallRouter::on_media_event(const MediaEvent& ev) {
  for (auto& [id, c] : calls_) {
    if (c->media && c->media->id() == ev.call) return c->on_media_event(ev);
  }
}

void CallRouter::end_all(const std::string& reason) {
  std::vector<Call*> live;
  for (auto& [id, c] : calls_) live.push_back(c.get());
  for (Call* c : live) c->end(reason);
}

const Call* CallRouter::find(const std::string& id) const {
  auto it = calls_.find(id);
  return it == calls_.end() ? nullptr : it->second.get();
}

const Call* CallRouter::call_of(LegId leg) const {
  auto it = legs_.find(leg);
  return it == legs_.end() ? nullptr : &it->second->call();
}

void CallRouter::bind(Leg& leg, LegId id) {
  unbind(leg);
  leg.link = LegLink(signalling_, id);
  legs_[id] = &leg;
}

void CallRouter::unbind(Leg& leg) {
  if (!leg.link) return;
  legs_.erase(leg.link.id());
  leg.link.reset();
}

void CallRouter::destroy(Call& call) {
  unbind(call.a());
  unbind(call.b());
  const std::string direction = call.direction();
  ++stats_.calls_ended[{direction, call.a_final}];
  if (auto it = stats_.calls_active.find(direction); it != stats_.calls_active.end() && it->second) {
    --it->second;
  }
  calls_.erase(call.id());
  if (draining_ && calls_.empty() && on_idle_) std::exchange(on_idle_, nullptr)();
}

bool CallRouter::hang_up(const std::string& id, const std::string& reason) {
  auto it = calls_.find(id);
  if (it == calls_.end() || it->second->ending()) return false;
  ++stats_.operator_hangups;
  log().info("call {}: hung up by the operator", id);
  Call& c = *it->second;
  if (c.a().link && c.a().state() != LegState::confirmed) {
    c.fail(480, "Temporarily Unavailable");  // not answered yet: the caller gets a final answer
  } else {
    c.end(reason);
  }
  return true;
}

void CallRouter::drain(std::function<void()> on_idle) {
  draining_ = true;
  log().info("draining: new calls get 503, {} call(s) in progress go on", calls_.size());
  on_idle_ = std::move(on_idle);
  if (calls_.empty() && on_idle_) std::exchange(on_idle_, nullptr)();
}

}  // namespace icegate::sip
