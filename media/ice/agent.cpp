#include "media/ice/agent.hpp"

#include <algorithm>

#include "media/stun/attributes.hpp"
#include "media/stun/builder.hpp"
#include "media/stun/integrity.hpp"

namespace icegate::media::ice {

namespace attr = stun::attr;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

namespace {

// RFC 8445 §5.1.2.1: the priority our request asks the peer to give the peer-reflexive
// candidate it may learn from it (§7.1.1): type preference 110, local preference 65535.
std::uint32_t prflx_priority(std::uint16_t component) {
  const std::uint32_t c = std::clamp<std::uint32_t>(component, 1, 256);
  return (110u << 24) | (65535u << 8) | (256u - c);
}


std::string ms_text(TimePoint::duration d) {
  return std::to_string(duration_cast<milliseconds>(d).count()) + " ms";
}

}  // namespace

std::string_view to_string(EventKind k) noexcept {
  switch (k) {
    case EventKind::connected:
      return "connected";
    case EventKind::selected_pair_changed:
      return "selected-pair-changed";
    case EventKind::consent_lost:
      return "consent-lost";
    case EventKind::pinhole_answered:
      return "pinhole-answered";
    case EventKind::check_refused:
      return "check-refused";
  }
  return "?";
}

LiteAgent::LiteAgent(AgentConfig config, Credentials local, RandomSource& rng)
    : config_(config),
      local_(std::move(local)),
      rng_(rng) {}

stun::TransactionId LiteAgent::new_transaction_id() {
  // RFC 5389 §6: transaction ids are uniformly random, so answers cannot be forged off-path.
  stun::TransactionId tid{};
  rng_.fill(tid);
  return tid;
}

void LiteAgent::on_stun(std::span<const std::byte> datagram, const Endpoint& from, TimePoint now,
                        Output& out) {
  auto parsed = stun::parse(datagram);
  if (!parsed) {
    ++stats_.malformed;
    return;
  }
  const stun::Message& m = *parsed;
  // RFC 5389 §7.3 / RFC 8445 §7.2.2: a FINGERPRINT that does not match means this is not a STUN
  // message for us; drop it without an answer.
  if (stun::verify_fingerprint(m) == stun::Check::mismatch) {
    ++stats_.malformed;
    return;
  }
  if (m.type.method != stun::method::binding) {
    ++stats_.ignored;
    return;
  }
  switch (m.type.cls) {
    case stun::MessageClass::request:
      handle_request(m, from, now, out);
      return;
    case stun::MessageClass::success:
    case stun::MessageClass::error:
      handle_response(m, from, now, out);
      return;
    case stun::MessageClass::indication:  // RFC 8445 §11: keepalive, nothing to answer
      handle_indication(from, now);
      return;
  }
}

void LiteAgent::answer_error(const stun::Message& req, const Endpoint& to, int code, bool sign,
                             Output& out) const {
  stun::MessageBuilder b({stun::method::binding, stun::MessageClass::error}, req.transaction_id);
  b.add_error_code(code);
  // RFC 5389 §10.1.2: 400 and 401 answers to unauthenticated requests carry no integrity; other
  // errors to an authenticated request are signed with the same key.
  if (sign) b.add_message_integrity(stun::short_term_key(local_.pwd));
  b.add_fingerprint();  // RFC 8445 §7.3: every response carries FINGERPRINT
  out.transmits.push_back({to, std::move(b).finish()});
}

LiteAgent::Auth LiteAgent::authenticate(const stun::Message& m) const {
  const stun::Attribute* user = m.find(attr::username);
  if (user == nullptr || m.find(attr::message_integrity) == nullptr) return Auth::missing;
  // RFC 8445 §7.3: USERNAME is "<our ufrag>:<their ufrag>". Checks may arrive before we learn
  // the peer's ufrag (§7.3 says answer them anyway), so the second half is checked only once
  // it is known.
  const auto username = stun::read_text(m, *user);
  if (!username) return Auth::bad_username;
  const std::string_view u = *username;
  const auto colon = u.find(':');
  if (colon == std::string_view::npos || u.substr(0, colon) != local_.ufrag ||
      (remote_ && u.substr(colon + 1) != remote_->ufrag)) {
    return Auth::bad_username;
  }
  // RFC 8445 §7.3: short-term credential, keyed with OUR password.
  if (stun::verify_message_integrity(m, stun::short_term_key(local_.pwd)) != stun::Check::ok) {
    return Auth::bad_integrity;
  }
  return Auth::ok;
}

void LiteAgent::refuse(const stun::Message& m, const Endpoint& from, const acl::Decision& d,
                       Output& out) {
  // behaviour.md §3: the candidate ACL applies to every address media could come from, the
  // peer-reflexive ones included. Nothing goes back, not even an error: a denied address is
  // never a destination.
  ++stats_.refused_by_acl;
  // Anyone can send an unauthenticated request: only the phone's own checks are reported.
  if (authenticate(m) != Auth::ok) return;
  auto& seen = stats_.refused_sources;
  if (seen.size() >= kMaxRefusedSources || std::find(seen.begin(), seen.end(), from) != seen.end()) {
    return;
  }
  seen.push_back(from);
  out.events.push_back({EventKind::check_refused, from,
                        "check from " + from.to_string() + " not answered: rejected by acl \"" +
                            config_.source_acl->name() + "\" (" + d.explain() + ")"});
}

void LiteAgent::handle_request(const stun::Message& m, const Endpoint& from, TimePoint now,
                               Output& out) {
  if (config_.source_acl) {
    const auto decision = config_.source_acl->check(from.address);
    if (!decision.allowed()) {
      refuse(m, from, decision, out);
      return;
    }
  }
  switch (authenticate(m)) {
    case Auth::missing:
      // RFC 5389 §10.1.2: without USERNAME and MESSAGE-INTEGRITY the answer is 400.
      ++stats_.bad_request;
      answer_error(m, from, 400, false, out);
      return;
    case Auth::bad_username:
      ++stats_.bad_username;
      answer_error(m, from, 401, false, out);  // RFC 5389 §10.1.2: unknown username -> 401
      return;
    case Auth::bad_integrity:
      ++stats_.bad_integrity;
      answer_error(m, from, 401, false, out);  // RFC 5389 §10.1.2: bad integrity -> 401
      return;
    case Auth::ok:
      break;
  }

  // Authenticated from here on.
  if (const auto unknown = m.unknown_required(); !unknown.empty()) {
    // RFC 5389 §7.3.1: unknown comprehension-required attributes -> 420 listing them.
    ++stats_.unknown_attributes;
    stun::MessageBuilder b({stun::method::binding, stun::MessageClass::error}, m.transaction_id);
    b.add_error_code(420).add_unknown_attributes(unknown);
    b.add_message_integrity(stun::short_term_key(local_.pwd)).add_fingerprint();
    out.transmits.push_back({from, std::move(b).finish()});
    return;
  }
  // RFC 8445 §7.1.1: a check MUST carry PRIORITY and exactly one role attribute. We tolerate a
  // missing role attribute (RFC 5245-era peers) but not malformed values.
  const stun::Attribute* prio = m.find(attr::priority);
  const stun::Attribute* controlled = m.find(attr::ice_controlled);
  const stun::Attribute* controlling = m.find(attr::ice_controlling);
  const bool bad_use_candidate =
      m.has(attr::use_candidate) && !m.find(attr::use_candidate)->value.empty();
  std::optional<std::uint64_t> their_tb;
  bool values_ok = prio != nullptr && stun::read_u32(m, *prio).has_value() && !bad_use_candidate &&
                   !(controlled != nullptr && controlling != nullptr);
  if (values_ok && (controlled != nullptr || controlling != nullptr)) {
    auto tb = stun::read_u64(m, controlled != nullptr ? *controlled : *controlling);
    values_ok = tb.has_value();
    if (tb) their_tb = *tb;
  }
  if (!values_ok) {
    ++stats_.bad_request;
    answer_error(m, from, 400, true, out);
    return;
  }

  // RFC 8445 §6.1.1: with a lite agent the full agent MUST be controlling. A full peer that
  // claims controlled gets 487 Role Conflict whatever the tie-breakers say, so that it switches
  // (§7.2.5.1) and nominates; a lite agent never takes the controlling role itself (it has no
  // nomination procedure, and a peer left controlled would wait for one forever).
  if (controlled != nullptr) {
    ++stats_.role_conflicts;
    answer_error(m, from, 487, true, out);
    return;
  }

  // RFC 8445 §7.3 / RFC 5389 §7.3.1: Binding Success with the source as XOR-MAPPED-ADDRESS,
  // signed with our password, then FINGERPRINT.
  stun::MessageBuilder b({stun::method::binding, stun::MessageClass::success}, m.transaction_id);
  b.add_address(attr::xor_mapped_address, from);
  b.add_message_integrity(stun::short_term_key(local_.pwd)).add_fingerprint();
  out.transmits.push_back({from, std::move(b).finish()});

  const bool use_candidate = m.has(attr::use_candidate);
  ++stats_.checks_answered;
  if (use_candidate) ++stats_.nominations;
  stats_.last_check = now;
  stats_.last_check_from = from;
  select(from, use_candidate, now, out);
}

void LiteAgent::select(const Endpoint& from, bool use_candidate, TimePoint now, Output& out) {
  auto& sel = stats_.selected;
  if (!sel) {
    // RFC 8445 §8.2 / behaviour.md §4: the first answered pair carries media.
    sel = from;
    stats_.nominated = use_candidate;
    reselect_ = false;
    out.events.push_back({EventKind::connected, from,
                          "ICE connected: answered a check from " + from.to_string() +
                              (use_candidate ? " (nominated)" : "")});
  } else if (reselect_ || (use_candidate && *sel != from)) {
    // A nomination from another address takes over; after an ICE restart the first answered
    // check with the new credentials picks the path afresh.
    const Endpoint old = *sel;
    sel = from;
    stats_.nominated = use_candidate;
    const char* why = reselect_ ? "first check after ICE restart" : "USE-CANDIDATE";
    reselect_ = false;
    if (old != from) {
      out.events.push_back({EventKind::selected_pair_changed, from,
                            "media path moved from " + old.to_string() + " to " + from.to_string() +
                                " (" + why + ")"});
    }
  } else if (use_candidate) {
    stats_.nominated = true;
  }
  // RFC 7675 §5.1: consent is per path; only checks on the media path refresh it.
  if (*sel == from) consent_deadline_ = now + config_.consent_timeout;
}

void LiteAgent::handle_indication(const Endpoint& from, TimePoint now) {
  // RFC 8445 §11: a Binding Indication is the keepalive of a selected pair; it carries no
  // credentials (at most FINGERPRINT, checked above), so it counts only from the selected
  // address and never selects a path. It refreshes consent like a check (see the header).
  if (!stats_.selected || *stats_.selected != from || consent_lost_) {
    ++stats_.ignored;
    return;
  }
  ++stats_.indications;
  stats_.last_indication = now;
  consent_deadline_ = now + config_.consent_timeout;
}

void LiteAgent::set_remote(Credentials remote, std::vector<Endpoint> candidates, TimePoint now,
                           Output& out) {
  remote_ = std::move(remote);
  candidates_ = std::move(candidates);
  pending_.clear();
  stats_.punches.clear();
  punch_round_ = 0;
  next_punch_.reset();
  // The consent clock starts now at the latest, so a call whose checks never arrive is
  // reported after consent_timeout (behaviour.md §4: never leave it hanging in silence).
  const TimePoint deadline = now + config_.consent_timeout;
  if (!consent_deadline_ || *consent_deadline_ < deadline) consent_deadline_ = deadline;

  if (config_.punch_attempts <= 0) return;
  // behaviour.md §4: punch the first valid candidate, or all of them with the pin-hole puncher.
  for (const auto& c : candidates_) {
    const bool dup = std::any_of(stats_.punches.begin(), stats_.punches.end(),
                                 [&](const PunchTarget& t) { return t.target == c; });
    if (dup) continue;
    PunchTarget target;
    target.target = c;
    stats_.punches.push_back(target);
    pending_.push_back({new_transaction_id(), stats_.punches.size() - 1});
    if (!config_.punch_all) break;
  }
  if (!stats_.punches.empty()) send_punch_round(now, out);
}

void LiteAgent::send_punch_round(TimePoint now, Output& out) {
  if (!remote_) return;
  const std::string username = remote_->ufrag + ":" + local_.ufrag;  // RFC 8445 §7.2.2
  for (const auto& p : pending_) {
    PunchTarget& t = stats_.punches[p.target];
    if (t.answered || t.error_code != 0) continue;  // transaction finished
    // RFC 5389 §7.2.1: a retransmission reuses the transaction id.
    stun::MessageBuilder b({stun::method::binding, stun::MessageClass::request}, p.tid);
    b.add_text(attr::username, username);
    b.add_u32(attr::priority, prflx_priority(config_.component));
    // Tie-breaker 0 (RFC 8445 §7.3.1.1): a full peer that wrongly thinks it is controlled has
    // one >= ours, so our request alone makes it switch to controlling.
    b.add_u64(attr::ice_controlled, 0);
    // No USE-CANDIDATE: these requests never nominate (behaviour.md §4).
    b.add_message_integrity(stun::short_term_key(remote_->pwd)).add_fingerprint();
    out.transmits.push_back({t.target, std::move(b).finish()});
    ++t.sent;
    ++stats_.punches_sent;
  }
  ++punch_round_;
  if (punch_round_ < config_.punch_attempts) {
    const int doublings = std::min(punch_round_ - 1, 16);
    next_punch_ = now + config_.punch_initial_interval * (1 << doublings);
  } else {
    next_punch_.reset();
  }
}

void LiteAgent::handle_response(const stun::Message& m, const Endpoint& from, TimePoint now,
                                Output& out) {
  const auto it = std::find_if(pending_.begin(), pending_.end(),
                               [&](const Pending& p) { return p.tid == m.transaction_id; });
  if (it == pending_.end() || !remote_) {
    ++stats_.ignored;  // not an answer to a request of ours (or from before a restart)
    return;
  }
  PunchTarget& t = stats_.punches[it->target];
  // RFC 8445 §7.2.5.1 / RFC 5389 §10.1.3: responses are signed with the peer's password.
  const stun::Check integrity =
      stun::verify_message_integrity(m, stun::short_term_key(remote_->pwd));

  if (m.type.cls == stun::MessageClass::error) {
    // Recorded for diagnostics even when unsigned (400/401 answers carry no integrity); the
    // random transaction id already ties it to our request.
    int code = -1;
    if (const auto* e = m.find(attr::error_code)) {
      if (auto ec = stun::read_error_code(m, *e)) code = ec->code;
    }
    t.error_code = code;
    // A 487 to a pin-hole request: the peer thinks it is controlled too. A lite agent stays
    // controlled (RFC 8445 §6.1.1); the peer's own checks get 487 until it switches.
    return;
  }

  if (integrity != stun::Check::ok) {
    ++stats_.punch_responses_rejected;
    return;
  }
  if (t.answered) return;  // duplicate answer to a retransmission
  t.answered = true;
  t.answered_at = now;
  t.answered_from = from;
  if (const auto* x = m.find(attr::xor_mapped_address)) {
    if (auto ep = stun::read_address(m, *x)) t.mapped = *ep;
  }
  ++stats_.punches_answered;
  std::string detail = "pin-hole request to " + t.target.to_string() + " answered";
  if (from != t.target) detail += " from " + from.to_string() + " (asymmetric path)";
  if (t.mapped) detail += "; the peer sees us as " + t.mapped->to_string();
  out.events.push_back({EventKind::pinhole_answered, t.target, std::move(detail)});
}

void LiteAgent::on_timer(TimePoint now, Output& out) {
  if (next_punch_ && now >= *next_punch_) send_punch_round(now, out);
  if (!consent_lost_ && consent_deadline_ && now >= *consent_deadline_) {
    consent_lost_ = true;
    Endpoint where;
    if (stats_.selected) {
      where = *stats_.selected;
    } else if (!stats_.punches.empty()) {
      where = stats_.punches.front().target;
    }
    std::string detail;
    if (!stats_.selected) {
      detail = "ICE failed: no valid connectivity check within " +
               ms_text(config_.consent_timeout) + "; " + summary(stats_);
    } else {
      detail = "consent lost: no valid check, Binding Indication or authenticated media from " +
               where.to_string() + " for " + ms_text(config_.consent_timeout) + "; " +
               summary(stats_);
    }
    out.events.push_back({EventKind::consent_lost, where, std::move(detail)});
  }
}

std::optional<TimePoint> LiteAgent::next_timer() const {
  std::optional<TimePoint> t = next_punch_;
  if (!consent_lost_ && consent_deadline_ && (!t || *consent_deadline_ < *t)) t = consent_deadline_;
  return t;
}

void LiteAgent::restart(Credentials new_local) {
  local_ = std::move(new_local);
  remote_.reset();
  candidates_.clear();
  pending_.clear();
  punch_round_ = 0;
  next_punch_.reset();
  reselect_ = stats_.selected.has_value();
  consent_lost_ = false;
}

std::string summary(const AgentStats& s) {
  std::string out = "checks answered " + std::to_string(s.checks_answered);
  auto add = [&](const char* name, std::uint64_t v) {
    if (v != 0) out += std::string(", ") + name + " " + std::to_string(v);
  };
  add("bad integrity (401)", s.bad_integrity);
  add("bad username (401)", s.bad_username);
  add("bad request (400)", s.bad_request);
  add("unknown attributes (420)", s.unknown_attributes);
  add("malformed", s.malformed);
  add("role conflicts", s.role_conflicts);
  add("refused by the candidate acl", s.refused_by_acl);
  add("binding indications", s.indications);
  out += ", pin-hole requests sent " + std::to_string(s.punches_sent) + " answered " +
         std::to_string(s.punches_answered);
  if (s.selected) out += ", media path " + s.selected->to_string();
  if (s.refused_by_acl != 0 && s.checks_answered == 0) {
    // behaviour.md §3, §9 pattern 5: the checks came, from addresses the ACL denies.
    out += " (every check came from an address the candidate ACL denies)";
  } else if (s.punches_sent != 0 && s.punches_answered == 0 && s.checks_answered == 0) {
    // behaviour.md §9 pattern 1.
    out +=
        " (Binding Requests sent but never answered: routing or firewall; try the pin-hole "
        "puncher)";
  }
  return out;
}

}  // namespace icegate::media::ice
