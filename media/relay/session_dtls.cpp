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
  auto engine = dtls::DtlsEngine::create(std::move(config));
  if (!engine) return "DTLS parameters: " + engine.error();
  // A new handshake replaces the old one; the keys in use stay until the new ones arrive.
  l.dtls.emplace(std::move(*engine));
  l.dtls_out.clear();
  l.srtp_required = true;
  ++l.handshakes;
  timers_dirty_ = true;
  return std::nullopt;
}

void Session::maybe_start_dtls(LegState& l, std::uint8_t leg, Clock::time_point now,
                               std::vector<MediaEvent>& events) {
  // RFC 8842 §4 / RFC 5763 §5: the handshake runs on the path ICE selected, once there is one.
  // The client sends its ClientHello; the server arms its handshake deadline, so a peer that
  // never starts DTLS is reported (dtls_failed) instead of leaving the call silent.
  if (!l.dtls || l.dtls->state() != dtls::State::idle || !l.rtp.remote) return;
  l.dtls->start(now, l.dtls_out);
  flush_dtls(l, leg, events);
}

void Session::handle_dtls(LegState& l, std::uint8_t leg, std::span<const std::byte> datagram,
                          Clock::time_point now, std::vector<MediaEvent>& events) {
  l.dtls->on_datagram(datagram, now, l.dtls_out);
  flush_dtls(l, leg, events);
}

void Session::flush_dtls(LegState& l, std::uint8_t leg, std::vector<MediaEvent>& events) {
  // Flights leave from the RTP socket (component 1) toward the selected remote.
  for (const auto& d : l.dtls_out.datagrams) {
    const bool sent =
        l.rtp.len != 0 && ::sendto(l.tags[0].fd, d.data(), d.size(), MSG_DONTWAIT, &l.rtp.sa.any,
                                   l.rtp.len) == static_cast<ssize_t>(d.size());
    // A lost flight is retransmitted by the engine's timer (RFC 6347 §4.2.4).
    if (!sent) ++l.stats.dropped[static_cast<std::size_t>(Drop::send_failed)];
  }
  const auto leg_id = static_cast<Leg>(leg);
  for (auto& e : l.dtls_out.events) {
    switch (e.kind) {
      case dtls::DtlsEvent::Kind::connected: {
        const auto& keys = l.dtls->srtp_keys();
        if (!keys) {
          events.push_back(MediaEvent{EventKind::dtls_failed,
                                      id_,
                                      leg_id,
                                      l.rtp.remote,
                                      "DTLS connected without SRTP keys",
                                      {}});
          break;
        }
        // RFC 5764 §4.2: `local` protects what we send, `remote` checks what the peer sends;
        // the same keys serve SRTCP on either component (§4.1).
        auto t = srtp::SrtpTransform::create(keys->local, keys->remote);
        if (!t) {
          events.push_back(MediaEvent{EventKind::dtls_failed,
                                      id_,
                                      leg_id,
                                      l.rtp.remote,
                                      "SRTP setup failed: " + t.error(),
                                      {}});
          break;
        }
        set_transform(l, std::move(*t));
        events.push_back(MediaEvent{EventKind::dtls_connected,
                                    id_,
                                    leg_id,
                                    l.rtp.remote,
                                    std::string(srtp::to_string(keys->profile)) + " " +
                                        std::string(role_name(l.dtls->role())) + " (" + e.detail +
                                        ")",
                                    {}});
        break;
      }
      case dtls::DtlsEvent::Kind::failed:
        events.push_back(
            MediaEvent{EventKind::dtls_failed, id_, leg_id, l.rtp.remote, std::move(e.detail), {}});
        break;
      case dtls::DtlsEvent::Kind::closed:
        // close_notify: the peer is done (usually hanging up). The keys stay valid; the state
        // shows in the leg's DTLS stats.
        break;
    }
  }
  l.dtls_out.clear();
  timers_dirty_ = true;
}

void Session::set_transform(LegState& l, std::unique_ptr<PacketTransform> t) noexcept {
  l.cfg.srtp = std::move(t);
  // Knowing the concrete transform lets a failed unprotect be counted by its reason.
  l.srtp_view = dynamic_cast<srtp::SrtpTransform*>(l.cfg.srtp.get());
  l.seen_auth_failed = l.srtp_view ? l.srtp_view->counters().inbound_drops.auth_failed : 0;
  l.seen_replay = l.srtp_view ? l.srtp_view->counters().inbound_drops.replay : 0;
}

Drop Session::unprotect_failure(LegState& l) noexcept {
  if (l.srtp_view == nullptr) return Drop::transform_failed;
  const auto& c = l.srtp_view->counters().inbound_drops;
  if (c.auth_failed != l.seen_auth_failed) {
    l.seen_auth_failed = c.auth_failed;
    return Drop::srtp_auth_failed;
  }
  if (c.replay != l.seen_replay) {
    l.seen_replay = c.replay;
    return Drop::srtp_replay;
  }
  return Drop::transform_failed;
}

DtlsSnapshot Session::dtls_snapshot(const LegState& l) const {
  DtlsSnapshot s;
  const auto& e = *l.dtls;
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
