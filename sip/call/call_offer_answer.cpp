// Offer/answer on a call's legs: which keys each leg uses (DTLS-SRTP, SDES or none), ICE
// restarts, what each party's SDP tells the media engine, and the SDP icegate sends toward a leg
// (docs/security.md). The SDP text itself is built by the pure functions of call_sdp.hpp.
#include "sip/call/call.hpp"
#include "sip/call/router.hpp"
#include "sip/call_sdp.hpp"
#include "sip/log.hpp"
#include "sip/sdp/payload_types.hpp"
#include "sip/sdp/rewrite.hpp"

namespace icegate::sip {
namespace {

// The payload types of the relayed section of an SDP body (none when there is none yet).
std::vector<sdp::PayloadType> relayed_types(const std::string& body) {
  if (body.empty()) return {};
  const auto d = sdp::parse(body);
  if (!d) return {};
  const auto sections = sdp::trunk_media_sections(*d);
  if (sections.empty()) return {};
  return sdp::payload_types(d->media[sections.front()]);
}

// What may arrive on a leg: the types its party declared, then those icegate offered or answered
// it with (a party may send with the numbers it was given, RFC 3264 §5.1).
std::vector<sdp::PayloadType> arriving_types(const Leg& leg) {
  return sdp::merge_payload_types(relayed_types(leg.remote_sdp), relayed_types(leg.local_sdp));
}

PayloadTypes types_for(const std::vector<sdp::PayloadType>& arriving,
                       const std::vector<sdp::PayloadType>& from_other,
                       const std::vector<sdp::PayloadType>& declared) {
  PayloadTypes p;
  for (const auto& t : arriving) p.formats.push_back({t.pt, t.clock_rate, t.event()});
  // Toward the leg: the other leg's numbers for a codec become the ones the party declared.
  p.rewrite = sdp::payload_type_map(from_other, declared);
  return p;
}

}  // namespace

void Call::hand_payload_types() {
  if (!media) return;
  const auto a_in = arriving_types(a_);
  const auto b_in = arriving_types(b_);
  router_.media().set_payload_types(media->id(), Side::a,
                                    types_for(a_in, b_in, relayed_types(a_.remote_sdp)));
  router_.media().set_payload_types(media->id(), Side::b,
                                    types_for(b_in, a_in, relayed_types(b_.remote_sdp)));
}

std::optional<std::string> Call::take_first_offer(const sdp::Description& offer,
                                                  const std::string& text, RemoteMedia& media) {
  if (auto err = accept_offer(a_, offer, media)) return err;
  note_nat(a_, media);
  router_.media().set_remote(this->media->id(), Side::a, media);
  a_.remote_sdp = text;
  hand_payload_types();
  return std::nullopt;
}

bool Call::offer_to_b(const sdp::Description& a_offer) {
  auto offer = sdp_toward(b_, a_offer, false);
  if (!offer) return false;
  b_offer = *offer;
  return place_b();
}

std::optional<std::string> Call::accept_offer(Leg& leg, const sdp::Description& offer,
                                              RemoteMedia& media) {
  auto k = keying_of(offer);
  if (!k) return k.error();
  leg.proto = k->proto;
  leg.sdes_offered.clear();
  switch (k->kind) {
    case Keying::Kind::dtls: {
      // The relay runs DTLS on the ICE-selected path: a trunk leg has no ICE.
      if (!leg.phone)
        return std::string("DTLS-SRTP offered on a trunk leg (supported toward softphones)");
      if (!media.ice)
        return std::string("DTLS-SRTP offered without ICE (supported together with ICE)");
      auto client = dtls_client_answering(k->setup);
      if (!client) return client.error();
      leg.dtls_client = *client;
      media.dtls = DtlsParams{k->fingerprints, *client, k->tls_id};
      break;
    }
    case Keying::Kind::sdes: {
      auto choice = router_.media().sdes_answer(this->media->id(), leg.side(), k->crypto);
      if (!choice) return "SDES: " + choice.error();
      leg.sdes_local = choice->local;
      media.sdes = std::move(*choice);
      break;
    }
    case Keying::Kind::none:
      break;
  }
  if (leg.keys == KeyState::agreed && leg.keying != k->kind) {
    log().info("call {}: leg {} changes from {} to {}", id_, to_string(leg.side()),
               to_string(leg.keying), to_string(k->kind));
  }
  leg.keying = k->kind;
  leg.keys = KeyState::agreed;
  if (leg.phone) leg.rtcp_mux = media.rtcp_mux;
  if (leg.phone && media.ice) {
    if (!leg.remote_ufrag.empty() && leg.remote_ufrag != media.ice->ufrag) {
      // RFC 8445 §9: the phone restarted ICE; the answer must carry new credentials of ours.
      this->media->call().leg(leg.side()).ice =
          router_.media().restart_ice(this->media->id(), leg.side());
      log().info("call {}: ICE restart by the phone on {}", id_, to_string(leg.side()));
    }
    leg.remote_ufrag = media.ice->ufrag;
  }
  return std::nullopt;
}

std::optional<std::string> Call::accept_answer(Leg& leg, const sdp::Description& answer,
                                               RemoteMedia& media) {
  auto k = keying_of(answer);
  if (!k) return k.error();
  switch (k->kind) {
    case Keying::Kind::dtls:
      if (leg.keying != Keying::Kind::dtls || !leg.phone) {
        return std::string("the answer uses DTLS-SRTP, which was not offered");
      }
      if (!media.ice) return std::string("the answer uses DTLS-SRTP without ICE (not supported)");
      leg.dtls_client = dtls_client_after_answer(k->setup);
      media.dtls = DtlsParams{k->fingerprints, leg.dtls_client, k->tls_id};
      break;
    case Keying::Kind::sdes: {
      // RFC 4568 §7.1.2: the answer's tag names the offered line it accepts.
      const std::vector<std::string>& offered = leg.sdes_offered.empty() && !leg.sdes_local.empty()
                                                    ? std::vector<std::string>{leg.sdes_local}
                                                    : leg.sdes_offered;
      const auto tag_of = [](const std::string& line) { return line.substr(0, line.find(' ')); };
      std::optional<SdesChoice> choice;
      for (const auto& theirs : k->crypto) {
        for (const auto& ours : offered) {
          if (!choice && tag_of(ours) == tag_of(theirs)) choice = SdesChoice{ours, theirs};
        }
      }
      if (!choice) return std::string("the answer's a=crypto matches no offered tag");
      leg.sdes_local = choice->local;
      media.sdes = std::move(*choice);
      break;
    }
    case Keying::Kind::none:
      if (leg.keying != Keying::Kind::none) {
        // RFC 3264 §6 wants the offer's proto back; a party that answers plain RTP gets it.
        log().warn("call {}: leg {} answered {} to a {} offer: media on that leg is unencrypted",
                   id_, to_string(leg.side()), k->proto, to_string(leg.keying));
      }
      break;
  }
  leg.keying = k->kind;
  leg.proto = k->proto;
  leg.sdes_offered.clear();
  leg.keys = KeyState::agreed;
  if (leg.phone) leg.rtcp_mux = media.rtcp_mux;
  if (leg.phone && media.ice) leg.remote_ufrag = media.ice->ufrag;
  return std::nullopt;
}

Expected<std::string, int> Call::take_reoffer(Leg& leg, const std::string& body, const char* what) {
  Leg& other = this->other(leg);
  auto d = sdp::parse(body);
  if (!d) return unexpected(400);
  auto r = analyse_remote(*d, leg.phone, router_.config().policy.remote_candidates.get());
  if (!r) {
    log().warn("call {}: {}: {}", id_, what, r.error());
    return unexpected(488);
  }
  if (auto err = accept_offer(leg, *d, r->media)) {
    log().warn("call {}: {}: {}", id_, what, *err);
    return unexpected(488);
  }
  note_nat(leg, r->media);
  router_.media().set_remote(media->id(), leg.side(), r->media);
  leg.remote_sdp = body;
  auto built = sdp_toward(other, *d, false);  // hands the payload types on
  if (!built) return unexpected(488);
  return std::move(*built);
}

std::optional<std::string> Call::take_answer(Leg& leg, const sdp::Description& answer,
                                             const std::string& body) {
  auto r = analyse_remote(answer, leg.phone, router_.config().policy.remote_candidates.get());
  if (!r) return r.error();
  if (auto err = accept_answer(leg, answer, r->media)) return err;
  note_nat(leg, r->media);
  router_.media().set_remote(media->id(), leg.side(), r->media);
  leg.remote_sdp = body;
  hand_payload_types();
  return std::nullopt;
}

std::optional<std::string> Call::sdp_toward(Leg& target, const sdp::Description& from,
                                            bool answering) {
  const conf::Config& cfg = router_.config();
  const MediaCall& mc = media->call();
  const std::string session_id = std::to_string(mc.id);
  const unsigned version = ++target.sdp_version;
  // Keys toward `target`: an answer follows its offer (accept_offer set the leg up); an
  // offer keeps what the leg negotiated (RFC 8842 §5.5: same fingerprint and role, no new
  // handshake) or, for a leg's first offer, opens with the configured profile.
  const bool first_offer = !answering && target.keys == KeyState::unset;
  if (first_offer) {
    if (target.phone) {
      const bool dtls =
          cfg.dtls.offer_to_phones && target.offer_profile == OfferProfile::configured;
      target.keying = dtls ? Keying::Kind::dtls : Keying::Kind::none;
      target.proto = dtls ? "UDP/TLS/RTP/SAVPF" : "RTP/AVP";
    } else if (const TrunkEntry* t = router_.trunks().named(target.trunk);
               t && t->cfg->media_profile == conf::MediaProfile::sdes) {
      target.keying = Keying::Kind::sdes;
      target.proto = "RTP/SAVP";
      if (target.sdes_offered.empty())
        target.sdes_offered = router_.media().sdes_offer(mc.id, target.side());
    } else {
      target.keying = Keying::Kind::none;
      target.proto = "RTP/AVP";
    }
  }
  std::vector<std::string> crypto;
  if (target.keying == Keying::Kind::sdes) {
    crypto = first_offer ? target.sdes_offered : std::vector<std::string>{target.sdes_local};
  }
  LegSdpPolicy base;
  base.media_address = cfg.media.address;
  base.session_id = session_id;
  base.version = version;
  base.proto = target.proto.empty() ? std::string("RTP/AVP") : target.proto;
  base.crypto = std::move(crypto);
  Expected<std::string, std::string> out = unexpected(std::string());
  // A phone without ICE gets what a trunk gets: no ICE-lite, no candidates (its keys mirrored).
  if (target.phone && target.media_state() != MediaState::plain) {
    PhoneSdpPolicy p;
    static_cast<LegSdpPolicy&>(p) = std::move(base);
    p.rtcp_mux = target.rtcp_mux;
    if (target.keying == Keying::Kind::dtls) {
      const auto space = mc.fingerprint.find(' ');
      sdp::DtlsAttributes dtls;
      dtls.fingerprint = {mc.fingerprint.substr(0, space), mc.fingerprint.substr(space + 1)};
      dtls.setup = target.keys == KeyState::unset ? sdp::Setup::actpass
                   : target.dtls_client           ? sdp::Setup::active
                                                  : sdp::Setup::passive;
      p.dtls = dtls;
    }
    p.public_address = router_.media().public_address();
    // The public (srflx) candidate only for parties the public-candidate ACL allows.
    if (p.public_address && cfg.policy.public_candidate &&
        !cfg.policy.public_candidate->check(target.party).allowed()) {
      p.public_address.reset();
    }
    std::optional<sdp::Description> offer;
    if (answering) {
      auto parsed = sdp::parse(target.remote_sdp);
      if (parsed) offer = std::move(*parsed);
      if (offer) p.phone_offer = &*offer;
    }
    out = sdp_for_phone(from, mc, target.side(), p);
  } else {
    out = sdp_for_trunk(from, mc, target.side(), base);
  }
  if (!out) {
    log().warn("call {}: cannot build SDP for {}: {}", id_, to_string(target.side()), out.error());
    return std::nullopt;
  }
  target.local_sdp = *out;
  hand_payload_types();
  return *out;
}

}  // namespace icegate::sip
