// Per-leg and per-session counters of the relay. Owned and written by the session's worker only;
// the owner gets copies (snapshots) through the event queue, never a reference.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "media/endpoint.hpp"
#include "media/ice/agent.hpp"

namespace icegate::media::relay {

using Clock = std::chrono::steady_clock;

enum class Drop : std::uint8_t {
  wrong_source,      // not from the leg's selected / latched / signalled remote (RTP bleed)
  malformed,         // not a valid RTP/RTCP header (RFC 3550 A.1/A.2 checks)
  no_destination,    // the other leg has nowhere to send yet (ICE not selected, no remote)
  stun_unhandled,    // STUN on a leg without ICE
  dtls_unhandled,    // DTLS before a DTLS-SRTP engine is attached (RFC 7983 20..63)
  unknown_protocol,  // first octet in no RFC 7983 range we relay
  truncated,         // datagram larger than the receive buffer
  transform_failed,  // SRTP unprotect/protect refused the packet (other than the two below)
  send_failed,       // sendmmsg refused it (buffer full, unreachable)
  srtp_not_ready,    // a DTLS-SRTP leg whose handshake is not done: no keys to (un)protect
  srtp_auth_failed,  // RFC 3711 §3.3: SRTP/SRTCP authentication tag did not verify
  srtp_replay,       // RFC 3711 §3.3.2: replayed or too old for the replay window
  // A latching leg that has not latched yet (LegConfig::latching): the packet does not look like
  // this call's media (RTP payload type not negotiated, RTCP type outside 200-211 or not a valid
  // compound, SSRC other than the one seen first): dropped, and it does not latch.
  latch_refused,
};
inline constexpr std::size_t kDropReasons = 13;
constexpr std::string_view to_string(Drop d) noexcept {
  switch (d) {
    case Drop::wrong_source:
      return "wrong-source";
    case Drop::malformed:
      return "malformed";
    case Drop::no_destination:
      return "no-destination";
    case Drop::stun_unhandled:
      return "stun-unhandled";
    case Drop::dtls_unhandled:
      return "dtls-unhandled";
    case Drop::unknown_protocol:
      return "unknown-protocol";
    case Drop::truncated:
      return "truncated";
    case Drop::transform_failed:
      return "transform-failed";
    case Drop::send_failed:
      return "send-failed";
    case Drop::srtp_not_ready:
      return "srtp-not-ready";
    case Drop::srtp_auth_failed:
      return "srtp-auth-failed";
    case Drop::srtp_replay:
      return "srtp-replay";
    case Drop::latch_refused:
      return "latch-refused";
  }
  return "unknown";
}

// Where a component of a leg takes its media from and sends it to (behaviour.md §1 and §5).
enum class Source : std::uint8_t {
  signalled,  // the SDP address, fixed (latching off)
  ice,        // the ICE agent's selected path (nothing before a check was answered)
  learning,   // latching on, nothing latched yet: media goes to the SDP address, and the
              // first packet that looks like the call's media latches
  latched,    // latched: the address learnt from that packet, strict source from then on
};
constexpr std::string_view to_string(Source s) noexcept {
  switch (s) {
    case Source::signalled:
      return "signalled";
    case Source::ice:
      return "ice";
    case Source::learning:
      return "learning";
    case Source::latched:
      return "latched";
  }
  return "unknown";
}

// One ICE component of a leg, for the call's log (behaviour.md §9: "Binding requests sent but no
// Binding Success" and friends must be visible without a capture).
struct IceSnapshot {
  std::uint16_t component = 1;       // 1 = RTP, 2 = RTCP without rtcp-mux
  std::optional<Endpoint> selected;  // remote side of the selected pair (local: the socket)
  bool nominated = false;            // selected by USE-CANDIDATE
  bool consent_lost = false;
  std::uint64_t checks_answered = 0;  // Binding Success sent
  std::uint64_t bad_integrity = 0;    // 401 for MESSAGE-INTEGRITY
  std::uint64_t bad_username = 0;     // 401 for USERNAME
  std::uint64_t punches_sent = 0;     // pin-hole Binding Requests
  std::uint64_t punches_answered = 0;
  std::optional<Clock::time_point> last_check;
  std::optional<Endpoint> last_check_from;
  // Consent (RFC 7675) is also kept by these (media/ice/agent.hpp):
  std::uint64_t indications = 0;  // Binding Indications from the selected address
  std::optional<Clock::time_point> last_indication;
  std::optional<Clock::time_point> last_media;  // authenticated media from the selected address
  // Per pin-hole target: sent, answered, and the address the phone saw icegate's request come
  // from (XOR-MAPPED-ADDRESS): pattern 3 of behaviour.md §9 on icegate's side.
  std::vector<ice::PunchTarget> punches;
};

// The DTLS-SRTP handshake of a leg (RFC 5764).
struct DtlsSnapshot {
  std::string_view state;    // idle, handshaking, connected, failed, closed (static strings)
  std::string_view role;     // client, server
  std::string_view profile;  // SRTP profile once connected, empty before
  std::string failure;       // why it failed
  std::uint64_t datagrams_in = 0, datagrams_out = 0, retransmissions = 0;
  std::uint32_t handshakes = 0;  // engines this leg has run (a new one per LegUpdate::dtls)
};

// The SRTP transform of a leg (DTLS-SRTP or SDES): packets it accepted and protected.
struct SrtpSnapshot {
  std::string_view profile;         // e.g. "AES_CM_128_HMAC_SHA1_80" (static strings)
  std::uint64_t unprotected = 0;    // SRTP/SRTCP in, authenticated
  std::uint64_t protected_out = 0;  // RTP/RTCP out, protected
};

struct LegStats {
  std::uint64_t packets_in = 0;  // valid media from the accepted source (wire bytes below)
  std::uint64_t bytes_in = 0;
  std::uint64_t packets_out = 0;  // sent from this leg's sockets to its remote
  std::uint64_t bytes_out = 0;
  std::uint64_t rtcp_in = 0;   // of packets_in, RTCP
  std::uint64_t stun_in = 0;   // STUN handed to the ICE agent
  std::uint64_t stun_out = 0;  // agent transmits sent
  // Datagrams that arrived on this leg and were not forwarded, by reason (a send that fails
  // on the other leg's socket is counted here too: it is this leg's media that was lost).
  std::array<std::uint64_t, kDropReasons> dropped{};
  std::optional<Clock::time_point> first_packet;  // first accepted media packet
  std::optional<Clock::time_point> last_packet;

  // RTP receive statistics of the current SSRC (RFC 3550 A.1, A.3, A.8).
  std::uint32_t ssrc = 0;
  std::uint32_t ssrc_changes = 0;
  std::uint32_t rtp_received = 0;
  std::uint32_t rtp_expected = 0;
  std::int64_t rtp_lost = 0;
  std::uint32_t seq_gaps = 0;
  std::uint32_t late = 0;  // reordered or duplicated
  std::uint32_t jitter_units = 0;
  std::chrono::microseconds jitter{0};
  std::uint32_t clock_rate = 0;  // Hz of jitter_units: the clock of the payload type last counted

  // Where media currently goes and is accepted from (nullopt: nowhere yet).
  std::optional<Endpoint> remote_rtp;
  std::optional<Endpoint> remote_rtcp;
  // How remote_rtp / remote_rtcp were found. With rtcp-mux RTCP shares RTP's (rtcp_source
  // repeats rtp_source).
  Source rtp_source = Source::signalled;
  Source rtcp_source = Source::signalled;
  bool latched = false;                         // RTP or RTCP latched (see the two below)
  std::optional<Endpoint> latched_rtp;          // e.g. 198.51.100.7:41234, the phone's NAT mapping
  std::optional<Endpoint> latched_rtcp;         // without rtcp-mux; with it, latched_rtp
  std::optional<Clock::time_point> latched_at;  // when RTP latched
  std::optional<std::uint32_t> latched_ssrc;    // SSRC of the packet that latched first
  std::optional<Endpoint> signalled_rtp;        // what SDP said (the phone's private address)
  std::uint32_t latches = 0;                    // components latched so far (again after a re-open)

  std::optional<IceSnapshot> ice;         // ICE legs: component 1
  std::optional<IceSnapshot> ice_rtcp;    // ICE legs without rtcp-mux: component 2
  std::optional<DtlsSnapshot> dtls;       // DTLS-SRTP legs
  std::optional<DtlsSnapshot> dtls_rtcp;  // their component 2 without rtcp-mux
  std::optional<SrtpSnapshot> srtp;       // legs with SRTP keys installed

  std::uint64_t dropped_total() const noexcept {
    std::uint64_t n = 0;
    for (auto d : dropped) n += d;
    return n;
  }
  std::uint64_t drops(Drop d) const noexcept { return dropped[static_cast<std::size_t>(d)]; }
};

// One line for the call log and the live-call view, e.g.
// "latched 198.51.100.7:41234 (SDP 192.168.1.20:4000), RTCP latched 198.51.100.7:41235" or
// "learning: sending to 192.168.1.20:4000 (SDP) until a valid packet latches".
std::string describe_source(const LegStats& leg);

struct SessionStats {
  std::array<LegStats, 2> legs{};  // [0] = leg A, [1] = leg B
  unsigned worker = 0;
};

}  // namespace icegate::media::relay
