// A call's flow: B's INVITE and its responses, A's answer, re-INVITE, UPDATE, CANCEL, BYE, media
// events and the ICE deadline, and ending.
#include "sip/call/call.hpp"

#include <algorithm>
#include <vector>

#include "sip/call/router.hpp"
#include "sip/log.hpp"

namespace icegate::sip {
namespace {

// Final responses passed back to the caller: the far end's code where it means something to a
// caller, otherwise the nearest that does (behaviour.md §7: 486, 404, 408, 480, 487, 503).
int map_final(int status) {
  if (status >= 300 && status < 400) return 480;   // no redirects across the B2BUA
  if (status == 401 || status == 407) return 403;  // the far end wanted credentials we lack
  if (status >= 400 && status < 700) return status;
  return 500;
}

// RFC 1918, RFC 6598 (carrier-grade NAT), link-local and unique-local addresses: behind a NAT.
bool is_private(const acl::Address& a) {
  static const std::vector<acl::Cidr> nets = [] {
    std::vector<acl::Cidr> out;
    for (const char* c : {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
                          "169.254.0.0/16", "fc00::/7", "fe80::/10"}) {
      out.push_back(*acl::Cidr::parse(c));
    }
    return out;
  }();
  return std::any_of(nets.begin(), nets.end(), [&](const acl::Cidr& n) { return n.contains(a); });
}

// Whether two SDPs icegate built describe the same session (the o= line, whose version moves
// with every SDP, aside).
bool same_session(const std::string& x, const std::string& y) {
  const auto without_origin = [](const std::string& s) {
    std::string out;
    std::size_t start = 0;
    while (start < s.size()) {
      const auto end = std::min(s.find('\n', start), s.size());
      if (s.compare(start, 2, "o=") != 0) out.append(s, start, end - start);
      start = end + 1;
    }
    return out;
  };
  return !x.empty() && without_origin(x) == without_origin(y);
}

Reply reply(int status, std::string phrase, std::string sdp = {}) {
  Reply r;
  r.status = status;
  r.phrase = std::move(phrase);
  r.sdp = std::move(sdp);
  return r;
}

}  // namespace

std::string_view to_string(CallState s) {
  switch (s) {
    case CallState::routing:
      return "routing";
    case CallState::calling:
      return "calling";
    case CallState::answering:
      return "answering";
    case CallState::connected:
      return "connected";
    case CallState::ending:
      return "ending";
  }
  return "?";
}

bool legal(CallState from, CallState to) {
  using S = CallState;
  if (to == S::ending) return from != S::ending;
  switch (from) {
    case S::routing:
      return to == S::calling;
    case S::calling:
      return to == S::calling || to == S::answering || to == S::connected;
    case S::answering:
      return to == S::connected;
    case S::connected:
    case S::ending:
      return false;
  }
  return false;
}

Call::Call(CallRouter& router, std::string id)
    : router_(router), id_(std::move(id)), a_(*this, Side::a), b_(*this, Side::b) {}

Call::~Call() = default;

bool Call::to(CallState next) {
  if (next == state_ && next != CallState::ending) return true;
  if (!legal(state_, next)) {
    log().error("call {}: illegal transition {} -> {} ignored", id_, to_string(state_),
                to_string(next));
    return false;
  }
  state_ = next;
  return true;
}

std::string Call::describe_states() const {
  return std::string(to_string(state_)) + " A=" + std::string(to_string(a_.state())) + "/" +
         std::string(to_string(a_.media_state())) + " B=" + std::string(to_string(b_.state())) +
         "/" + std::string(to_string(b_.media_state()));
}

const char* Call::direction() const {
  if (!a_.phone) return kInbound;
  return b_.phone ? kInternal : kOutbound;
}

bool Call::place_b() {
  Leg& b = b_;
  // A later attempt is a new INVITE transaction and dialog: a Call-ID of its own, so that a peer
  // keying calls on Call-ID (sipp) never takes it for the first one.
  if (++b_attempts > 1) {
    b_call_id = b_call_id.substr(0, b_call_id.rfind('.')) + "." + std::to_string(b_attempts);
    log().info("call {}: attempt {} toward B, Call-ID {}", id_, b_attempts, b_call_id);
  }
  OutboundInvite inv;
  inv.from_user = from_user.empty() ? std::string("anonymous") : from_user;
  inv.max_forwards = max_forwards;  // RFC 3261 §16.6 step 3 applied across the B2BUA
  inv.sdp = b_offer;
  inv.call_id = b_call_id;
  if (!b.phone) {
    const TrunkEntry* t = router_.trunks().named(b.trunk);
    if (!t) return false;
    inv.transport = t->cfg->transport;
    target_uri = TrunkTable::uri(*t, b.trunk_address, to_user);
    inv.to = target_uri.substr(0, target_uri.find(';'));
  } else {
    inv.profile = b.profile;
    inv.fallback_profile = a_.profile;
    inv.to_user = to_user;
    inv.via = b.via;
  }
  inv.request_uri = target_uri;
  const LegId id = router_.signalling().invite(inv);
  if (id == 0) return false;
  router_.bind(b, id);
  b.auth_rounds = 0;
  b.to(LegState::inviting);
  to(CallState::calling);
  log().debug("call {}: INVITE {}", id_, target_uri);
  return true;
}

void Call::on_invite_response(Leg& leg, const InboundResponse& r) {
  Leg& other = this->other(leg);
  if (other.forwarded == ForwardedOffer::reinvite && !ending()) {
    // The answer to a re-INVITE forwarded from the other leg: pass it back, rewritten.
    if (r.status < 200) return;
    other.forwarded = ForwardedOffer::none;
    std::string answer;
    if (r.status < 300 && !r.body.empty()) {
      if (auto d = sdp::parse(r.body)) {
        if (auto err = take_answer(leg, *d, r.body)) {
          log().warn("call {}: re-INVITE answer: {}", id_, *err);
        }
        answer = sdp_toward(other, *d, true).value_or("");
      }
    }
    router_.signalling().respond(other.link.id(), reply(r.status, r.phrase, answer));
    return;
  }
  if (leg.side() == Side::a || ending()) return;  // only B's responses to the first INVITE
  if (r.status <= 100) return;
  if (r.status < 200) {
    leg.to(LegState::early);
    std::string early;
    if (!r.body.empty()) {
      auto d = sdp::parse(r.body);
      if (d && !take_answer(leg, *d, r.body)) early = sdp_toward(a_, *d, true).value_or("");
    }
    a_.to(LegState::early);
    a_.last_provisional = r.status;
    router_.signalling().respond(a_.link.id(), reply(r.status, r.phrase, early));
    return;
  }
  if (r.status < 300) return on_b_answered(leg, r);
  on_b_failed(leg, r);
}

void Call::note_nat(const Leg& leg, RemoteMedia& media) {
  if (!leg.phone || media.rtp.empty() || media.rtp.front().address == leg.party) return;
  const acl::Address sdp_address = media.rtp.front().address;
  if (!nat_noted_) {
    // behaviour.md §9: say once per call that a phone is behind NAT, with both addresses.
    nat_noted_ = true;
    log().info("call {}: phone {} is behind NAT: SIP from {}, SDP says {}", id_,
               leg.side() == Side::a ? from_user : to_user, leg.party.to_string(),
               sdp_address.to_string());
  }
  // A phone without ICE behind NAT: its private SDP address cannot be reached; the address its
  // SIP came from is the best first guess until its own media teaches the real one (latching).
  if (!media.ice && is_private(sdp_address) && !is_private(leg.party)) {
    for (auto& t : media.rtp) t.address = leg.party;
    for (auto& t : media.rtcp) t.address = leg.party;
  }
}

void Call::on_b_answered(Leg& leg, const InboundResponse& r) {
  leg.to(LegState::confirmed);
  auto d = r.body.empty() ? decltype(sdp::parse(r.body))(unexpected(sdp::ParseError{0, "no SDP"}))
                          : sdp::parse(r.body);
  if (!d) {
    log().warn("call {}: 2xx from B without usable SDP: {}", id_, d.error().to_string());
    return end("answer without usable SDP");
  }
  auto remote = analyse_remote(*d, leg.phone, router_.config().policy.remote_candidates.get());
  if (!remote) {
    log().warn("call {}: {}", id_, remote.error());
    return end("no usable ICE candidate in the answer");
  }
  if (auto err = accept_answer(leg, *d, remote->media)) {
    log().warn("call {}: {}", id_, *err);
    return end(*err);
  }
  leg.remote_sdp = r.body;
  note_nat(leg, remote->media);
  if (leg.phone && !remote->media.ice && leg.media_state() == MediaState::waiting_ice) {
    leg.media_to(MediaState::plain);
    log().info(
        "call {}: the phone answered without ICE: plain RTP, media source learnt from its "
        "first packets",
        id_);
  }
  router_.media().set_remote(media->id(), Side::b, remote->media);
  const auto built = sdp_toward(a_, *d, true);
  if (!built) return end("cannot build the answer for the caller");
  if (!leg.media_ready()) {
    // behaviour.md §7: the phone's leg is connected only once ICE (and DTLS, when used)
    // succeeded; until then the caller hears ringback.
    to(CallState::answering);
    pending_answer = *built;
    if (a_.last_provisional != 180) {
      a_.to(LegState::early);
      a_.last_provisional = 180;
      router_.signalling().respond(a_.link.id(), reply(180, "Ringing"));
    }
    log().info("call {}: B answered, waiting for ICE{} on the phone leg", id_,
               leg.keying == Keying::Kind::dtls ? " and DTLS" : "");
    arm_ice_timer();
    return;
  }
  answer_a(*built);
}

void Call::on_b_failed(Leg& leg, const InboundResponse& r) {
  // A trunk that wants credentials, does not answer or is overloaded: authenticate once, or try
  // its next address.
  if (!leg.phone) {
    const TrunkEntry* t = router_.trunks().named(leg.trunk);
    if (t && (r.status == 401 || r.status == 407) && t->cfg->registration && leg.auth_rounds == 0) {
      ++leg.auth_rounds;
      router_.signalling().authenticate(leg.link.id(), "Digest:" + r.challenge_realm + ":" +
                                                           t->cfg->registration->username + ":" +
                                                           t->cfg->registration->password);
      return;
    }
    if (t && (r.status == 503 || r.status == 408) &&
        leg.trunk_address + 1 < t->cfg->addresses.size()) {
      log().warn("call {}: trunk {} address {} answered {}: trying the next address", id_,
                 t->cfg->name, t->cfg->addresses[leg.trunk_address].host, r.status);
      router_.unbind(leg);
      leg.to(LegState::idle);
      ++leg.trunk_address;
      if (place_b()) return;
    }
  }
  if (leg.phone && leg.offer_profile == OfferProfile::configured && leg.keys == KeyState::unset &&
      leg.keying == Keying::Kind::dtls && (r.status == 488 || r.status == 415 || r.status == 606)) {
    // A softphone without DTLS-SRTP refuses the UDP/TLS/RTP/SAVPF offer: offer it RTP/AVP.
    if (auto a_offer = sdp::parse(a_.remote_sdp)) {
      log().info("call {}: the phone refused the DTLS-SRTP offer ({}): offering plain RTP/AVP", id_,
                 r.status);
      leg.offer_profile = OfferProfile::plain_rtp;
      router_.unbind(leg);
      leg.to(LegState::idle);
      if (auto offer = sdp_toward(leg, *a_offer, false)) {
        b_offer = *offer;
        if (place_b()) return;
      }
    }
  }
  log().info("call {}: B answered {} {}", id_, r.status, r.phrase);
  leg.to(LegState::terminated);
  fail(map_final(r.status), r.phrase.empty() ? "Failed" : r.phrase);
}

void Call::answer_a(std::string sdp) {
  to(CallState::connected);
  pending_answer.clear();
  ice_timer_.reset();
  a_.to(LegState::confirmed);
  a_final = 200;
  answered_at = std::chrono::steady_clock::now();
  ++router_.stats().calls_answered;
  router_.stats().setup_seconds.observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  router_.signalling().respond(a_.link.id(), reply(200, "OK", sdp));
  log().info("call {}: connected", id_);
  // The calling phone starts its checks after our 200: it has ice-timeout to succeed.
  if (!a_.media_ready()) arm_ice_timer();
}

void Call::arm_ice_timer() {
  ice_timer_ = router_.signalling().start_timer(router_.config().media.ice_timeout,
                                                [this] { on_ice_timeout(); });
}

void Call::on_reinvite(Leg& leg, const InboundRequest& req) {
  Leg& other = this->other(leg);
  if (ending() || !other.confirmed() || !leg.confirmed()) {
    router_.signalling().respond(leg.link.id(), reply(491, "Request Pending"));
    return;
  }
  if (req.body.empty()) {
    // A re-INVITE without an offer (late offer) is not relayed.
    router_.signalling().respond(leg.link.id(), reply(488, "Not Acceptable Here"));
    return;
  }
  const OtherLegSdp before{other.local_sdp, other.sdp_version};
  const auto built = take_reoffer(leg, req.body, "re-INVITE");
  if (!built) {
    router_.signalling().respond(leg.link.id(), reply(built.error(), ""));
    return;
  }
  if (auto answer = answer_locally(leg, before, *built)) {
    router_.signalling().respond(leg.link.id(), reply(200, "OK", *answer));
    return;
  }
  // The other leg's answer comes back as its INVITE response (on_invite_response).
  leg.forwarded = ForwardedOffer::reinvite;
  router_.signalling().reinvite(other.link.id(), *built);
  log().info("call {}: re-INVITE from {} forwarded", id_, to_string(leg.side()));
}

void Call::on_update(Leg& leg, std::uint64_t request, const InboundRequest& req) {
  // RFC 3311: UPDATE changes the session (or refreshes it) inside a dialog, early or confirmed.
  // It is passed to the other leg like a re-INVITE, with its SDP rewritten; the answer comes
  // back as the other leg's UPDATE response.
  Leg& other = this->other(leg);
  const auto respond_now = [&](int status, const char* phrase) {
    router_.signalling().respond_kept(leg.link.id(), request, reply(status, phrase));
  };
  if (ending() || !other.link || other.closing()) {
    return respond_now(481, "Call/Transaction Does Not Exist");
  }
  if (leg.forwarded != ForwardedOffer::none || other.forwarded != ForwardedOffer::none) {
    return respond_now(491, "Request Pending");  // RFC 3311 §5.2: one offer at a time
  }
  std::string offer;
  if (!req.body.empty()) {
    const OtherLegSdp before{other.local_sdp, other.sdp_version};
    auto built = take_reoffer(leg, req.body, "UPDATE");
    if (!built) return respond_now(built.error(), "");
    if (auto answer = answer_locally(leg, before, *built)) {
      router_.signalling().respond_kept(leg.link.id(), request, reply(200, "OK", *answer));
      return;
    }
    offer = std::move(*built);
  }
  leg.forwarded = ForwardedOffer::update;
  leg.kept_update = request;
  router_.signalling().update(other.link.id(), offer);
  log().info("call {}: UPDATE from {} forwarded{}", id_, to_string(leg.side()),
             offer.empty() ? " (no SDP)" : "");
}

std::optional<std::string> Call::answer_locally(Leg& leg, const OtherLegSdp& before,
                                                const std::string& offer) {
  // A mid-call offer that changes nothing toward the other party (a phone's new default
  // candidate after ICE, an ICE restart, a new address of its own) is answered on its own leg:
  // a PBX that does not expect a re-INVITE must not get one (behaviour.md §7).
  Leg& other = this->other(leg);
  if (!same_session(before.sdp, offer)) return std::nullopt;
  auto peer = sdp::parse(other.remote_sdp);
  if (!peer) return std::nullopt;
  other.local_sdp = before.sdp;  // nothing went out toward it
  other.sdp_version = before.version;
  auto answer = sdp_toward(leg, *peer, true);
  if (answer) {
    log().info("call {}: {} changes only its own leg: answered on {}, not forwarded", id_,
               to_string(leg.side()), to_string(leg.side()));
  }
  return answer;
}

void Call::on_update_response(Leg& leg, const InboundResponse& r) {
  Leg& other = this->other(leg);
  if (r.status < 200 || other.forwarded != ForwardedOffer::update) return;
  std::string answer;
  if (r.status < 300 && !r.body.empty()) {
    if (auto d = sdp::parse(r.body)) {
      if (auto err = take_answer(leg, *d, r.body)) {
        log().warn("call {}: UPDATE answer: {}", id_, *err);
      }
      answer = sdp_toward(other, *d, true).value_or("");
    }
  }
  // 401/407 from the far end mean nothing to the other party (as map_final does for INVITE).
  const bool auth = r.status == 401 || r.status == 407;
  router_.signalling().respond_kept(other.link.id(), other.kept_update,
                                    reply(auth ? 500 : r.status, auth ? "" : r.phrase, answer));
  other.forwarded = ForwardedOffer::none;
  other.kept_update = 0;
  log().info("call {}: UPDATE answered {} on {}", id_, r.status, to_string(leg.side()));
}

void Call::on_cancel(Leg& leg) {
  // The stack has answered the CANCEL with 200 and the INVITE with 487 (RFC 3261 §9.2).
  log().info("call {}: CANCEL from the caller", id_);
  if (leg.side() == Side::a && !a_final) a_final = 487;
  leg.to(LegState::terminated);
  end("cancelled by the caller");
}

void Call::on_bye(Leg& leg) {
  log().info("call {}: BYE from {}", id_, to_string(leg.side()));
  leg.to(LegState::terminating);  // the stack answered the BYE; the dialog is closing
  end(std::string("BYE from ") + (leg.side() == Side::a ? "the caller" : "the callee"));
}

void Call::on_terminated(Leg& leg) {
  leg.to(LegState::terminated);
  // A leg ended without BYE/CANCEL reaching us (e.g. a transaction timeout on our 200).
  if (!ending()) return end("leg terminated");
  maybe_destroy();
}

void Call::fail(int status, const std::string& phrase) {
  if (a_.link && (a_.state() == LegState::inviting || a_.state() == LegState::early)) {
    a_final = status;
    router_.signalling().respond(a_.link.id(), reply(status, phrase));
    a_.to(LegState::terminating);
  }
  end(phrase);
}

void Call::end(const std::string& reason) {
  const bool first = !ending();
  const std::string before = describe_states();  // as the call was when it ended
  if (first) to(CallState::ending);  // ending again (a second BYE, a late failure) is no change
  ice_timer_.reset();
  for (Leg* l : {&a_, &b_}) {
    if (!l->link) continue;
    switch (l->state()) {
      case LegState::confirmed:
        router_.signalling().bye(l->link.id(), reason);
        l->to(LegState::terminating);
        break;
      case LegState::inviting:
      case LegState::early:
        if (l->side() == Side::a) {
          a_final = 480;
          Reply r = reply(480, "Temporarily Unavailable");
          r.reason = reason;
          router_.signalling().respond(l->link.id(), r);
        } else {
          router_.signalling().cancel(l->link.id());
        }
        l->to(LegState::terminating);
        break;
      case LegState::idle:
      case LegState::terminating:
      case LegState::terminated:
        break;
    }
  }
  if (first && media) {
    log().info("call {}: ending ({}); Call-ID {}; states {}; media: {}", id_, reason, a_call_id,
               before, router_.media().describe(media->id()));
    router_.media().call_ending(media->id(), CallOutcome{a_final, answered_at, ice_timed_out});
    media->release();
  }
  maybe_destroy();
}

void Call::maybe_destroy() {
  if (!ending() || !a_.done() || !b_.done()) return;
  router_.destroy(*this);  // destroys this call
}

void Call::on_media_event(const MediaEvent& ev) {
  if (ending()) return;
  Leg& leg = this->leg(ev.side);
  // A phone leg's media is ready once ICE and (with DTLS) the handshake passed: the trunk's
  // 200 waits for B's, the ICE deadline for A's.
  const auto leg_progressed = [&] {
    if (!leg.media_ready()) return;
    if (state_ == CallState::answering && ev.side == Side::b) {
      answer_a(pending_answer);
    } else if (ev.side == Side::a && a_.confirmed()) {
      ice_timer_.reset();
    }
  };
  switch (ev.kind) {
    case MediaEventKind::ice_connected:
      if (leg.media_state() == MediaState::waiting_ice) leg.media_to(MediaState::ice_up);
      log().info("call {}: ICE connected on {} ({})", id_, to_string(ev.side), ev.detail);
      return leg_progressed();
    case MediaEventKind::secure_media_up:
      leg.media_to(MediaState::secure_up);
      log().info("call {}: DTLS-SRTP up on {} ({})", id_, to_string(ev.side), ev.detail);
      return leg_progressed();
    case MediaEventKind::path_changed:
      log().info("call {}: media path on {} now {}", id_, to_string(ev.side), ev.detail);
      return;
    case MediaEventKind::consent_lost:
      log().warn("call {}: ICE consent lost on {}: {}", id_, to_string(ev.side), ev.detail);
      return end("ICE consent lost");
    case MediaEventKind::secure_media_failed:
      log().warn("call {}: DTLS-SRTP failed on {}: {}", id_, to_string(ev.side), ev.detail);
      return end("DTLS-SRTP failed");
    case MediaEventKind::media_timeout:
      log().warn("call {}: media timeout on {}: {}", id_, to_string(ev.side), ev.detail);
      return end("media timeout");
  }
}

void Call::on_ice_timeout() {
  if (ending()) return;
  ++router_.stats().ice_timeouts;
  ice_timed_out = true;
  const bool answering = state_ == CallState::answering;
  const Side side = answering || a_.media_ready() ? Side::b : Side::a;
  const Leg& leg = this->leg(side);
  const auto timeout = router_.config().media.ice_timeout.count();
  const std::string diag = media ? router_.media().describe(media->id()) : std::string("no media");
  if (leg.media_state() == MediaState::ice_up) {
    // ICE passed but the DTLS handshake on the selected path did not finish (behaviour.md §9).
    log().warn("call {}: DTLS-SRTP did not complete on {} within {} ms after ICE ({})", id_,
               to_string(side), timeout, diag);
    if (answering) return fail(480, "DTLS-SRTP failed");
    return end("DTLS-SRTP failed");
  }
  // behaviour.md §9 pattern 1/6: say what was tried so support can tell routing from firewall.
  log().warn(
      "call {}: ICE did not succeed on {} within {} ms: no valid binding request arrived "
      "({}); check routing/firewall for the RTP range, or try the pin-hole puncher",
      id_, to_string(side), timeout, diag);
  if (answering) return fail(480, "ICE failed");
  end("ICE failed");
}

}  // namespace icegate::sip
