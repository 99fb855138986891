// The per-leg rules of diagnosis.hpp: what one leg's figures show.
#include "gateway/diagnosis/facts.hpp"

namespace icegate::diagnosis::detail {
namespace {

using media::relay::Drop;
using media::relay::LegStats;

std::string n(std::uint64_t v) {
  return std::to_string(v);
}

LegFinding found(Finding f, std::string headline, std::string action) {
  LegFinding r;
  r.finding = f;
  r.headline = std::move(headline);
  r.action = std::move(action);
  return r;
}

std::string unknown_action(const CallEvidence& call) {
  return "none of the known patterns fits these figures: look at the call with a capture on "
         "icegate's media address (tcpdump udp portrange " +
         range_text(call) + ")";
}

// Pattern 2: icegate gave a phone outside its network only a private address. `observed` says
// what reached the leg's port meanwhile.
LegFinding missing_public_finding(const CallEvidence& call, const LegEvidence& leg,
                                  const std::string& observed) {
  std::optional<acl::Address> seen;
  const std::string seen_line = public_seen(call, leg, &seen);
  auto r = found(
      Finding::missing_candidates,
      "icegate offered no public candidate (" + missing_public_why(leg) +
          ") to a phone outside its network; " + observed +
          ": the phone can only try the private " + call.media_address.to_string(),
      leg.public_candidate == PublicCandidate::withheld_by_acl
          ? "allow this party in the public-candidate ACL (<acl-policy public-candidate>), or "
            "reach icegate over a network where its host address is routable"
          : "make a STUN server reachable from the media address (`icegate stun-check -c "
            "FILE`), or set <media public-address> to the address the RTP range is forwarded "
            "from" +
                (seen ? " (the phone saw icegate as " + seen->to_string() + ")" : std::string()));
  if (!seen_line.empty()) r.evidence.push_back(seen_line);
  return r;
}

// Pattern 2 or 6: nothing at all reached the leg's port(s).
LegFinding nothing_arrived(const CallEvidence& call, const LegEvidence& leg, double seconds) {
  const std::string what =
      leg.kind == LegKind::phone_ice ? "no check, no DTLS, no media" : "no RTP";
  std::string observed =
      "nothing reached " + port_text(leg) + " in " + seconds_text(seconds) + " (" + what + ")";
  if (leg.kind == LegKind::phone_ice) {
    const IceFigures f = ice_figures(leg.stats);
    observed += "; " + n(f.punches_sent) + " binding requests sent to " + punch_targets(leg) +
                ", " + n(f.punches_answered) + " answered";
  }
  if (missing_public(call, leg)) return missing_public_finding(call, leg, observed);
  if (leg.sip_source) observed += "; its SIP from " + leg.sip_source->to_string() + " did arrive";
  return found(Finding::port_range_blocked,
               observed + ": UDP to " + range_text(call) + " is not getting through",
               "open UDP " + range_text(call) + " toward icegate's media address " +
                   call.media_address.to_string() +
                   " (firewall; a NAT in front of it must forward the range 1:1: `icegate "
                   "nat-detect`) and UDP 49152-65535 on the phone's side (its firewall, the "
                   "network it is on); tcpdump on icegate then shows the phone's packets arrive");
}

LegFinding wrong_source(const LegEvidence& leg) {
  const LegStats& s = leg.stats;
  const std::string drops = n(s.drops(Drop::wrong_source));
  if (leg.kind == LegKind::trunk) {
    const std::string sdp = s.signalled_rtp ? s.signalled_rtp->to_string()
                            : s.remote_rtp  ? s.remote_rtp->to_string()
                                            : std::string("its SDP address");
    return found(Finding::address_mismatch,
                 drops +
                     " RTP packets from the PBX / trunk dropped as wrong-source, 0 accepted: "
                     "they do not come from " +
                     sdp + " (" + media::relay::describe_source(s) +
                     "): it sends from another address than its SDP says",
                 "bind the PBX's RTP to the address its SDP announces (several NICs), or turn "
                 "latching on for it (<media latching=\"true\">)");
  }
  if (leg.kind == LegKind::phone_latching) {
    return found(Finding::address_mismatch,
                 drops + " packets from the phone dropped as wrong-source, 0 accepted (" +
                     media::relay::describe_source(s) +
                     "): its media comes from more than one address",
                 "the phone's media leaves from several addresses (several NICs or public "
                 "addresses, a VPN with split routing): make it use one");
  }
  const IceFigures f = ice_figures(s);
  return found(Finding::address_mismatch,
               "the phone's checks from " +
                   (f.selected ? f.selected->to_string() : std::string("its ICE path")) +
                   " were answered, but its " + drops +
                   " media packets came from another address and were dropped (wrong-source), 0 "
                   "accepted: its checks and its media leave from different addresses",
               "the phone sends media from another interface or public address than its checks "
               "(several NICs, a VPN with split routing, a NAT with several public addresses): "
               "fix it on the phone's side");
}

LegFinding judge_ice(const CallEvidence& call, const LegEvidence& leg, double seconds) {
  const LegStats& s = leg.stats;
  const IceFigures f = ice_figures(s);
  const std::string punched = n(f.punches_sent) + " binding requests sent to " +
                              punch_targets(leg) + ", " + n(f.punches_answered) + " answered";
  if (f.checks_answered == 0 && !leg.blocked.empty()) {
    // behaviour.md §3 / §9 pattern 5: the phone's checks came, from addresses the candidate ACL
    // denies (peer-reflexive ones: it offered only mDNS names or none), and were not answered.
    std::string from;
    for (const auto& b : leg.blocked) {
      from += (from.empty() ? "" : ", ") + b.candidate + " rejected by acl \"" + b.acl + "\"";
    }
    return found(Finding::candidate_acl,
                 "the phone's checks were not answered: " + from + "; " + n(arrived(s)) +
                     " datagrams reached " + port_text(leg) + ", none from an allowed address",
                 "if the phone is legitimate, allow the address its checks come from (its "
                 "public / NAT address) in acl \"" +
                     leg.blocked.front().acl + "\"");
  }
  if (f.checks_answered == 0 && f.refused > 0) {
    return found(
        Finding::ice_credentials,
        n(f.refused) + " checks from " +
            (f.last_check_from ? f.last_check_from->to_string() : std::string("the phone")) +
            " refused (401: USERNAME / MESSAGE-INTEGRITY do not match the SDP icegate "
            "sent), none answered",
        "something changes the ICE credentials between icegate and the phone (an SBC or "
        "ALG rewriting SDP, a stale ICE restart): compare a=ice-ufrag in the SDP icegate "
        "sent with the USERNAME of the phone's checks");
  }
  if (f.checks_answered == 0) {
    if (f.punches_answered > 0) {
      // A private host seen under a public address is icegate's NAT: first the address that
      // was not offered (pattern 2), then one that differs from the offer (pattern 3).
      if (missing_public(call, leg)) {
        return missing_public_finding(call, leg,
                                      "the phone answered " + n(f.punches_answered) +
                                          " of icegate's " + n(f.punches_sent) +
                                          " binding requests, but none of its own checks reached " +
                                          port_text(leg) + " in " + seconds_text(seconds));
      }
      if (auto m = mapped_mismatch(call, leg); !m.empty()) {
        return found(Finding::address_mismatch,
                     m + "; 0 checks from the phone reached " + port_text(leg) +
                         ": several public addresses (icegate's side)",
                     "make the media address leave through one public address, the one its srflx "
                     "candidate says (routing / SNAT over several uplinks or NICs), or set <media "
                     "public-address> to the right one; `icegate stun-check -c FILE --expect "
                     "ADDRESS` shows what STUN sees");
      }
    }
    auto r = found(Finding::unknown,
                   n(arrived(s)) + " datagrams reached " + port_text(leg) +
                       " but no check from "
                       "the phone was answered; " +
                       punched,
                   f.punches_answered > 0
                       ? "UDP between icegate and the phone works (it answered icegate's "
                         "requests), but its own checks never arrive: compare the address it "
                         "checks with icegate's candidates, and whether a firewall in front of "
                         "icegate lets only replies through"
                       : unknown_action(call));
    return r;
  }
  // The phone's checks reach icegate and are answered from here on.
  if (s.drops(Drop::wrong_source) > 0) return wrong_source(leg);
  const std::string from =
      f.last_check_from ? f.last_check_from->to_string() : std::string("the phone");
  if (dtls_in(s) == 0 && received_drops(s) == 0) {
    const std::string checks = "the phone's " + n(f.checks_answered) + " checks from " + from +
                               " were answered, but it never completed ICE (0 DTLS, 0 media from "
                               "it in " +
                               seconds_text(seconds) + "); " + punched;
    std::string mismatch = mapped_mismatch(call, leg);
    if (mismatch.empty()) mismatch = check_source_mismatch(leg);
    if (mismatch.empty()) mismatch = punch_answer_mismatch(leg);
    if (mismatch.empty()) mismatch = stun_mismatch(call, leg);
    if (!mismatch.empty()) {
      return found(Finding::address_mismatch,
                   mismatch + "; " + checks + ": several public addresses",
                   "one side is seen under more than one public address (several uplinks or NICs, "
                   "a load-balancing NAT): make icegate's media address leave through the public "
                   "address it offers (`icegate stun-check`), and the phone's network through one");
    }
    auto r =
        found(Finding::binding_unanswered,
              checks + ": icegate's answers are not getting back to the phone",
              "switch on the pin-hole puncher (<media pinhole-puncher=\"true\">: binding "
              "requests to every candidate of the phone), check the phone's firewall / NAT for "
              "UDP from icegate's " +
                  range_text(call) +
                  ", and that both sides see the packets "
                  "(tcpdump on icegate shows the answers leaving toward " +
                  from + ")");
    if (leg.punches.size() <= 1 && f.punches_answered == 0) {
      const auto target = first_target(leg);
      if (target && is_private(target->address)) {
        r.evidence.push_back("icegate's binding requests went only to " + target->to_string() +
                             ", a private address (the first candidate): the pin-hole puncher "
                             "sends them to every candidate");
      }
    }
    return r;
  }
  return found(Finding::unknown,
               "the phone's " + n(f.checks_answered) + " checks from " + from + " were answered" +
                   (dtls_in(s) ? " and it sent " + n(dtls_in(s)) + " DTLS datagrams" : "") +
                   ", but no media from it was accepted (drops " + drops_text(s) + ")",
               unknown_action(call));
}

}  // namespace

std::optional<LegFinding> dtls_failure(const CallEvidence& call, const LegEvidence& leg,
                                       media::Leg side) {
  const auto& d = leg.stats.dtls;
  // Without DTLS from the phone, its ICE never completed: the ICE rules judge that.
  if (leg.kind != LegKind::phone_ice || !d || dtls_in(leg.stats) == 0) return std::nullopt;
  const bool failed = d->state == "failed" || !d->failure.empty();
  const bool unfinished = call.ended && d->profile.empty() && d->state != "connected";
  if (!failed && !unfinished) return std::nullopt;
  const std::string why = d->failure.empty() ? "handshake not finished" : d->failure;
  LegFinding r;
  r.finding = Finding::dtls_failed;
  r.headline = leg_name(side, leg.kind) + ": ICE worked but the DTLS handshake " +
               (failed ? "failed" : "did not finish") + " (state " + std::string(d->state) +
               ", as " + std::string(d->role) + ", " + n(d->datagrams_in) + " datagrams in, " +
               n(d->datagrams_out) + " out, " + n(d->retransmissions) + " retransmissions): " + why;
  r.action =
      "not a network pattern: check the phone's DTLS (a=fingerprint matching its "
      "certificate, a=setup roles, DTLS 1.2 and an SRTP profile icegate supports)";
  return r;
}

LegFinding judge_leg(const CallEvidence& call, const LegEvidence& leg, media::Leg side,
                     double seconds) {
  const LegStats& s = leg.stats;
  LegFinding r;
  if (s.packets_in > 0) {
    r.ok = true;
    return r;
  }
  if (arrived(s) == 0) {
    if (leg.kind != LegKind::trunk) {
      r = nothing_arrived(call, leg, seconds);
    } else {
      const std::string sdp = s.signalled_rtp ? s.signalled_rtp->to_string()
                              : s.remote_rtp  ? s.remote_rtp->to_string()
                                              : std::string("?");
      r = found(Finding::trunk_silent,
                "0 RTP packets from the PBX / trunk (SDP " + sdp + ") reached " + port_text(leg) +
                    " in " + seconds_text(seconds) + ": it sent nothing to icegate",
                "check that the PBX sends RTP for this call (answered, not on hold) to the "
                "address in icegate's SDP, and that nothing between them drops UDP to " +
                    range_text(call));
    }
  } else if (leg.kind == LegKind::phone_ice) {
    r = judge_ice(call, leg, seconds);
  } else if (s.drops(Drop::wrong_source) > 0) {
    r = wrong_source(leg);
  } else {
    r = found(Finding::unknown,
              n(arrived(s)) + " datagrams reached " + port_text(leg) +
                  ", none accepted as media "
                  "(drops " +
                  drops_text(s) + "; " + media::relay::describe_source(s) + ")",
              s.drops(Drop::latch_refused) > 0
                  ? "the packets do not look like this call's media (payload type not "
                    "negotiated, another SSRC): compare them with the SDP"
                  : unknown_action(call));
  }
  r.headline = leg_name(side, leg.kind) + ": " + r.headline;
  return r;
}

}  // namespace icegate::diagnosis::detail
