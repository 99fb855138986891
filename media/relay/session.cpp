#include "media/relay/session.hpp"

#include <cerrno>
#include <cstring>

#include "media/demux.hpp"
#include "media/relay/latch.hpp"
#include "media/rtp/rtp.hpp"

namespace icegate::media::relay {

// DTLS datagrams kept per component until the engine exists (a ClientHello flight).
constexpr std::size_t kEarlyDtls = 4;
namespace {

std::span<const std::byte> view(std::span<std::byte> buf, std::size_t len) noexcept {
  return {buf.data(), len};
}

}  // namespace

// A received datagram for the per-call capture (tap.hpp). Copied as it arrived; shown in the
// clear instead when the leg's SRTP removes its protection (show_now), as it arrived otherwise
// (whatever made the session drop it).
class ReceivedTap {
 public:
  ReceivedTap(PacketTap* tap, std::span<const std::byte> data, const sockaddr_storage& from,
              socklen_t from_len, const Endpoint& local)
      : tap_(tap), local_(local) {
    if (tap_ == nullptr) return;
    from_ = Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&from), from_len);
    if (from_) raw_.assign(data.begin(), data.end());
  }
  ReceivedTap(const ReceivedTap&) = delete;
  ReceivedTap& operator=(const ReceivedTap&) = delete;
  ~ReceivedTap() {
    if (tap_ != nullptr && from_) tap_->on_packet(*from_, local_, raw_);
  }
  void show_now(std::span<const std::byte> clear) noexcept {
    if (tap_ == nullptr || !from_) return;
    tap_->on_packet(*from_, local_, clear);
    from_.reset();
  }

 private:
  PacketTap* tap_;
  const Endpoint& local_;
  std::optional<Endpoint> from_;
  std::vector<std::byte> raw_;
};

const Endpoint& Session::local_of(const LegState& l, Component c) noexcept {
  const auto* rtcp = l.cfg.sockets.rtcp();
  return c == Component::rtcp && rtcp != nullptr ? rtcp->local() : l.cfg.sockets.rtp().local();
}

void Session::tap_out(const LegState& l, Component c, const Endpoint& to,
                      std::span<const std::byte> bytes) noexcept {
  if (tap_) tap_->on_packet(local_of(l, c), to, bytes);
}

void Session::Destination::set(const std::optional<Endpoint>& e) noexcept {
  remote = e;
  len = 0;
  sa = {};
  if (!e) return;
  sockaddr_storage ss;
  len = e->to_sockaddr(ss);
  std::memcpy(&sa, &ss, len);
}

bool Session::accepts(const Destination& d, const sockaddr_storage& from_sa,
                      socklen_t from_len) noexcept {
  if (d.matches(from_sa)) return true;
  // The slow path also covers an IPv4 peer seen as ::ffff:a.b.c.d on a dual-stack socket.
  const auto from = Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&from_sa), from_len);
  return from && d.remote && *d.remote == *from;
}

bool Session::Destination::matches(const sockaddr_storage& from) const noexcept {
  // Per packet: compare the raw socket address with the cached one instead of converting.
  if (len == 0 || from.ss_family != sa.any.sa_family) return false;
  if (sa.any.sa_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(from);
    return a.sin_port == sa.v4.sin_port && a.sin_addr.s_addr == sa.v4.sin_addr.s_addr;
  }
  const auto& a = reinterpret_cast<const sockaddr_in6&>(from);
  return a.sin6_port == sa.v6.sin6_port && std::memcmp(&a.sin6_addr, &sa.v6.sin6_addr, 16) == 0;
}

Expected<std::unique_ptr<Session>, std::string> Session::create(SessionConfig config,
                                                                Clock::time_point now) {
  for (const LegConfig* l : {&config.a, &config.b}) {
    const std::string name = l == &config.a ? "leg A" : "leg B";
    if (!l->sockets.valid()) return unexpected(name + ": no RTP socket");
    if (!l->rtcp_mux && (l->sockets.rtcp() == nullptr || !l->sockets.rtcp()->valid())) {
      return unexpected(name + ": no RTCP socket and no rtcp-mux");
    }
    if (l->ice && !l->rtcp_mux && !l->ice_rtcp) {
      // Without rtcp-mux the peer checks component 2 on the RTCP port too (RFC 8445 §5.1.1.1).
      return unexpected(name + ": ICE without rtcp-mux needs a component-2 agent (ice_rtcp)");
    }
    if (l->ice_rtcp && (!l->ice || l->rtcp_mux)) {
      return unexpected(name + ": ice_rtcp needs ICE and a separate RTCP socket");
    }
    if (l->ice_rtcp && (l->ice_rtcp->local().ufrag != l->ice->local().ufrag ||
                        l->ice_rtcp->local().pwd != l->ice->local().pwd)) {
      // RFC 8445 §5.3: one ufrag/pwd per media stream, shared by its components.
      return unexpected(name + ": ICE components with different credentials");
    }
    if (l->dtls && !l->ice) return unexpected(name + ": DTLS-SRTP needs ICE on the leg");
  }
  std::optional<dtls::DtlsConfig> dtls_a = std::move(config.a.dtls);
  std::optional<dtls::DtlsConfig> dtls_b = std::move(config.b.dtls);
  std::unique_ptr<Session> s(new Session(std::move(config), now));
  if (dtls_a) {
    if (auto err = s->install_dtls(s->legs_[0], std::move(*dtls_a)))
      return unexpected("leg A: " + *err);
  }
  if (dtls_b) {
    if (auto err = s->install_dtls(s->legs_[1], std::move(*dtls_b)))
      return unexpected("leg B: " + *err);
  }
  return s;
}

Session::Session(SessionConfig&& c, Clock::time_point now)
    : id_(c.id), media_timeout_(c.media_timeout), last_media_(now) {
  legs_[0].cfg = std::move(c.a);
  legs_[1].cfg = std::move(c.b);
  for (std::uint8_t i = 0; i < 2; ++i) {
    LegState& l = legs_[i];
    const auto* rtcp = l.cfg.rtcp_mux ? nullptr : l.cfg.sockets.rtcp();
    l.tags = {SocketTag{this, l.cfg.sockets.rtp().fd(), i, Component::rtp},
              SocketTag{this, rtcp ? rtcp->fd() : -1, i, Component::rtcp}};
    l.stream.set_clock_rate(l.cfg.clock_rate);
    l.payloads.set_default_rate(l.cfg.clock_rate);
    l.payloads.set(l.cfg.payloads);
    l.cfg.payloads = {};  // LegPayloads has it now
    l.srtp_required = l.cfg.require_srtp;
    set_transform(l, std::move(l.cfg.srtp));
    reset_remotes(l);
  }
}

void Session::reset_remotes(LegState& l) noexcept {
  l.latched_ssrc.reset();
  l.latched_at.reset();
  if (l.cfg.ice) {
    l.rtp_source = l.rtcp_source = Source::ice;
    l.rtp.set(l.cfg.ice->selected());
    l.rtcp.set(l.cfg.ice_rtcp ? l.cfg.ice_rtcp->selected() : std::nullopt);
    return;
  }
  // Latching (re)opens here: until a packet latches, media goes to the SDP address.
  l.rtp_source = l.rtcp_source = l.cfg.latching ? Source::learning : Source::signalled;
  l.rtp.set(l.cfg.remote_rtp);
  if (l.cfg.rtcp_mux) {
    // Nothing is accepted on an RTCP socket left over from before rtcp-mux was agreed.
    l.rtcp_source = Source::signalled;
    l.rtcp.set(std::nullopt);
  } else {
    l.rtcp.set(signalled_rtcp(l.cfg.remote_rtcp, l.cfg.remote_rtp));
  }
}

bool Session::ssrc_may_latch(const LegState& l, std::uint32_t ssrc) noexcept {
  return !l.cfg.latch_ssrc || !l.latched_ssrc || *l.latched_ssrc == ssrc;
}

void Session::latch(LegState& l, Component c, const Endpoint& from, std::uint32_t ssrc,
                    Clock::time_point now) {
  ++l.latches;
  if (!l.latched_ssrc) l.latched_ssrc = ssrc;
  if (c == Component::rtcp) {
    l.rtcp_source = Source::latched;
    l.rtcp.set(from);
    return;
  }
  l.rtp_source = Source::latched;
  l.rtp.set(from);
  l.latched_at = now;
  if (!l.cfg.rtcp_mux && l.rtcp_source == Source::learning) {
    // RTCP follows RTP's latch until it latches by itself (latch.hpp says where exactly).
    l.rtcp.set(rtcp_after_rtp_latched(l.cfg.remote_rtp, l.cfg.remote_rtcp, from));
  }
}

void Session::start(Clock::time_point now, std::vector<MediaEvent>& events) {
  for (std::uint8_t i = 0; i < 2; ++i) {
    LegState& l = legs_[i];
    if (!l.cfg.ice || !l.cfg.ice_remote) continue;
    set_ice_remote(l, i, *l.cfg.ice_remote, now, events);
  }
}

void Session::count_drop(const SocketTag& tag, Drop reason) noexcept {
  ++legs_[tag.leg].stats.dropped[static_cast<std::size_t>(reason)];
}

const Session::Destination* Session::destination(LegState& l, bool rtcp) noexcept {
  return (rtcp && !l.cfg.rtcp_mux) ? &l.rtcp : &l.rtp;
}

int Session::out_fd(LegState& l, bool rtcp) noexcept {
  return l.tags[rtcp && !l.cfg.rtcp_mux ? 1 : 0].fd;
}

bool Session::on_datagram(const SocketTag& tag, std::span<std::byte> buf, std::size_t len,
                          const sockaddr_storage& from_sa, socklen_t from_len,
                          Clock::time_point now, Outgoing& out, std::vector<MediaEvent>& events) {
  if (!tap_) [[likely]] {
    return relay(tag, buf, len, from_sa, from_len, now, out, events, nullptr);
  }
  // A captured call (tap.hpp): what arrived is shown once, in the clear when it could be.
  ReceivedTap received(tap_.get(), view(buf, len), from_sa, from_len,
                       local_of(legs_[tag.leg], tag.component));
  return relay(tag, buf, len, from_sa, from_len, now, out, events, &received);
}

bool Session::relay(const SocketTag& tag, std::span<std::byte> buf, std::size_t len,
                    const sockaddr_storage& from_sa, socklen_t from_len, Clock::time_point now,
                    Outgoing& out, std::vector<MediaEvent>& events, ReceivedTap* received) {
  LegState& in = legs_[tag.leg];
  LegState& other = legs_[tag.leg ^ 1u];
  const auto data = view(buf, len);
  // RFC 7983 §7: the first octet says which protocol shares this port.
  const PacketKind kind = classify(data);
  switch (kind) {
    case PacketKind::rtp:
    case PacketKind::rtcp:
      break;
    case PacketKind::stun:
      if (agent(in, tag.component) != nullptr) {
        const auto from =
            Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&from_sa), from_len);
        if (from) handle_stun(in, tag.leg, tag.component, data, *from, now, events);
      } else {
        count_drop(tag, Drop::stun_unhandled);
      }
      return false;
    case PacketKind::dtls: {
      // RFC 5764 §4.1: one association per port pair (component 2 only without rtcp-mux).
      const auto& engine = tag.component == Component::rtp ? in.dtls : in.dtls_rtcp;
      const bool selected =
          accepts(tag.component == Component::rtp ? in.rtp : in.rtcp, from_sa, from_len);
      if (!engine || (!selected && engine->state() == dtls::State::idle)) {
        // Too early: no engine yet, or no path selected yet (see LegState::early_dtls).
        auto& early = in.early_dtls[static_cast<std::size_t>(tag.component)];
        const auto from =
            Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&from_sa), from_len);
        if (in.cfg.ice && from && early.size() < kEarlyDtls) {
          early.push_back({*from, std::vector<std::byte>(data.begin(), data.end())});
        } else {
          count_drop(tag, engine ? Drop::wrong_source : Drop::dtls_unhandled);
        }
      } else if (!selected) {
        count_drop(tag, Drop::wrong_source);  // RFC 5763 §5: only on the ICE-selected path
      } else {
        handle_dtls(in, tag.leg, tag.component, data, now, events);
      }
      return false;
    }
    default:
      count_drop(tag, Drop::unknown_protocol);
      return false;
  }
  // On a separate RTCP port everything must be RTCP; on a muxed port RFC 5761 §4 decides.
  const bool rtcp = kind == PacketKind::rtcp || tag.component == Component::rtcp;
  std::optional<rtp::RtpHeader> header;
  std::uint8_t rtcp_type = 0;
  if (rtcp) {
    const auto h = rtp::parse_rtcp_header(data);
    if (!h) {
      count_drop(tag, Drop::malformed);
      return false;
    }
    rtcp_type = h->packet_type;
  } else {
    // Header only: the payload (and padding octet) may be SRTP ciphertext at this point.
    auto h = rtp::parse_rtp_header(data);
    if (!h) {
      count_drop(tag, Drop::malformed);
      return false;
    }
    header = *h;
  }

  // Strict source (behaviour.md §5, no RTP bleed): only the selected / signalled / latched
  // remote of this component is accepted. A component still learning takes any source whose
  // packet passes the latching gate (latch.hpp); the clear-text checks come first, the rest
  // once the packet is unprotected (so on an SRTP leg only an authenticated packet latches).
  const bool learning =
      (tag.component == Component::rtcp ? in.rtcp_source : in.rtp_source) == Source::learning;
  std::optional<Endpoint> learnt;
  if (!learning) {
    if (!accepts(tag.component == Component::rtcp ? in.rtcp : in.rtp, from_sa, from_len)) {
      count_drop(tag, Drop::wrong_source);
      return false;
    }
  } else {
    learnt = Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&from_sa), from_len);
    if (!learnt) {
      count_drop(tag, Drop::wrong_source);
      return false;
    }
    const bool looks_like_media =
        rtcp ? rtcp_type_may_latch(rtcp_type)
             : rtp_may_latch(*header, in.cfg.payload_types) && ssrc_may_latch(in, header->ssrc);
    if (!looks_like_media) {
      count_drop(tag, Drop::latch_refused);
      return false;
    }
  }

  const std::size_t wire_len = len;
  if (PacketTransform* t = transform_for(in, rtcp)) {
    const auto n = t->unprotect(buf, len, rtcp);
    if (!n || *n > buf.size()) {
      const srtp::SrtpTransform* srtp = t == in.srtcp.get() ? in.srtcp.get() : in.srtp_view;
      count_drop(tag, n ? Drop::transform_failed : unprotect_failure(srtp));
      return false;
    }
    len = *n;
    // RFC 7675 §5.1 (see the header): authenticated media from the selected address keeps the
    // ICE path's consent. No agent on a leg without ICE.
    if (ice::LiteAgent* a = agent(in, tag.component)) a->on_authenticated_media(now);
  } else if (in.srtp_required) {
    count_drop(tag, Drop::srtp_not_ready);  // SRTP we have no keys for yet
    return false;
  }
  if (learnt) {
    std::uint32_t ssrc = 0;
    if (rtcp) {
      const auto sender = rtcp_may_latch(view(buf, len));
      if (!sender || !ssrc_may_latch(in, *sender)) {
        count_drop(tag, Drop::latch_refused);
        return false;
      }
      ssrc = *sender;
    } else {
      ssrc = header->ssrc;
    }
    latch(in, tag.component, *learnt, ssrc, now);
  }

  if (received != nullptr) [[unlikely]] received->show_now(view(buf, len));
  LegStats& s = in.stats;
  ++s.packets_in;
  s.bytes_in += wire_len;
  if (!s.first_packet) s.first_packet = now;
  s.last_packet = now;
  last_media_ = now;
  timed_out_ = false;
  if (rtcp) {
    ++s.rtcp_in;
  } else {
    in.stream.on_packet(header->ssrc, header->sequence, header->timestamp, now,
                        in.payloads.clock_rate(header->payload_type));
    // Y's payload type for this codec (RFC 4733 events included), before Y's SRTP protects it.
    other.payloads.rewrite(buf);
  }

  const Destination* d = destination(other, rtcp);
  if (!d->remote) {
    count_drop(tag, Drop::no_destination);
    return false;
  }
  // The capture shows it before the other leg's SRTP protects it.
  if (tap_) [[unlikely]] tap_out(other, rtcp && !other.cfg.rtcp_mux ? Component::rtcp : Component::rtp, *d->remote,
          view(buf, len));
  if (PacketTransform* t = transform_for(other, rtcp)) {
    const auto n = t->protect(buf, len, rtcp);
    if (!n || *n > buf.size()) {
      count_drop(tag, Drop::transform_failed);
      return false;
    }
    len = *n;
  } else if (other.srtp_required) {
    // Never plain media toward a DTLS-SRTP leg (behaviour.md §5), not even before its keys.
    count_drop(tag, Drop::srtp_not_ready);
    return false;
  }
  out = Outgoing{out_fd(other, rtcp), &d->sa.any, d->len, len, &other.stats};
  return true;
}

void Session::update(Leg leg, LegUpdate u, Clock::time_point now, std::vector<MediaEvent>& events) {
  const auto i = static_cast<std::uint8_t>(leg);
  LegState& l = legs_[i];
  if (u.tap) tap_ = std::move(u.tap);
  if (u.rtcp_mux && *u.rtcp_mux && !l.cfg.rtcp_mux) {
    l.cfg.rtcp_mux = true;
    l.cfg.ice_rtcp.reset();
    l.dtls_rtcp.reset();
    l.srtcp.reset();
    l.rtcp.set(std::nullopt);  // nothing is accepted on the RTCP socket any more
    if (l.rtcp_source != Source::ice) l.rtcp_source = Source::signalled;  // nor learnt
    timers_dirty_ = true;
  }
  // What was learnt stays unless something that decides it changed (a session refresh or a
  // hold re-INVITE repeats the same address: the latch must survive it).
  bool reopen = false;
  if (u.latching && *u.latching != l.cfg.latching) {
    l.cfg.latching = *u.latching;
    reopen = true;
  }
  if (u.ice_off && *u.ice_off && l.cfg.ice) {
    l.cfg.ice.reset();
    l.cfg.ice_rtcp.reset();
    l.cfg.ice_remote.reset();
    timers_dirty_ = true;
    reopen = true;
  }
  if (u.payload_types) l.cfg.payload_types = std::move(*u.payload_types);
  if (u.latch_ssrc) l.cfg.latch_ssrc = *u.latch_ssrc;
  if (u.clock_rate) {
    l.stream.set_clock_rate(*u.clock_rate);
    l.payloads.set_default_rate(*u.clock_rate);
  }
  if (u.payloads) l.payloads.set(*u.payloads);
  if (u.require_srtp) l.srtp_required = *u.require_srtp || l.dtls.has_value();
  if (u.srtp) set_transform(l, std::move(u.srtp));
  if (u.remote_rtp || u.remote_rtcp) {
    // A new offer/answer describes RTP and RTCP together: a new RTP address without a=rtcp
    // means "RTP port + 1" again, not the old RTCP address.
    const auto rtp = u.remote_rtp ? u.remote_rtp : l.cfg.remote_rtp;
    if (rtp != l.cfg.remote_rtp ||
        signalled_rtcp(u.remote_rtcp, rtp) != signalled_rtcp(l.cfg.remote_rtcp, l.cfg.remote_rtp)) {
      reopen = true;
    }
    l.cfg.remote_rtp = rtp;
    l.cfg.remote_rtcp = u.remote_rtcp;
  }
  if (reopen) reset_remotes(l);
  if (u.dtls) {
    if (auto err = install_dtls(l, std::move(*u.dtls))) {
      events.push_back(MediaEvent{EventKind::dtls_failed, id_, leg, l.rtp.remote, *err, {}});
    }
  }
  if (l.cfg.ice) {
    if (u.ice_restart) {
      l.cfg.ice->restart(*u.ice_restart);
      if (l.cfg.ice_rtcp) l.cfg.ice_rtcp->restart(*u.ice_restart);  // RFC 8445 §5.3
    }
    if (u.ice_remote) {
      set_ice_remote(l, i, *u.ice_remote, now, events);
    } else {
      flush_ice(l, i, Component::rtp, now, events);
    }
  }
}

void Session::on_timer(Clock::time_point now, std::vector<MediaEvent>& events) {
  for (std::uint8_t i = 0; i < 2; ++i) {
    LegState& l = legs_[i];
    for (const auto c : {Component::rtp, Component::rtcp}) {
      ice::LiteAgent* a = agent(l, c);
      if (a == nullptr) continue;
      const auto t = a->next_timer();
      if (!t || *t > now) continue;
      a->on_timer(now, l.ice_out);
      flush_ice(l, i, c, now, events);
    }
    if (l.dtls) {
      const auto t = l.dtls->next_timer();
      if (t && *t <= now) {
        l.dtls->on_timer(now, l.dtls_out);  // handshake retransmission or deadline
        flush_dtls(l, i, Component::rtp, events);
      }
    }
    if (l.dtls_rtcp) {
      const auto t = l.dtls_rtcp->next_timer();
      if (t && *t <= now) {
        l.dtls_rtcp->on_timer(now, l.dtls_rtcp_out);
        flush_dtls(l, i, Component::rtcp, events);
      }
    }
  }
  // behaviour.md §5: no media for the configured time ends the call. Reported once; media
  // flowing again re-arms it.
  if (media_timeout_.count() > 0 && !timed_out_ && now - last_media_ >= media_timeout_) {
    timed_out_ = true;
    events.push_back(MediaEvent{EventKind::media_timeout, id_, std::nullopt, std::nullopt,
                                "no media for " + std::to_string(media_timeout_.count()) + " ms",
                                stats()});
  }
}

std::optional<Clock::time_point> Session::next_deadline() const {
  std::optional<Clock::time_point> next;
  auto consider = [&next](std::optional<Clock::time_point> t) {
    if (t && (!next || *t < *next)) next = t;
  };
  for (const auto& l : legs_) {
    if (l.cfg.ice) consider(l.cfg.ice->next_timer());
    if (l.cfg.ice_rtcp) consider(l.cfg.ice_rtcp->next_timer());
    if (l.dtls) consider(l.dtls->next_timer());
    if (l.dtls_rtcp) consider(l.dtls_rtcp->next_timer());
  }
  if (media_timeout_.count() > 0 && !timed_out_) consider(last_media_ + media_timeout_);
  return next;
}

SessionStats Session::stats() const {
  SessionStats out;
  out.worker = worker;
  for (std::size_t i = 0; i < 2; ++i) {
    const LegState& l = legs_[i];
    LegStats s = l.stats;
    const auto& seq = l.stream.sequence();
    s.ssrc = l.stream.ssrc();
    s.ssrc_changes = l.stream.ssrc_changes();
    s.rtp_received = seq.received();
    s.rtp_expected = seq.expected();
    s.rtp_lost = seq.lost();
    s.seq_gaps = seq.gaps();
    s.late = seq.late();
    s.jitter_units = l.stream.jitter_units();
    s.jitter = l.stream.jitter();
    s.clock_rate = l.stream.clock_rate();
    s.remote_rtp = l.rtp.remote;
    s.remote_rtcp = l.cfg.rtcp_mux ? l.rtp.remote : l.rtcp.remote;
    s.rtp_source = l.rtp_source;
    s.rtcp_source = l.cfg.rtcp_mux ? l.rtp_source : l.rtcp_source;
    if (l.rtp_source == Source::latched) s.latched_rtp = l.rtp.remote;
    if (s.rtcp_source == Source::latched) s.latched_rtcp = s.remote_rtcp;
    s.latched = s.latched_rtp || s.latched_rtcp;
    s.latched_at = l.latched_at;
    s.latched_ssrc = l.latched_ssrc;
    s.latches = l.latches;
    if (!l.cfg.ice) s.signalled_rtp = l.cfg.remote_rtp;
    if (l.cfg.ice) s.ice = snapshot(*l.cfg.ice, 1);
    if (l.cfg.ice_rtcp) s.ice_rtcp = snapshot(*l.cfg.ice_rtcp, 2);
    if (l.dtls) s.dtls = dtls_snapshot(l, Component::rtp);
    if (l.dtls_rtcp) s.dtls_rtcp = dtls_snapshot(l, Component::rtcp);
    if (l.srtp_view) {
      const auto& c = l.srtp_view->counters();
      s.srtp =
          SrtpSnapshot{srtp::to_string(l.srtp_view->profile()),
                       c.unprotected_rtp + c.unprotected_rtcp, c.protected_rtp + c.protected_rtcp};
    }
    out.legs[i] = std::move(s);
  }
  return out;
}

}  // namespace icegate::media::relay
