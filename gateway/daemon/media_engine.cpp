#include "gateway/daemon/media_engine.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "gateway/daemon/log.hpp"
#include "gateway/daemon/public_address.hpp"
#include "media/ice/agent.hpp"
#include "media/srtp/transform.hpp"

namespace icegate::gateway {
namespace {

media::Leg leg_of(sip::Side s) { return s == sip::Side::a ? media::Leg::a : media::Leg::b; }
sip::Side side_of(media::Leg l) { return l == media::Leg::a ? sip::Side::a : sip::Side::b; }
// Index of a side in CallState's per-leg arrays.
std::size_t slot(sip::Side s) {
  return s == sip::Side::a ? 0 : 1;
}
media::Endpoint endpoint(const sip::TransportAddress& t) { return {t.address, t.port}; }

media::ports::PortAllocator make_allocator(const conf::Media& m) {
  media::ports::AllocatorConfig c;
  c.address = m.address;
  c.min_port = m.rtp_min;
  c.max_port = m.rtp_max;
  c.quarantine = m.port_quarantine;
  auto a = media::ports::PortAllocator::create(c);
  if (!a) throw std::runtime_error("RTP port range: " + a.error());
  return std::move(*a);
}

media::relay::RelayConfig relay_config(const conf::Media& m) {
  media::relay::RelayConfig c;
  c.workers = m.workers;
  return c;
}

std::string format_leg(const media::relay::LegStats& l) {
  std::string s = "in " + std::to_string(l.packets_in) + " pkts/" + std::to_string(l.bytes_in) +
                  " B, out " + std::to_string(l.packets_out) + " pkts, stun in " +
                  std::to_string(l.stun_in) + " out " + std::to_string(l.stun_out);
  if (l.remote_rtp) s += ", remote " + l.remote_rtp->to_string();
  // Symmetric RTP (issue 18): where the leg's media was learnt from, next to what SDP said.
  if (l.rtp_source == media::relay::Source::latched ||
      l.rtp_source == media::relay::Source::learning) {
    s += ", " + media::relay::describe_source(l);
  }
  if (l.dropped_total()) {
    s += ", dropped";
    for (std::size_t i = 0; i < l.dropped.size(); ++i) {
      if (l.dropped[i]) {
        s += " " + std::string(media::relay::to_string(static_cast<media::relay::Drop>(i))) + "=" +
             std::to_string(l.dropped[i]);
      }
    }
  }
  if (l.dtls) {
    s += ", dtls " + std::string(l.dtls->state) + " as " + std::string(l.dtls->role);
    if (!l.dtls->failure.empty()) s += " (" + l.dtls->failure + ")";
  }
  if (l.dtls_rtcp) {
    s += ", rtcp dtls " + std::string(l.dtls_rtcp->state);
    if (!l.dtls_rtcp->failure.empty()) s += " (" + l.dtls_rtcp->failure + ")";
  }
  if (l.srtp) {
    s += ", srtp " + std::string(l.srtp->profile) + " in " + std::to_string(l.srtp->unprotected) +
         " out " + std::to_string(l.srtp->protected_out);
  }
  if (l.rtp_lost) s += ", lost " + std::to_string(l.rtp_lost);
  // RFC 3550 A.8 in the clock of the payload type it was last counted in (opus: 48000).
  if (l.rtp_received) {
    s += ", jitter " + std::to_string(l.jitter.count()) + " us at " +
         std::to_string(l.clock_rate) + " Hz";
  }
  return s;
}

Expected<std::shared_ptr<const media::dtls::Certificate>, std::string> load_certificate(
    const conf::Dtls& d) {
  if (d.certificate_file.empty()) return media::dtls::Certificate::generate();
  return media::dtls::Certificate::load_pem_files(d.certificate_file, d.private_key_file);
}

// Adds one session's counters to `t` (relay packets, drops, ICE checks).
void accumulate(MediaTotals& t, const media::relay::SessionStats& s) {
  for (std::size_t i = 0; i < 2; ++i) {
    const auto& l = s.legs[i];
    auto& sum = t.relay[i];
    sum.packets_in += l.packets_in;
    sum.bytes_in += l.bytes_in;
    sum.packets_out += l.packets_out;
    sum.bytes_out += l.bytes_out;
    sum.stun_in += l.stun_in;
    sum.stun_out += l.stun_out;
    for (std::size_t d = 0; d < l.dropped.size(); ++d) sum.dropped[d] += l.dropped[d];
    for (const auto* ice : {l.ice ? &*l.ice : nullptr, l.ice_rtcp ? &*l.ice_rtcp : nullptr}) {
      if (!ice) continue;
      t.ice_checks_answered += ice->checks_answered;
      t.ice_checks_bad_integrity += ice->bad_integrity;
      t.ice_checks_bad_username += ice->bad_username;
    }
  }
}

// A DTLS failure's detail as a metric label (media/relay/session_dtls.cpp, media/dtls/).
std::string dtls_cause(const std::string& detail) {
  const auto has = [&](const char* w) { return detail.find(w) != std::string::npos; };
  if (has("fingerprint")) return "fingerprint-mismatch";
  if (has("timed out") || has("timeout")) return "timeout";
  if (has("SRTP")) return "srtp-setup";
  if (has("certificate")) return "certificate";
  return "handshake";
}

// SDES suites icegate offers, in order of preference (RFC 4568 §6.2: the two every SDES peer
// knows; an AEAD_AES_128_GCM offer from a peer is accepted when answering).
constexpr media::srtp::SrtpProfile kSdesOffer[] = {
    media::srtp::SrtpProfile::aes_cm_128_hmac_sha1_80,
    media::srtp::SrtpProfile::aes_cm_128_hmac_sha1_32,
};

}  // namespace

MediaEngine::MediaEngine(const conf::Media& cfg, const conf::Dtls& dtls)
    : cfg_(cfg), dtls_cfg_(dtls), allocator_(make_allocator(cfg)), relay_(relay_config(cfg)) {
  public_address_ = cfg.public_address;
  auto cert = load_certificate(dtls);
  if (!cert) throw std::runtime_error("DTLS certificate: " + cert.error());
  certificate_ = *cert;
  logger("media")->info("media: {} RTP ports {}-{}, {} worker(s); DTLS certificate {} ({})",
                        cfg.address.to_string(), cfg.rtp_min, cfg.rtp_max, relay_.worker_count(),
                        certificate_->sdp_fingerprint(),
                        dtls.certificate_file.empty() ? "generated" : dtls.certificate_file);
}

MediaEngine::~MediaEngine() = default;

void MediaEngine::reload(const conf::Media& cfg, const conf::Dtls& dtls) {
  // Issue 5: the certificate is rotated on reload; running calls keep theirs.
  if (auto cert = load_certificate(dtls)) {
    certificate_ = *cert;
    dtls_cfg_ = dtls;
    logger("media")->info("DTLS certificate rotated: {}", certificate_->sdp_fingerprint());
  } else {
    logger("media")->error("DTLS certificate not reloaded, keeping {}: {}",
                           certificate_->sdp_fingerprint(), cert.error());
  }
  // New calls use the new timeouts and puncher setting; the port range and address stay.
  const auto keep_address = cfg_.address;
  const auto keep_min = cfg_.rtp_min, keep_max = cfg_.rtp_max;
  cfg_ = cfg;
  cfg_.address = keep_address;
  cfg_.rtp_min = keep_min;
  cfg_.rtp_max = keep_max;
  if (!cfg.public_address) return;
  set_public_address(cfg.public_address);
}

Expected<sip::MediaCall, sip::MediaError> MediaEngine::create_call(const sip::MediaCallSetup& setup) {
  const std::uint64_t id = next_id_++;
  media::relay::SessionConfig sc;
  sc.id = id;
  sc.media_timeout = cfg_.media_timeout;
  sip::MediaCall call;
  call.id = id;
  call.fingerprint = certificate_->sdp_fingerprint();
  CallState state;
  state.label = setup.label;
  state.created = std::chrono::steady_clock::now();
  state.certificate = certificate_;
  for (sip::Side side : {sip::Side::a, sip::Side::b}) {
    const sip::LegSetup& ls = side == sip::Side::a ? setup.a : setup.b;
    media::relay::LegConfig& lc = side == sip::Side::a ? sc.a : sc.b;
    sip::LocalLeg& local = side == sip::Side::a ? call.a : call.b;
    // Without RTCP multiplexing (baresip, linphone) RTCP has its own port and, on an ICE leg,
    // its own component-2 agent with the same credentials (RFC 8445 §5.3).
    const bool mux = ls.rtcp_mux;
    auto lease = relay_.allocate(allocator_, id,
                                 mux ? media::ports::PortShape::single : media::ports::PortShape::pair);
    log_bind_failures();
    if (!lease) {
      sip::MediaError e;
      e.kind = lease.error().code == media::ports::PortErrc::exhausted ? sip::MediaError::ports_exhausted
                                                                       : sip::MediaError::internal;
      e.message = lease.error().detail;
      return unexpected(std::move(e));
    }
    local.ports.rtp = lease->rtp_port();
    local.ports.rtcp = lease->rtcp() ? lease->rtcp()->local().port : 0;
    state.separate_rtcp[slot(side)] = !mux;
    lc.sockets = std::move(*lease);
    lc.rtcp_mux = mux;
    state.latching[slot(side)] = ls.latching.value_or(cfg_.latching);
    state.phone[slot(side)] = ls.phone;
    state.party[slot(side)] = ls.party;
    lc.latching = !ls.ice && state.latching[slot(side)];
    if (ls.ice) {
      media::ice::AgentConfig ac;
      ac.consent_timeout = cfg_.consent_timeout;
      ac.punch_all = cfg_.pinhole_puncher;
      ac.source_acl = ls.candidate_acl;  // behaviour.md §3: peer-reflexive sources too
      state.candidate_acl[slot(side)] = ls.candidate_acl;
      auto creds = media::ice::Credentials::generate();
      local.ice = {creds.ufrag, creds.pwd};
      lc.ice = std::make_unique<media::ice::LiteAgent>(ac, creds);
      if (!mux) {
        media::ice::AgentConfig rtcp = ac;
        rtcp.component = 2;
        lc.ice_rtcp = std::make_unique<media::ice::LiteAgent>(rtcp, creds);
      }
      state.ice[slot(side)] = true;
    }
  }
  state.local_rtp[0] = call.a.ports.rtp;
  state.local_rtp[1] = call.b.ports.rtp;
  state.key = {setup.label, setup.from_user, setup.to_user, setup.a_call_id, setup.b_call_id};
  auto created = relay_.create(std::move(sc));
  if (!created) return unexpected(sip::MediaError{sip::MediaError::internal, created.error()});
  // A capture armed for one of this call's users takes it (its SIP so far included).
  if (auto tap = captures_.on_call_created(state.key)) attach_capture(id, std::move(tap));
  calls_.emplace(id, std::move(state));
  ++closed_.sessions_created;
  return call;
}

std::vector<std::string> MediaEngine::sdes_offer(std::uint64_t call, sip::Side side) {
  auto it = calls_.find(call);
  if (it == calls_.end()) return {};
  std::vector<std::string> lines;
  std::uint32_t tag = 1;
  for (auto profile : kSdesOffer) {
    auto c = media::srtp::make_sdes_crypto(tag++, profile);
    if (!c) {
      logger("media")->error("call {}: SDES key generation failed: {}", it->second.label,
                             c.error());
      continue;
    }
    lines.push_back(media::srtp::format_sdes_crypto(*c));
  }
  // Nothing leaves or enters the leg in clear while the answer (and its key) is awaited.
  media::relay::LegUpdate u;
  u.require_srtp = true;
  relay_.update(call, leg_of(side), std::move(u));
  return lines;
}

Expected<sip::SdesChoice, std::string> MediaEngine::sdes_answer(
    std::uint64_t call, sip::Side side, const std::vector<std::string>& offered) {
  auto it = calls_.find(call);
  if (it == calls_.end()) return unexpected(std::string("no media session"));
  LegKeys& k = it->second.keys[slot(side)];
  // A re-offer that still carries the line in use keeps the keys (no re-keying mid-call).
  if (k.sdes_local && std::find(offered.begin(), offered.end(), k.sdes_remote) != offered.end()) {
    return sip::SdesChoice{media::srtp::format_sdes_crypto(*k.sdes_local), k.sdes_remote};
  }
  std::string reasons;
  for (const auto& line : offered) {
    // RFC 4568 §7.1.1: the first line icegate can honour, in the offer's order.
    auto theirs = media::srtp::parse_sdes_crypto(line);
    if (!theirs) {
      reasons += (reasons.empty() ? "" : "; ") +
                 line.substr(0, line.find(' ', line.find(' ') + 1)) + ": " + theirs.error().reason;
      continue;
    }
    if (!media::srtp::profile_supported(theirs->key.profile())) {
      // Never answer with what cannot be keyed (AES-GCM on a libsrtp2 without it).
      reasons += (reasons.empty() ? "" : "; ") +
                 std::string(media::srtp::to_string(theirs->key.profile())) +
                 ": not supported by this libsrtp2";
      continue;
    }
    auto ours = media::srtp::make_sdes_crypto(theirs->tag, theirs->key.profile());
    if (!ours) return unexpected("key generation failed: " + ours.error());
    return sip::SdesChoice{media::srtp::format_sdes_crypto(*ours), line};
  }
  return unexpected("no usable a=crypto line (" + (reasons.empty() ? "none offered" : reasons) +
                    ")");
}

sip::IceCredentials MediaEngine::restart_ice(std::uint64_t call, sip::Side side) {
  auto creds = media::ice::Credentials::generate();
  auto it = calls_.find(call);
  if (it == calls_.end() || !it->second.ice[slot(side)]) return {};
  media::relay::LegUpdate u;
  u.ice_restart = creds;
  relay_.update(call, leg_of(side), std::move(u));
  logger("media")->info("call {}: ICE restart on leg {}", it->second.label, sip::to_string(side));
  return {creds.ufrag, creds.pwd};
}

void MediaEngine::set_remote(std::uint64_t call, sip::Side side, const sip::RemoteMedia& remote) {
  auto it = calls_.find(call);
  if (it == calls_.end()) return;
  CallState& state = it->second;
  LegKeys& keys = state.keys[slot(side)];
  state.candidates[slot(side)].clear();
  if (remote.ice) {
    for (const auto& c : remote.rtp) state.candidates[slot(side)].push_back(endpoint(c));
  }
  auto log = logger("media");
  media::relay::LegUpdate u;
  if (state.ice[slot(side)] && !remote.ice) {
    // Offered ICE, answered without it (a desk phone, an app with ICE off): a plain leg that
    // learns its source from its first valid media (symmetric RTP, issue 18).
    state.ice[slot(side)] = false;
    u.ice_off = true;
    u.latching = state.latching[slot(side)];
    log->info("call {}: leg {} has no ICE: plain RTP{}", state.label, sip::to_string(side),
              *u.latching ? ", latching onto its first valid media" : "");
  }
  if (!remote.payload_types.empty()) u.payload_types = remote.payload_types;
  if (state.ice[slot(side)]) {
    media::relay::IceRemote ir;
    if (remote.ice) ir.credentials = {remote.ice->ufrag, remote.ice->pwd};
    for (const auto& c : remote.rtp) ir.candidates.push_back(endpoint(c));
    for (const auto& c : remote.rtcp) ir.rtcp_candidates.push_back(endpoint(c));
    u.ice_remote = std::move(ir);
    bool& separate = state.separate_rtcp[slot(side)];
    if (remote.rtcp_mux && separate) {
      // Our offer had rtcp-mux with a fallback port; the phone took the mux (RFC 5761 §5.1.3).
      u.rtcp_mux = true;
      separate = false;
    }
  } else {
    if (!remote.rtp.empty()) u.remote_rtp = endpoint(remote.rtp.front());
    if (!remote.rtcp.empty()) u.remote_rtcp = endpoint(remote.rtcp.front());
  }
  if (remote.dtls) {
    // RFC 8842 §5: a new association for a new fingerprint, role or a=tls-id; the same
    // parameters again (hold, or an ICE restart: browsers keep DTLS across it) keep it running.
    if (!keys.dtls || *keys.dtls != *remote.dtls) {
      media::dtls::DtlsConfig dc;
      dc.role = remote.dtls->client ? media::dtls::Role::client : media::dtls::Role::server;
      dc.certificate = state.certificate;
      dc.handshake_timeout =
          std::chrono::duration_cast<std::chrono::milliseconds>(dtls_cfg_.handshake_timeout);
      std::string bad;
      for (const auto& f : remote.dtls->fingerprints) {
        auto fp = media::dtls::Fingerprint::parse(f);
        if (fp)
          dc.expected_peer_fingerprints.push_back(std::move(*fp));
        else
          bad += (bad.empty() ? "" : "; ") + fp.error();
      }
      if (!bad.empty()) log->warn("call {}: ignored a=fingerprint: {}", state.label, bad);
      u.dtls = std::move(dc);  // an empty fingerprint list fails the handshake, with the reason
      keys.dtls = remote.dtls;
      log->debug("call {}: DTLS on leg {} as {}", state.label, sip::to_string(side),
                 remote.dtls->client ? "client" : "server");
    }
  }
  if (remote.sdes && remote.sdes->remote != keys.sdes_remote) {
    // Icegate's key: the offered line with the answer's tag (RFC 4568 §7.1.2).
    auto theirs = media::srtp::parse_sdes_crypto(remote.sdes->remote);
    auto ours = media::srtp::parse_sdes_crypto(remote.sdes->local);
    std::unique_ptr<media::srtp::SrtpTransform> t;
    std::string error;
    if (!theirs)
      error = "the peer's a=crypto: " + theirs.error().reason;
    else if (!ours)
      error = "icegate's a=crypto: " + ours.error().reason;
    else if (ours->key.profile() != theirs->key.profile())
      error = "a=crypto suites differ";
    else if (auto tr = media::srtp::SrtpTransform::create(ours->key, theirs->key))
      t = std::move(*tr);
    else
      error = tr.error();
    if (t) {
      keys.sdes_local = *ours;
      keys.sdes_remote = remote.sdes->remote;
      u.srtp = std::move(t);
      log->info("call {}: SDES-SRTP on leg {} ({})", state.label, sip::to_string(side),
                media::srtp::to_string(ours->key.profile()));
    } else {
      log->error("call {}: SDES keys on leg {} refused: {}", state.label, sip::to_string(side),
                 error);
    }
    u.require_srtp = true;  // a bad key means no media on that leg, never media in clear
  }
  relay_.update(call, leg_of(side), std::move(u));
}

void MediaEngine::set_payload_types(std::uint64_t call, sip::Side side,
                                    const sip::PayloadTypes& types) {
  auto it = calls_.find(call);
  if (it == calls_.end()) return;
  CallState& state = it->second;
  auto& last = state.payload_types[slot(side)];
  if (last == types) return;
  last = types;
  media::relay::LegUpdate u;
  media::relay::PayloadPlan plan;
  for (const auto& f : types.formats) {
    plan.formats.push_back({f.pt, f.clock_rate, f.event});
    // The main codec's clock counts what the plan does not name.
    if (!u.clock_rate && !f.event && f.clock_rate != 0) u.clock_rate = f.clock_rate;
  }
  plan.rewrite = types.rewrite;
  if (!types.rewrite.empty()) {
    std::string pairs;
    for (const auto& [from, to] : types.rewrite) {
      pairs += (pairs.empty() ? "" : ", ") + std::to_string(from) + "->" + std::to_string(to);
    }
    logger("media")->info("call {}: payload types toward leg {} mapped: {}", state.label,
                          sip::to_string(side), pairs);
  }
  u.payloads = std::move(plan);
  relay_.update(call, leg_of(side), std::move(u));
}

void MediaEngine::call_ending(std::uint64_t call, const sip::CallOutcome& outcome) {
  if (auto it = calls_.find(call); it != calls_.end()) it->second.outcome = outcome;
}

diagnosis::CallEvidence MediaEngine::evidence(const CallState& state,
                                              const media::relay::SessionStats& stats,
                                              bool ended,
                                              const std::optional<sip::CallOutcome>& outcome) {
  diagnosis::CallEvidence e;
  const auto pub = public_address();
  for (std::size_t i = 0; i < 2; ++i) {
    diagnosis::LegEvidence& l = i == 0 ? e.a : e.b;
    l.kind = !state.phone[i]  ? diagnosis::LegKind::trunk
             : state.ice[i]   ? diagnosis::LegKind::phone_ice
                              : diagnosis::LegKind::phone_latching;
    l.stats = stats.legs[i];
    l.local_port = state.local_rtp[i];
    l.sip_source = state.party[i];
    // Candidate types are not kept by the media side: every candidate counts as host here.
    for (const auto& c : state.candidates[i]) l.candidates.push_back({c, {}, 1});
    l.blocked = state.refused[i];  // check sources the candidate ACL refused
    // What each pin-hole target answered, and how the phone saw icegate (pattern 3).
    if (l.stats.ice) l.punches = l.stats.ice->punches;
    l.public_candidate = pub             ? diagnosis::PublicCandidate::offered
                         : stun_enabled_ ? diagnosis::PublicCandidate::stun_unanswered
                                         : diagnosis::PublicCandidate::not_configured;
  }
  e.media_address = cfg_.address;
  e.public_address = pub;
  for (auto& v : stun_views(cfg_.address)) e.stun_answers.push_back({v.server, v.address});
  e.rtp_min = cfg_.rtp_min;
  e.rtp_max = cfg_.rtp_max;
  e.start = state.created;
  e.end = std::chrono::steady_clock::now();
  e.ended = ended;
  if (outcome) {
    e.answered = outcome->answered;
    e.ice_timed_out = outcome->ice_timed_out;
    e.final_status = outcome->final_status;
  }
  return e;
}

std::optional<diagnosis::Verdict> MediaEngine::diagnose(std::uint64_t call,
                                                        const sip::CallOutcome& outcome) {
  auto it = calls_.find(call);
  if (it == calls_.end() || !it->second.last) return std::nullopt;
  return diagnosis::diagnose(evidence(it->second, *it->second.last, false, outcome));
}

std::optional<diagnosis::VerdictFields> MediaEngine::recent_verdict(const std::string& label) const {
  for (auto it = recent_.rbegin(); it != recent_.rend(); ++it) {
    if (it->first == label) return it->second;
  }
  return std::nullopt;
}

void MediaEngine::log_bind_failures() {
  // Ports of the range another program holds (behaviour.md §5; issue 13: on a busy host the
  // kernel's ephemeral ports overlap the default range): each one is skipped and held out by
  // the allocator; the log names them, at most one line per 10 s with what came since.
  for (const auto& f : allocator_.take_bind_failures()) {
    ++bind_failures_pending_;
    if (bind_failure_sample_.size() < 8) {
      bind_failure_sample_ += (bind_failure_sample_.empty() ? "" : ", ") + std::to_string(f.port) +
                              " (" + std::strerror(f.error) + ")";
    }
  }
  const auto now = std::chrono::steady_clock::now();
  if (bind_failures_pending_ == 0 || now < next_bind_failure_log_) return;
  logger("media")->warn(
      "{} RTP port(s) could not be bound and are held out for a while: {}{}; another program "
      "holds them (check-config warns when the range overlaps the kernel's ephemeral ports)",
      bind_failures_pending_, bind_failure_sample_, bind_failures_pending_ > 8 ? ", ..." : "");
  bind_failures_pending_ = 0;
  bind_failure_sample_.clear();
  next_bind_failure_log_ = now + std::chrono::seconds(10);
}

Expected<capture::CaptureInfo, capture::Refusal> MediaEngine::capture_call(
    const std::string& label) {
  const auto it = std::find_if(calls_.begin(), calls_.end(),
                               [&label](const auto& c) { return c.second.label == label; });
  if (it == calls_.end()) return unexpected(capture::Refusal{404, "no call " + label});
  auto c = captures_.start(it->second.key);
  if (!c) return unexpected(c.error());
  attach_capture(it->first, *c);
  return (*c)->info();
}

void MediaEngine::attach_capture(std::uint64_t session, std::shared_ptr<media::relay::PacketTap> tap) {
  // The tap is session-wide (LegUpdate::tap): either leg's update carries it.
  media::relay::LegUpdate u;
  u.tap = std::move(tap);
  relay_.update(session, media::Leg::a, std::move(u));
}

void MediaEngine::destroy_call(std::uint64_t call) {
  if (auto it = calls_.find(call); it != calls_.end()) captures_.on_call_ended(it->second.label);
  if (calls_.count(call) == 0) return;
  relay_.destroy(call);  // session_closed comes back with the final counters
}

std::string MediaEngine::describe(std::uint64_t call) {
  auto it = calls_.find(call);
  if (it == calls_.end()) return "no media session";
  return it->second.history.empty() ? "no ICE or media event yet" : it->second.history;
}

std::optional<acl::Address> MediaEngine::public_address() {
  std::lock_guard lock(public_mutex_);
  return public_address_;
}

void MediaEngine::set_public_address(std::optional<acl::Address> a) {
  std::lock_guard lock(public_mutex_);
  public_address_ = a;
  public_since_ = a ? std::optional(std::chrono::steady_clock::now()) : std::nullopt;
}

std::optional<std::chrono::steady_clock::time_point> MediaEngine::public_address_since() const {
  std::lock_guard lock(public_mutex_);
  return public_since_;
}

void MediaEngine::refresh_stats(std::function<void()> done) {
  StatsWaiter w;
  for (const auto& [id, state] : calls_) {
    if (relay_.request_stats(id)) w.pending.insert(id);
  }
  if (w.pending.empty()) return done();
  w.done = std::move(done);
  waiters_.push_back(std::move(w));
}

void MediaEngine::settle_waiters(std::uint64_t call) {
  std::vector<std::function<void()>> ready;
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    it->pending.erase(call);
    if (it->pending.empty()) {
      ready.push_back(std::move(it->done));
      it = waiters_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& fn : ready) fn();
}

MediaTotals MediaEngine::totals() const {
  MediaTotals t = closed_;
  for (const auto& [id, state] : calls_) {
    if (state.last) accumulate(t, *state.last);
  }
  return t;
}

std::optional<MediaView> MediaEngine::view(std::uint64_t call) const {
  auto it = calls_.find(call);
  if (it == calls_.end()) return std::nullopt;
  MediaView v;
  v.stats = it->second.last;
  v.history = it->second.history;
  v.ice[0] = it->second.ice[0];
  v.ice[1] = it->second.ice[1];
  v.created = it->second.created;
  return v;
}

void MediaEngine::set_event_sink(std::function<void(const sip::MediaEvent&)> sink) {
  sink_ = std::move(sink);
}

int MediaEngine::event_fd() const { return relay_.event_fd(); }

void MediaEngine::dispatch_events() {
  auto log = logger("media");
  for (auto& ev : relay_.drain_events()) {
    auto it = calls_.find(ev.session);
    const std::string label = it == calls_.end() ? std::to_string(ev.session) : it->second.label;
    const std::string leg = ev.leg ? std::string(media::to_string(*ev.leg)) : std::string("-");
    const std::string remote = ev.remote ? ev.remote->to_string() : std::string();
    const auto note = [&](const std::string& what) {
      if (it == calls_.end()) return;
      auto& h = it->second.history;
      h += (h.empty() ? "" : "; ") + what;
    };
    sip::MediaEvent out;
    out.call = ev.session;
    out.side = ev.leg ? side_of(*ev.leg) : sip::Side::a;
    out.detail = remote.empty() ? ev.detail : remote + (ev.detail.empty() ? "" : " " + ev.detail);
    bool forward = false;
    switch (ev.kind) {
      case media::EventKind::ice_connected:
        note("leg " + leg + " ICE connected via " + remote);
        ++closed_.ice_connected;
        if (it != calls_.end()) {
          closed_.ice_connected_seconds.observe(std::chrono::duration<double>(
              std::chrono::steady_clock::now() - it->second.created).count());
        }
        out.kind = sip::MediaEventKind::ice_connected;
        forward = true;
        break;
      case media::EventKind::nominated_changed:
        note("leg " + leg + " path " + remote);
        out.kind = sip::MediaEventKind::path_changed;
        forward = true;
        break;
      case media::EventKind::consent_lost:
        note("leg " + leg + " consent lost");
        ++closed_.ice_consent_lost;
        out.kind = sip::MediaEventKind::consent_lost;
        forward = true;
        break;
      case media::EventKind::media_timeout:
        note("media timeout");
        ++closed_.media_timeouts;
        out.kind = sip::MediaEventKind::media_timeout;
        forward = true;
        break;
      case media::EventKind::pinhole_answered:
        note("leg " + leg + " pin-hole answered by " + remote);
        log->debug("call {}: pin-hole request on leg {} answered by {}", label, leg, remote);
        break;
      case media::EventKind::session_failed:
        log->error("call {}: media session failed: {}", label, ev.detail);
        out.kind = sip::MediaEventKind::media_timeout;
        out.detail = "media session failed: " + ev.detail;
        forward = true;
        break;
      case media::EventKind::port_exhausted:
        log->error("RTP ports exhausted: {}", ev.detail);
        break;
      case media::EventKind::session_closed:
        if (ev.stats) {
          log->info("call {}: media closed: A {} | B {}", label, format_leg(ev.stats->legs[0]),
                    format_leg(ev.stats->legs[1]));
        }
        ++closed_.sessions_closed;
        if (it != calls_.end()) {
          if (ev.stats) {
            accumulate(closed_, *ev.stats);
            it->second.last = *ev.stats;
          }
          if (ev.stats) {
            // behaviour.md §9: every call without media both ways gets a verdict in the log.
            const auto verdict = diagnosis::diagnose(
                evidence(it->second, *ev.stats, true, it->second.outcome));
            // A call nobody answered, or too short to judge, is no failure: info, not warn.
            const bool expected = verdict.finding == diagnosis::Finding::not_answered ||
                                  verdict.finding == diagnosis::Finding::too_short;
            if (!verdict.media_both_ways()) {
              log->log(expected ? spdlog::level::info : spdlog::level::warn, "call {}: {}", label,
                       diagnosis::log_line(verdict));
            }
            recent_.emplace_back(label, diagnosis::to_fields(verdict));
            if (recent_.size() > kRecentVerdicts) recent_.pop_front();
          }
          calls_.erase(it);
        }
        settle_waiters(ev.session);
        continue;
      case media::EventKind::dtls_connected:
        note("leg " + leg + " DTLS connected (" + ev.detail + ")");
        out.kind = sip::MediaEventKind::secure_media_up;
        ++closed_.dtls_ok;
        out.detail = ev.detail;
        forward = true;
        break;
      case media::EventKind::dtls_failed:
        note("leg " + leg + " DTLS failed: " + ev.detail);
        ++closed_.dtls_failed[dtls_cause(ev.detail)];
        out.kind = sip::MediaEventKind::secure_media_failed;
        forward = true;
        break;
      case media::EventKind::ice_rtcp_changed:
        // RTCP (component 2) never ends a call: logged for diagnostics only.
        note("leg " + leg + " RTCP " + out.detail);
        log->info("call {}: leg {} RTCP (ICE component 2): {}", label, leg, out.detail);
        break;
      case media::EventKind::dtls_rtcp_changed:
        note("leg " + leg + " " + ev.detail);
        log->info("call {}: leg {} {}", label, leg, out.detail);
        break;
      case media::EventKind::ice_check_refused:
        // behaviour.md §3, §9 pattern 5: the candidate ACL on a check's (peer-reflexive) source.
        note("leg " + leg + " ICE " + ev.detail);
        log->warn("call {}: leg {} ICE {}", label, leg, ev.detail);
        if (it != calls_.end() && ev.leg && ev.remote) {
          const auto i = static_cast<std::size_t>(*ev.leg);
          if (const auto& acl = it->second.candidate_acl[i]) {
            it->second.refused[i].push_back({"check from " + remote + " (peer-reflexive)",
                                             acl->name(), acl->check(ev.remote->address).explain()});
          }
        }
        break;
      case media::EventKind::stats:
        if (it != calls_.end() && ev.stats) it->second.last = *ev.stats;
        settle_waiters(ev.session);
        break;
      case media::EventKind::session_started:
        break;
    }
    if (forward && sink_ && it != calls_.end()) sink_(out);
  }
}

}  // namespace icegate::gateway
