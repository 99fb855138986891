// One relayed call: two legs and the forwarding decision for each datagram. Runs on exactly one
// worker thread for its whole life; nothing in here is shared.
//
// A packet that arrives on leg X is, in order: demultiplexed (RFC 7983), checked (RTP/RTCP
// header), checked against X's accepted source (strict source; latching learns it once when
// allowed), unprotected (X's transform), counted (RFC 3550 A.1/A.8), protected for leg Y and
// sent from Y's socket to Y's remote. STUN on an ICE leg goes to the leg's agent instead.
// Between unprotect and protect, an RTP packet's payload type is rewritten to Y's numbering
// where the legs number a codec differently (payloads.hpp): SRTP authenticates the header, so
// X's tag is checked on what X sent and Y's is computed over what Y gets.
//
// Accepted source of a leg (behaviour.md §5, no RTP bleed), per component (Source in stats.hpp):
//  - ICE on: only the agent's selected address (nothing before a check was answered); without
//    rtcp-mux, RTCP follows the selected pair of a second agent (component 2) on the RTCP socket;
//  - latching on (phones without ICE, behind NAT: symmetric RTP): until the component latched,
//    media toward the leg goes to the SDP address and the first packet that looks like the
//    call's media (latch.hpp: negotiated payload type, valid RTCP, optionally the SSRC of the
//    component that latched first; authenticated on an SRTP leg) latches its source; packets
//    that do not are dropped as latch_refused and teach nothing. Then strict source: anything
//    from elsewhere is wrong_source. RTP and RTCP latch separately without rtcp-mux; until RTCP
//    latched, RTCP toward the leg follows RTP's latch (latch.hpp rtcp_after_rtp_latched). An
//    update with another remote address (or latching switched) re-opens latching; the same
//    address again (session refresh, hold) keeps what was learnt;
//  - otherwise: the address from SDP, fixed.
//
// Consent (RFC 7675) on an ICE leg: besides checks and Binding Indications, which the agent
// handles, media from the selected address that the leg's transform authenticated refreshes it
// (LiteAgent::on_authenticated_media). Plain RTP does not: anyone who can spoof the source
// could send it.
//
// DTLS-SRTP (RFC 5763/5764) on an ICE leg: datagrams in the RFC 7983 DTLS range (20..63) on
// component 1, from the selected address only, feed the leg's DtlsEngine; its flights leave from
// the RTP socket to the selected address. The engine starts when ICE first selects a path (the
// client then sends its ClientHello). Once connected, an SRTP transform built from the exported
// keys becomes the leg's PacketTransform. Until then the leg's media is dropped both ways
// (Drop::srtp_not_ready). Without rtcp-mux, RFC 5764 §4.1 wants one association per port pair:
// a second engine runs on the RTCP socket once ICE component 2 selects a path, and its keys
// protect SRTCP on that port (RTCP is dropped until then; its failure never ends the call).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "media/dtls/engine.hpp"
#include "media/endpoint.hpp"
#include "media/events.hpp"
#include "media/ice/agent.hpp"
#include "media/ports/port_allocator.hpp"
#include "media/relay/payloads.hpp"
#include "media/relay/stats.hpp"
#include "media/relay/tap.hpp"
#include "media/relay/transform.hpp"
#include "media/rtp/stream_stats.hpp"
#include "media/srtp/transform.hpp"

namespace icegate::media::relay {

class ReceivedTap;  // session.cpp

// The peer's ICE parameters from SDP (a=ice-ufrag/pwd, a=candidate), for LiteAgent::set_remote.
struct IceRemote {
  ice::Credentials credentials;
  std::vector<Endpoint> candidates;  // usable UDP candidates in SDP order, ACL already applied
  // Component 2 (RTCP) candidates, same rules; used only by a leg without rtcp-mux.
  std::vector<Endpoint> rtcp_candidates{};
};

struct LegConfig {
  ports::PortLease sockets;             // RTP socket, plus the RTCP socket unless rtcp_mux
  std::optional<Endpoint> remote_rtp;   // from SDP; unused when ICE is on
  std::optional<Endpoint> remote_rtcp;  // a=rtcp; default remote_rtp port + 1 (RFC 3550 §11)
  bool rtcp_mux = false;                // RFC 5761: RTCP on the RTP socket
  bool latching = false;  // learn the remote from the first valid packet (ignored with ICE)
  // Latching gate: RTP latches only with one of these payload types (the m= line's formats,
  // telephone-event and CN included); empty: any RTP version 2.
  std::vector<std::uint8_t> payload_types{};
  // Latching gate: the component that latches second (RTCP, or RTP when RTCP came first) must
  // carry the SSRC of the packet that latched first (RTCP: the first packet's sender SSRC).
  bool latch_ssrc = false;
  std::uint32_t clock_rate = 8000;      // of the payload, for the jitter estimate
  // Per payload type: clock rates of what arrives, payload types of what leaves (payloads.hpp).
  // Payload types it does not name count at `clock_rate` and leave unchanged.
  PayloadPlan payloads{};
  std::unique_ptr<ice::LiteAgent> ice;  // set: ICE-lite on this leg, component 1
  // ICE component 2 on the RTCP socket; required with `ice` when !rtcp_mux. Same local
  // credentials as `ice` (RFC 8445 §5.3: one ufrag/pwd per media stream) and
  // AgentConfig::component = 2. Its failure never ends the call.
  std::unique_ptr<ice::LiteAgent> ice_rtcp;
  std::optional<IceRemote> ice_remote;    // given to the agent(s) when the session starts
  std::unique_ptr<PacketTransform> srtp;  // SRTP hook; nullptr relays packets as they are
  // No media in or out until `srtp` is set (SDES: the keys of an offer arrive with the answer).
  bool require_srtp = false;
  // DTLS-SRTP on this leg (needs `ice`): role from a=setup, icegate's certificate, the peer's
  // a=fingerprint. The keys it negotiates replace `srtp`; media waits for them.
  std::optional<dtls::DtlsConfig> dtls;
};

// A re-INVITE: only the fields that are set change.
struct LegUpdate {
  // New SDP addresses (given together: a new RTP address without remote_rtcp means RTP port + 1
  // again). A change re-opens latching; the same addresses again keep what was learnt.
  std::optional<Endpoint> remote_rtp;
  std::optional<Endpoint> remote_rtcp;
  std::optional<bool> latching;  // a change re-opens latching (or ends it: SDP address, fixed)
  // true: the party answered without ICE (a phone that does no ICE, offered it by icegate): the
  // leg's agents go and it becomes a plain leg, latching as `latching` says.
  std::optional<bool> ice_off;
  std::optional<std::vector<std::uint8_t>> payload_types;  // as LegConfig; applies to new latches
  std::optional<bool> latch_ssrc;
  std::optional<std::uint32_t> clock_rate;
  std::optional<PayloadPlan> payloads;  // replaces the leg's (an offer/answer changed them)
  std::optional<IceRemote> ice_remote;  // new candidates/credentials (LiteAgent::set_remote)
  std::optional<ice::Credentials> ice_restart;  // new local credentials (LiteAgent::restart)
  std::unique_ptr<PacketTransform> srtp;        // new keys; nullptr keeps the current one
  std::optional<bool> require_srtp;             // as LegConfig::require_srtp
  // true: the answer accepted rtcp-mux on a leg that was set up with a separate RTCP port (an
  // offer with a fallback, RFC 5761 §5.1.3): RTCP moves to the RTP socket and component 2
  // (ICE agent, DTLS association) is dropped. The RTCP port stays reserved until the end.
  std::optional<bool> rtcp_mux;
  // A new DTLS handshake (ICE restart, new a=fingerprint or a=setup): replaces the engine. The
  // current SRTP keys stay in use until the new handshake installs its own.
  std::optional<dtls::DtlsConfig> dtls;
  // A per-call capture starts: every datagram of the session (both legs) goes to it from now
  // on (tap.hpp). Session-wide, whichever leg's update carries it; it stays until the session
  // ends (a capture that reached its limits ignores what it is given).
  std::shared_ptr<PacketTap> tap;
};

struct SessionConfig {
  SessionId id = 0;
  LegConfig a, b;
  // No media from either leg for this long reports media_timeout; zero disables it.
  std::chrono::milliseconds media_timeout{60'000};
};

// A datagram the worker is to send. `to` points into the session (stable while it lives).
struct Outgoing {
  int fd = -1;
  const sockaddr* to = nullptr;
  socklen_t to_len = 0;
  std::size_t len = 0;
  LegStats* counters = nullptr;  // of the leg it leaves on
};

class Session {
 public:
  enum class Component : std::uint8_t { rtp = 0, rtcp = 1 };
  // What epoll hands back for a socket of this session.
  struct SocketTag {
    Session* session;
    int fd;
    std::uint8_t leg;
    Component component;
  };

  // Validates the legs; on error returns the reason (the caller reports session_failed).
  static Expected<std::unique_ptr<Session>, std::string> create(SessionConfig config,
                                                                Clock::time_point now);

  SessionId id() const noexcept { return id_; }
  // Sockets to register with epoll (up to four), as their tags.
  template <class F>
  void for_each_socket(F&& f) {
    for (std::uint8_t l = 0; l < 2; ++l) {
      for (auto& tag : legs_[l].tags) {
        if (tag.fd >= 0) f(tag);
      }
    }
  }

  // Gives the ICE agents their remote parameters (first transmits, pin-hole punching).
  void start(Clock::time_point now, std::vector<MediaEvent>& events);

  // One received datagram in `buf[0, len)` (the buffer may be written up to its full size).
  // Returns true when it is to be forwarded as described by `out`.
  bool on_datagram(const SocketTag& tag, std::span<std::byte> buf, std::size_t len,
                   const sockaddr_storage& from, socklen_t from_len, Clock::time_point now,
                   Outgoing& out, std::vector<MediaEvent>& events);
  void count_drop(const SocketTag& tag, Drop reason) noexcept;

  void update(Leg leg, LegUpdate u, Clock::time_point now, std::vector<MediaEvent>& events);

  // Timers: ICE agents and the media timeout. Returns nothing; next_deadline() says when next.
  void on_timer(Clock::time_point now, std::vector<MediaEvent>& events);
  std::optional<Clock::time_point> next_deadline() const;

  SessionStats stats() const;
  // True once after an ICE agent ran: its timer may have moved earlier.
  bool take_timers_dirty() noexcept { return std::exchange(timers_dirty_, false); }

  // Worker bookkeeping: the deadline of the timer entry that is live for this session.
  Clock::time_point armed = Clock::time_point::max();
  unsigned worker = 0;

 private:
  struct Destination {
    std::optional<Endpoint> remote;
    // The socket-API form of `remote`, kept so the per-packet path neither converts nor needs
    // sockaddr_storage's 128 bytes (sessions are many; their hot state should stay small).
    union {
      sockaddr any;
      sockaddr_in v4;
      sockaddr_in6 v6;
    } sa{};
    socklen_t len = 0;
    void set(const std::optional<Endpoint>& e) noexcept;
    bool matches(const sockaddr_storage& from) const noexcept;
  };
  // Per-packet state first, configuration (cold) last.
  struct LegState {
    std::array<SocketTag, 2> tags{};
    // Non-ICE legs: where media goes and what source is accepted, per component.
    // ICE legs: rtp mirrors ice->selected(), rtcp ice_rtcp->selected() (nothing when muxed).
    Destination rtp, rtcp;
    Source rtp_source = Source::signalled, rtcp_source = Source::signalled;
    LegStats stats;
    rtp::StreamStats stream;
    LegPayloads payloads;  // clock rate per payload type in, payload type rewrite out
    LegConfig cfg;
    ice::Output ice_out;  // reused to keep allocations off the STUN path
    // DTLS-SRTP: the engine of the current handshake, its reused output, and what the session
    // knows about the SRTP transform it installed (to name the reason of a failed unprotect).
    std::optional<dtls::DtlsEngine> dtls;
    dtls::DtlsOutput dtls_out;
    // Component 2 without rtcp-mux: its own association and SRTCP transform.
    std::optional<dtls::DtlsEngine> dtls_rtcp;
    dtls::DtlsOutput dtls_rtcp_out;
    std::unique_ptr<srtp::SrtpTransform> srtcp;
    // DTLS that arrived before the handshake could start: before the answer brought the DTLS
    // parameters, or before ICE selected the sender's address (a phone that answered active
    // sends its ClientHello at once, even ahead of its own checks). Bounded; when the engine
    // starts, the datagrams from the path ICE selected are fed to it, the rest are dropped.
    struct EarlyDtls {
      Endpoint from;
      std::vector<std::byte> bytes;
    };
    std::array<std::vector<EarlyDtls>, 2> early_dtls;
    bool srtp_required = false;  // DTLS or SDES configured: no keys => no media
    std::uint32_t handshakes = 0;
    srtp::SrtpTransform* srtp_view = nullptr;  // cfg.srtp when it is an SrtpTransform
    // Latching: what the first latch saw (LegConfig::latch_ssrc), for the stats.
    std::optional<std::uint32_t> latched_ssrc;
    std::optional<Clock::time_point> latched_at;
    std::uint32_t latches = 0;
  };

  Session(SessionConfig&& c, Clock::time_point now);
  // on_datagram's work; `received` is set only for a captured call (tap.hpp).
  bool relay(const SocketTag& tag, std::span<std::byte> buf, std::size_t len,
             const sockaddr_storage& from, socklen_t from_len, Clock::time_point now,
             Outgoing& out, std::vector<MediaEvent>& events, ReceivedTap* received);
  static bool accepts(const Destination& d, const sockaddr_storage& from,
                      socklen_t from_len) noexcept;
  void reset_remotes(LegState& l) noexcept;
  // Latching: the SSRC gate, and learning `from` as component `c`'s remote.
  static bool ssrc_may_latch(const LegState& l, std::uint32_t ssrc) noexcept;
  static void latch(LegState& l, Component c, const Endpoint& from, std::uint32_t ssrc,
                    Clock::time_point now);
  // ICE (session_ice.cpp). `component` picks the agent and the socket its transmits leave from.
  ice::LiteAgent* agent(LegState& l, Component c) noexcept;
  void handle_stun(LegState& l, std::uint8_t leg, Component c, std::span<const std::byte> datagram,
                   const Endpoint& from, Clock::time_point now, std::vector<MediaEvent>& events);
  void flush_ice(LegState& l, std::uint8_t leg, Component c, Clock::time_point now,
                 std::vector<MediaEvent>& events);
  void set_ice_remote(LegState& l, std::uint8_t leg, const IceRemote& r, Clock::time_point now,
                      std::vector<MediaEvent>& events);
  // DTLS-SRTP (session_dtls.cpp).
  std::optional<std::string> install_dtls(LegState& l, dtls::DtlsConfig config);
  // `c` picks the association: component 1 (RTP, or both when muxed) or component 2.
  void maybe_start_dtls(LegState& l, std::uint8_t leg, Component c, Clock::time_point now,
                        std::vector<MediaEvent>& events);
  void handle_dtls(LegState& l, std::uint8_t leg, Component c, std::span<const std::byte> datagram,
                   Clock::time_point now, std::vector<MediaEvent>& events);
  void flush_dtls(LegState& l, std::uint8_t leg, Component c, std::vector<MediaEvent>& events);
  // The transform for `rtcp` packets on `l` (component 2's own SRTCP keys when it has an
  // association; nullptr while they are not there yet).
  PacketTransform* transform_for(LegState& l, bool rtcp) noexcept;
  void set_transform(LegState& l, std::unique_ptr<PacketTransform> t) noexcept;
  // The drop reason of a failed unprotect by `t` (nullptr: not an SRTP transform).
  static Drop unprotect_failure(const srtp::SrtpTransform* t) noexcept;
  const Destination* destination(LegState& l, bool rtcp) noexcept;
  int out_fd(LegState& l, bool rtcp) noexcept;

  // Per-call capture (tap.hpp): a datagram that left or arrived on `l`'s component `c`.
  void tap_out(const LegState& l, Component c, const Endpoint& to,
               std::span<const std::byte> bytes) noexcept;
  static const Endpoint& local_of(const LegState& l, Component c) noexcept;

  static IceSnapshot snapshot(const ice::LiteAgent& a, std::uint16_t component);
  DtlsSnapshot dtls_snapshot(const LegState& l, Component c) const;

  SessionId id_;
  std::chrono::milliseconds media_timeout_;
  Clock::time_point last_media_;
  bool timed_out_ = false;
  bool timers_dirty_ = false;
  std::shared_ptr<PacketTap> tap_;  // a per-call capture, when one was asked for
  std::array<LegState, 2> legs_;
};

}  // namespace icegate::media::relay
