#include "gateway/media_engine.hpp"

#include <stdexcept>

#include "gateway/log.hpp"
#include "media/ice/agent.hpp"

namespace icegate::gateway {
namespace {

media::Leg leg_of(sip::Side s) { return s == sip::Side::a ? media::Leg::a : media::Leg::b; }
sip::Side side_of(media::Leg l) { return l == media::Leg::a ? sip::Side::a : sip::Side::b; }
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
  if (l.dropped_total()) {
    s += ", dropped";
    for (std::size_t i = 0; i < l.dropped.size(); ++i) {
      if (l.dropped[i]) {
        s += " " + std::string(media::relay::to_string(static_cast<media::relay::Drop>(i))) + "=" +
             std::to_string(l.dropped[i]);
      }
    }
  }
  if (l.rtp_lost || l.jitter.count()) {
    s += ", lost " + std::to_string(l.rtp_lost) + ", jitter " + std::to_string(l.jitter.count()) + " us";
  }
  return s;
}

}  // namespace

MediaEngine::MediaEngine(const conf::Media& cfg)
    : cfg_(cfg), allocator_(make_allocator(cfg)), relay_(relay_config(cfg)) {
  public_address_ = cfg.public_address;
  logger("media")->info("media: {} RTP ports {}-{}, {} worker(s)", cfg.address.to_string(),
                        cfg.rtp_min, cfg.rtp_max, relay_.worker_count());
}

MediaEngine::~MediaEngine() = default;

void MediaEngine::reload(const conf::Media& cfg) {
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
  CallState state;
  state.label = setup.label;
  for (sip::Side side : {sip::Side::a, sip::Side::b}) {
    const sip::LegSetup& ls = side == sip::Side::a ? setup.a : setup.b;
    media::relay::LegConfig& lc = side == sip::Side::a ? sc.a : sc.b;
    sip::LocalLeg& local = side == sip::Side::a ? call.a : call.b;
    // Without RTCP multiplexing (baresip, linphone) RTCP has its own port and, on an ICE leg,
    // its own component-2 agent with the same credentials (RFC 8445 §5.3).
    const bool mux = ls.rtcp_mux;
    auto lease = relay_.allocate(allocator_, id,
                                 mux ? media::ports::PortShape::single : media::ports::PortShape::pair);
    if (!lease) {
      sip::MediaError e;
      e.kind = lease.error().code == media::ports::PortErrc::exhausted ? sip::MediaError::ports_exhausted
                                                                       : sip::MediaError::internal;
      e.message = lease.error().detail;
      return unexpected(std::move(e));
    }
    local.ports.rtp = lease->rtp_port();
    local.ports.rtcp = lease->rtcp() ? lease->rtcp()->local().port : 0;
    lc.sockets = std::move(*lease);
    lc.rtcp_mux = mux;
    lc.latching = !ls.ice && cfg_.latching;
    if (ls.ice) {
      media::ice::AgentConfig ac;
      ac.consent_timeout = cfg_.consent_timeout;
      ac.punch_all = cfg_.pinhole_puncher;
      auto creds = media::ice::Credentials::generate();
      local.ice = {creds.ufrag, creds.pwd};
      lc.ice = std::make_unique<media::ice::LiteAgent>(ac, creds);
      if (!mux) {
        media::ice::AgentConfig rtcp = ac;
        rtcp.component = 2;
        lc.ice_rtcp = std::make_unique<media::ice::LiteAgent>(rtcp, creds);
      }
      state.ice[side == sip::Side::a ? 0 : 1] = true;
    }
  }
  auto created = relay_.create(std::move(sc));
  if (!created) return unexpected(sip::MediaError{sip::MediaError::internal, created.error()});
  calls_.emplace(id, std::move(state));
  return call;
}

void MediaEngine::set_remote(std::uint64_t call, sip::Side side, const sip::RemoteMedia& remote) {
  auto it = calls_.find(call);
  if (it == calls_.end()) return;
  media::relay::LegUpdate u;
  if (it->second.ice[side == sip::Side::a ? 0 : 1]) {
    media::relay::IceRemote ir;
    if (remote.ice) ir.credentials = {remote.ice->ufrag, remote.ice->pwd};
    for (const auto& c : remote.rtp) ir.candidates.push_back(endpoint(c));
    for (const auto& c : remote.rtcp) ir.rtcp_candidates.push_back(endpoint(c));
    u.ice_remote = std::move(ir);
  } else {
    if (!remote.rtp.empty()) u.remote_rtp = endpoint(remote.rtp.front());
    if (!remote.rtcp.empty()) u.remote_rtcp = endpoint(remote.rtcp.front());
  }
  relay_.update(call, leg_of(side), std::move(u));
}

void MediaEngine::destroy_call(std::uint64_t call) {
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
        out.kind = sip::MediaEventKind::consent_lost;
        forward = true;
        break;
      case media::EventKind::media_timeout:
        note("media timeout");
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
        if (it != calls_.end()) calls_.erase(it);
        continue;
      case media::EventKind::dtls_connected:
        note("leg " + leg + " DTLS connected (" + ev.detail + ")");
        log->info("call {}: DTLS-SRTP up on leg {}: {}", label, leg, ev.detail);
        break;
      case media::EventKind::dtls_failed:
        note("leg " + leg + " DTLS failed: " + ev.detail);
        out.kind = sip::MediaEventKind::secure_media_failed;
        forward = true;
        break;
      case media::EventKind::ice_rtcp_changed:
        // RTCP (component 2) never ends a call: logged for diagnostics only.
        note("leg " + leg + " RTCP " + out.detail);
        log->info("call {}: leg {} RTCP (ICE component 2): {}", label, leg, out.detail);
        break;
      case media::EventKind::session_started:
      case media::EventKind::stats:
        break;
    }
    if (forward && sink_ && it != calls_.end()) sink_(out);
  }
}

}  // namespace icegate::gateway
