// The call-level rules of diagnosis.hpp: the gates, then the first leg with a finding.
#include <algorithm>
#include <array>

#include "gateway/diagnosis/facts.hpp"

namespace icegate::diagnosis {
namespace {

using detail::LegFinding;

std::string n(std::uint64_t v) {
  return std::to_string(v);
}

const LegEvidence& leg_of(const CallEvidence& call, media::Leg side) {
  return side == media::Leg::a ? call.a : call.b;
}

// Phone legs first (the six patterns are about phones), A before B.
std::array<media::Leg, 2> judging_order(const CallEvidence& call) {
  if (call.a.kind == LegKind::trunk && call.b.kind != LegKind::trunk) {
    return {media::Leg::b, media::Leg::a};
  }
  return {media::Leg::a, media::Leg::b};
}

std::string directions(const CallEvidence& call) {
  return "A->B " + n(call.a.stats.packets_in) + " in / " + n(call.b.stats.packets_out) +
         " out, B->A " + n(call.b.stats.packets_in) + " in / " + n(call.a.stats.packets_out) +
         " out";
}

void add_leg_context(const CallEvidence& call, media::Leg side, std::vector<std::string>& out) {
  const LegEvidence& leg = leg_of(call, side);
  out.push_back(detail::figures_line(side, leg));
  if (leg.kind == LegKind::trunk) return;
  if (leg.kind == LegKind::phone_ice) {
    out.push_back("leg " + std::string(media::to_string(side)) +
                  " phone candidates: " + detail::candidates_text(leg.candidates));
    if (auto p = detail::punches_text(leg); !p.empty()) {
      out.push_back("leg " + std::string(media::to_string(side)) +
                    " binding requests per candidate: " + p);
    }
  }
  for (const auto& b : leg.blocked) {
    out.push_back("candidate \"" + b.candidate + "\" rejected by acl \"" + b.acl + "\" (" + b.rule +
                  ")");
  }
  out.push_back(detail::offer_line(call, leg) + "; RTP range " + detail::range_text(call));
}

Verdict make(const CallEvidence& call, Finding f, std::optional<media::Leg> side,
             std::string headline, double seconds) {
  Verdict v;
  v.finding = f;
  v.leg = side;
  v.summary = title(f) + ": " + headline;
  v.seconds = seconds;
  // The leg concerned first, then the other one.
  const auto order = judging_order(call);
  std::vector<media::Leg> legs;
  if (side) legs.push_back(*side);
  for (auto l : order) {
    if (std::find(legs.begin(), legs.end(), l) == legs.end()) legs.push_back(l);
  }
  for (auto l : legs) add_leg_context(call, l, v.evidence);
  if (auto stun = detail::stun_views_line(call); !stun.empty()) v.evidence.push_back(stun);
  std::string timing = "judged over " + detail::seconds_text(seconds) + " since the " +
                       (call.answered ? "answer" : "INVITE");
  if (call.final_status != 0) timing += "; final SIP status " + n(call.final_status);
  if (!call.ended) timing += "; the call is still up";
  if (call.ice_timed_out) timing += "; ICE did not succeed within ice-timeout: icegate ended it";
  v.evidence.push_back(std::move(timing));
  return v;
}

Verdict from_leg(const CallEvidence& call, media::Leg side, LegFinding r, double seconds) {
  Verdict v = make(call, r.finding, side, std::move(r.headline), seconds);
  v.evidence.insert(v.evidence.begin(), r.evidence.begin(), r.evidence.end());
  v.action = std::move(r.action);
  return v;
}

}  // namespace

Verdict diagnose(const CallEvidence& call) {
  const TimePoint from = call.answered.value_or(call.start);
  const double seconds = std::max(0.0, std::chrono::duration<double>(call.end - from).count());
  const auto& a = call.a.stats;
  const auto& b = call.b.stats;
  const bool a_to_b = a.packets_in > 0 && b.packets_out > 0;
  const bool b_to_a = b.packets_in > 0 && a.packets_out > 0;
  if (a_to_b && b_to_a) {
    Verdict v = make(call, Finding::media_ok, std::nullopt, directions(call), seconds);
    return v;
  }
  const auto order = judging_order(call);
  // DTLS that failed is a fact, however short the call.
  for (auto side : order) {
    if (auto r = detail::dtls_failure(call, leg_of(call, side), side)) {
      return from_leg(call, side, std::move(*r), seconds);
    }
  }
  if (!call.answered && !call.ice_timed_out) {
    std::string why = call.ended ? "the callee did not answer" : "the callee has not answered yet";
    if (call.final_status != 0) why += " (final status " + n(call.final_status) + ")";
    return make(call, Finding::not_answered, std::nullopt, why + ": no media was expected",
                seconds);
  }
  if (seconds < std::chrono::duration<double>(kMinJudgeable).count() && !call.ice_timed_out) {
    return make(call, Finding::too_short, std::nullopt,
                detail::seconds_text(seconds) + " since the " +
                    (call.answered ? "answer" : "INVITE") + " (" + directions(call) + ")",
                seconds);
  }
  for (auto side : order) {
    auto r = detail::judge_leg(call, leg_of(call, side), side, seconds);
    if (!r.ok) return from_leg(call, side, std::move(r), seconds);
  }
  // Media reached icegate on both legs, but a direction was not forwarded.
  Verdict v = make(
      call, Finding::unknown, std::nullopt,
      "media reached icegate on both legs but was not relayed both ways (" + directions(call) + ")",
      seconds);
  v.action =
      "look at the drops of each leg (no-destination, send-failed, srtp-*): the relay "
      "received the media but could not send it on";
  return v;
}

}  // namespace icegate::diagnosis
