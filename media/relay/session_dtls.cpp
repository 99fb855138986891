// The DTLS-SRTP side of a relay session (RFC 5763, RFC 5764): the leg's handshake engine, its
// flights on the ICE-selected path, and the SRTP transform built from the exported keys.
#include <sys/socket.h>

#include "media/relay/session.hpp"

namespace icegate::media::relay {
namespace {

constexpr std::string_view role_name(dtls::Role r) noexcept {
  return r == dtls::Role::client ? "client" : "server";
}

}  // namespace

std::optional<std::string> Session::install_dtls(LegState& l, dtls::DtlsConfig config) {
  if (!l.cfg.ice) return std::string("DTLS-SRTP needs ICE on the leg");
  // RFC 5764 §4.1: without rtcp-mux the RTCP port pair has an association of its own.
  std::optional<dtls::DtlsConfig> rtcp_config;
  if (!l.cfg.rtcp_mux && l.cfg.ice_rtcp) rtcp_config = config;
  auto engine = dtls::DtlsEngine::create(std::move(config));
  if (!engine) return "DTLS parameters: " + engine.error();
  // A new handshake replaces the old one; the keys in use stay until the new ones arrive.
  l.dtls.emplace(std::move(*engine));
  l.dtls_out.clear();
  if (rtcp_config) {
    auto rtcp = dtls::DtlsEngine::create(std::move(*rtcp_config));
    if (!rtcp) return "DTLS parameters (RTCP): " + rtcp.error();
    l.dtls_rtcp.emplace(std::move(*rtcp));
    l.dtls_rtcp_out.clear();
  }
  l.srtp_required = true;
  ++l.handshakes;
  timers_dirty_ = true;
  return std::nullopt;
}

void Session::maybe_start_dtls(LegState& l, std::uint8_t leg, Component c, Clock::time_point now,
                               std::vector<MediaEvent>& events) {
  // RFC 8842 §4 / RFC 5763 §5: the handshake runs on the path ICE selected, once there is one.
  // The client sends its ClientHello; the server arms its handshake deadline, so a peer that
  // never starts DTLS is reported (dtls_failed) instead of leaving the call silent.
  auto& engine = c == Component::rtp ? l.dtls : l.dtls_rtcp;
  const Destination& d = c == Component::rtp ? l.rtp : l.rtcp;
  if (!engine || engine->state() != dtls::State::idle || !d.remote) return;
  engine->start(now, c == Component::rtp ? l.dtls_out : l.dtls_rtcp_out);
  flush_dtls(l, leg, c, events);
  // What arrived too early (see LegState::early_dtls): only the selected path's counts.
  auto early = std::move(l.early_dtls[static_cast<std::size_t>(c)]);
  l.early_dtls[static_cast<std::size_t>(c)].clear();
  for (const auto& e : early) {
    if (e.from == *d.remote) {
      handle_dtls(l, leg, c, e.bytes, now, events);
    } else {
      ++l.stats.dropped[static_cast<std::size_t>(Drop::wrong_source)];
    }
  }
}

void Session::handle_dtls(LegState& l, std::uint8_t leg, Component c,
                          std::span<const std::byte> datagram, Clock::time_point now,
                          std::vector<MediaEvent>& events) {
  if (c == Component::rtp) {
    l.dtls->on_datagram(datagram, now, l.dtls_out);
  } else {
    l.dtls_rtcp->on_datagram(datagram, now, l.dtls_rtcp_out);
  }
  flush_dtls(l, leg, c, events);
}

void Session::flush_dtls(LegState& l, std::uint8_t leg, Component c,
                         std::vector<MediaEvent>& events) {
  const bool rtcp = c == Component::rtcp;
  dtls::DtlsEngine& engine = rtcp ? *l.dtls_rtcp : *l.dtls;
  dtls::DtlsOutput& out = rtcp ? l.dtls_rtcp_out : l.dtls_out;
  const Destination& to = rtcp ? l.rtcp : l.rtp;
  const int fd = l.tags[rtcp ? 1 : 0].fd;
  // Flights leave from the component's socket toward its selected remote.
  for (const auto& d : out.datagrams) {
    const bool sent = to.len != 0 && ::sendto(fd, d.data(), d.size(), MSG_DONTWAIT, &to.sa.any,
                                              to.len) == static_cast<ssize_t>(d.size());
    // A lost flight is retransmitted by the engine's timer (RFC 6347 §4.2.4).
    if (!sent) {
      ++l.stats.dropped[static_cast<std::size_t>(Drop::send_failed)];
    } else {
      tap_out(l, c, *to.remote, d);
    }
  }
  const auto leg_id = static_cast<Leg>(leg);
  const auto report = [&](EventKind kind, std::string detail) {
    if (rtcp) {
      // Component 2 never ends the call: its events are diagnostics.
      detail = std::string(kind == EventKind::dtls_connected ? "RTCP DTLS connected: "
                                                             : "RTCP DTLS failed: ") +
               detail;
      kind = EventKind::dtls_rtcp_changed;
    }
    events.push_back(MediaEvent{kind, id_, leg_id, to.remote, std::move(detail), {}});
  };
  for (auto& e : out.events) {
    switch (e.kind) {
      case dtls::DtlsEvent::Kind::connected: {
        const auto& keys = engine.srtp_keys();
        if (!keys) {
          report(EventKind::dtls_failed, "DTLS connected without SRTP keys");
          break;
        }
        // RFC 5764 §4.2: `local` protects what we send, `remote` checks what the peer sends.
        auto t = srtp::SrtpTransform::create(keys->local, keys->remote);
        if (!t) {
          report(EventKind::dtls_failed, "SRTP setup failed: " + t.error());
          break;
        }
        if (rtcp) {
          l.srtcp = std::move(*t);
        } else {
          set_transform(l, std::move(*t));
        }
        report(EventKind::dtls_connected, std::string(srtp::to_string(keys->profile)) + " " +
                                              std::string(role_name(engine.role())) + " (" +
                                              e.detail + ")");
        break;
      }
      case dtls::DtlsEvent::Kind::failed:
        report(EventKind::dtls_failed, std::move(e.detail));
        break;
      case dtls::DtlsEvent::Kind::closed:
        // close_notify: the peer is done (usually hanging up). The keys stay valid; the state
        // shows in the leg's DTLS stats.
        break;
    }
  }
  out.clear();
  timers_dirty_ = true;
}

PacketTransform* Session::transform_for(LegState& l, bool rtcp) noexcept {
  // RTCP on its own port with an association of its own uses that one's keys.
  if (rtcp && l.dtls_rtcp && !l.cfg.rtcp_mux) return l.srtcp.get();
  return l.cfg.srtp.get();
}

void Session::set_transform(LegState& l, std::unique_ptr<PacketTransform> t) noexcept {
  l.cfg.srtp = std::move(t);
  // Knowing the concrete transform lets a failed unprotect be counted by its reason.
  l.srtp_view = dynamic_cast<srtp::SrtpTransform*>(l.cfg.srtp.get());
}

Drop Session::unprotect_failure(const srtp::SrtpTransform* t) noexcept {
  if (t == nullptr) return Drop::transform_failed;
  switch (t->last_unprotect_error()) {
    case srtp::SrtpError::auth_failed:
      return Drop::srtp_auth_failed;
    case srtp::SrtpError::replay:
      return Drop::srtp_replay;
    default:
      return Drop::transform_failed;
  }
}

DtlsSnapshot Session::dtls_snapshot(const LegState& l, Component c) const {
  DtlsSnapshot s;
  const auto& e = c == Component::rtp ? *l.dtls : *l.dtls_rtcp;
  s.state = dtls::to_string(e.state());
  s.role = role_name(e.role());
  if (e.srtp_keys()) s.profile = srtp::to_string(e.srtp_keys()->profile);
  s.failure = e.failure_reason();
  s.datagrams_in = e.counters().datagrams_in;
  s.datagrams_out = e.counters().datagrams_out;
  s.retransmissions = e.counters().retransmissions;
  s.handshakes = l.handshakes;
  return s;
}

}  // namespace icegate::media::relay
