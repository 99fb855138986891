// The ICE side of a relay session: one lite agent per component of a leg (component 1 on the
// RTP socket, component 2 on the RTCP socket when RTCP is not muxed), their transmits, events
// and the media path they select.
#include <sys/socket.h>

#include "media/relay/session.hpp"

namespace icegate::media::relay {
namespace {

std::optional<EventKind> to_media_event(ice::EventKind k) noexcept {
  switch (k) {
    case ice::EventKind::connected:
      return EventKind::ice_connected;
    case ice::EventKind::selected_pair_changed:
      return EventKind::nominated_changed;
    case ice::EventKind::consent_lost:
      return EventKind::consent_lost;
    case ice::EventKind::pinhole_answered:
      return EventKind::pinhole_answered;
    case ice::EventKind::check_refused:
      return EventKind::ice_check_refused;
  }
  return std::nullopt;
}

}  // namespace

ice::LiteAgent* Session::agent(LegState& l, Component c) noexcept {
  return c == Component::rtp ? l.cfg.ice.get() : l.cfg.ice_rtcp.get();
}

void Session::set_ice_remote(LegState& l, std::uint8_t leg, const IceRemote& r,
                             Clock::time_point now, std::vector<MediaEvent>& events) {
  l.cfg.ice->set_remote(r.credentials, r.candidates, now, l.ice_out);
  flush_ice(l, leg, Component::rtp, now, events);
  if (l.cfg.ice_rtcp) {
    // Same remote credentials for both components (RFC 8445 §5.3); component 2 punches its own
    // candidates, the RTCP ports.
    l.cfg.ice_rtcp->set_remote(r.credentials, r.rtcp_candidates, now, l.ice_out);
    flush_ice(l, leg, Component::rtcp, now, events);
  }
}

void Session::handle_stun(LegState& l, std::uint8_t leg, Component c,
                          std::span<const std::byte> datagram, const Endpoint& from,
                          Clock::time_point now, std::vector<MediaEvent>& events) {
  ++l.stats.stun_in;
  agent(l, c)->on_stun(datagram, from, now, l.ice_out);
  flush_ice(l, leg, c, now, events);
}

void Session::flush_ice(LegState& l, std::uint8_t leg, Component c, Clock::time_point now,
                        std::vector<MediaEvent>& events) {
  const ice::LiteAgent* a = agent(l, c);
  const bool rtcp = c == Component::rtcp;
  // Agent transmits (check answers, pin-hole requests) leave from the component's own socket,
  // so the peer sees the address it checked (RFC 8445 §7.3.1.2: responses go back to the
  // source).
  const int fd = l.tags[rtcp ? 1 : 0].fd;
  for (const auto& t : l.ice_out.transmits) {
    sockaddr_storage sa;
    const socklen_t salen = t.to.to_sockaddr(sa);
    const auto n = ::sendto(fd, t.bytes.data(), t.bytes.size(), MSG_DONTWAIT,
                            reinterpret_cast<const sockaddr*>(&sa), salen);
    if (n == static_cast<ssize_t>(t.bytes.size())) {
      ++l.stats.stun_out;
      tap_out(l, c, t.to, t.bytes);
    } else {
      ++l.stats.dropped[static_cast<std::size_t>(Drop::send_failed)];
    }
  }
  const auto leg_id = static_cast<Leg>(leg);
  for (auto& e : l.ice_out.events) {
    auto kind = to_media_event(e.kind);
    if (!kind) continue;
    if (rtcp && *kind != EventKind::pinhole_answered && *kind != EventKind::ice_check_refused) {
      // Component 2 only carries RTCP: its state is reported, it never connects or ends the
      // call (behaviour.md §4 is about the media path, component 1).
      events.push_back(MediaEvent{EventKind::ice_rtcp_changed,
                                  id_,
                                  leg_id,
                                  e.remote,
                                  "component 2 (RTCP) " + std::string(ice::to_string(e.kind)) +
                                      (e.detail.empty() ? "" : ": " + e.detail),
                                  {}});
      continue;
    }
    std::string detail = std::move(e.detail);
    if (rtcp) detail = "component 2 (RTCP): " + detail;
    if (*kind == EventKind::ice_connected && l.cfg.ice_rtcp) {
      const auto r = l.cfg.ice_rtcp->selected();
      detail += std::string(detail.empty() ? "" : "; ") + "RTCP (component 2) " +
                (r ? "via " + r->to_string() : std::string("not connected yet"));
    }
    events.push_back(MediaEvent{*kind, id_, leg_id, e.remote, std::move(detail), {}});
  }
  l.ice_out.transmits.clear();
  l.ice_out.events.clear();
  timers_dirty_ = true;
  Destination& d = rtcp ? l.rtcp : l.rtp;
  const auto sel = a->selected();
  if (sel != d.remote) d.set(sel);
  maybe_start_dtls(l, leg, rtcp ? Component::rtcp : Component::rtp, now, events);
}

IceSnapshot Session::snapshot(const ice::LiteAgent& a, std::uint16_t component) {
  const auto& s = a.stats();
  IceSnapshot out;
  out.component = component;
  out.selected = s.selected;
  out.nominated = s.nominated;
  out.consent_lost = a.consent_lost();
  out.checks_answered = s.checks_answered;
  out.bad_integrity = s.bad_integrity;
  out.bad_username = s.bad_username;
  out.punches_sent = s.punches_sent;
  out.punches_answered = s.punches_answered;
  out.last_check = s.last_check;
  out.last_check_from = s.last_check_from;
  out.indications = s.indications;
  out.last_indication = s.last_indication;
  out.last_media = s.last_media;
  out.punches = s.punches;
  return out;
}

}  // namespace icegate::media::relay
