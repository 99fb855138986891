// What the SIP layer needs from the media engine, in SIP-free and socket-free terms. The gateway
// implements it on top of media/ (ports, ICE-lite agent, relay); tests implement it in memory.
// Every call is made on the signalling thread; events come back through the sink, also on the
// signalling thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "acl/acl.hpp"
#include "acl/address.hpp"
#include "acl/expected.hpp"

namespace icegate::sip {

struct TransportAddress {
  acl::Address address;
  std::uint16_t port = 0;
  std::string to_string() const;
  friend bool operator==(const TransportAddress&, const TransportAddress&) = default;
};

struct IceCredentials {
  std::string ufrag;
  std::string pwd;
};

// Local ports of one leg. rtcp is 0 when RTCP is multiplexed on the RTP port.
struct LocalPorts {
  std::uint16_t rtp = 0;
  std::uint16_t rtcp = 0;
};

// A call has two legs, A (the caller's side) and B (the callee's side). A leg toward a softphone
// speaks ICE-lite; a leg toward a trunk speaks plain RTP.
enum class Side : std::uint8_t { a, b };
constexpr const char* to_string(Side s) noexcept {
  return s == Side::a ? "A" : "B";
}

struct LegSetup {
  bool ice = false;      // softphone leg: ICE-lite agent on the port
  bool rtcp_mux = false;
  // Latching when the leg has (or ends up with) no ICE; unset: the media configuration's.
  std::optional<bool> latching;
  // For the per-call diagnosis (docs/troubleshooting.md): a softphone's leg rather than a
  // trunk's, and where its SIP comes from.
  bool phone = false;
  std::optional<acl::Address> party;
  // ICE legs: the candidate ACL (behaviour.md §3, §6) for the source of every connectivity
  // check, so that an address learnt from a check (peer-reflexive, RFC 8445 §7.3.1.3: a phone
  // that offered only mDNS names or no candidates yet) passes the same ACL as a signalled
  // candidate; a check from a denied address is not answered. nullptr: no ACL. The call keeps
  // the ACL it started with.
  std::shared_ptr<const acl::Acl> candidate_acl;
};

// How a call ended as the SIP side saw it, handed to the media side before the session is
// destroyed, so that the diagnosis at session end can tell "never answered" from "no media".
struct CallOutcome {
  int final_status = 0;  // sent to the caller; 0: none
  std::optional<std::chrono::steady_clock::time_point> answered;
  bool ice_timed_out = false;
};

struct MediaCallSetup {
  std::string label;  // for logs: the call's id
  LegSetup a;
  LegSetup b;
  // For a per-call capture (docs/operations.md): the users or numbers on each side and both
  // legs' SIP Call-IDs (B's retries toward another target append ".N" to b_call_id).
  std::string from_user, to_user;
  std::string a_call_id, b_call_id;
};

struct LocalLeg {
  LocalPorts ports;
  IceCredentials ice;  // our ufrag/pwd on an ICE leg (empty otherwise)
};

struct MediaCall {
  std::uint64_t id = 0;
  // icegate's DTLS certificate for this call, as an a=fingerprint value ("sha-256 AB:CD:..."):
  // the certificate is rotated on reload, a call keeps the one it started with.
  std::string fingerprint;
  LocalLeg a;
  LocalLeg b;
  const LocalLeg& leg(Side s) const { return s == Side::a ? a : b; }
  LocalLeg& leg(Side s) { return s == Side::a ? a : b; }
};

// DTLS-SRTP on a leg (RFC 5763, RFC 8842), negotiated in SDP.
struct DtlsParams {
  std::vector<std::string> fingerprints;  // the peer's a=fingerprint values
  bool client = true;                     // icegate's role: a=setup:active => client
  // The peer's a=tls-id (RFC 8842 §4), empty when it sends none. A new value asks for a new
  // association; an ICE restart alone keeps the running one (RFC 8842, as browsers do).
  std::string tls_id;
  friend bool operator==(const DtlsParams&, const DtlsParams&) = default;
};

// SDES (RFC 4568) on a leg: the a=crypto lines (values after "a=crypto:") in use.
struct SdesChoice {
  std::string local;   // icegate's line: the key icegate sends with
  std::string remote;  // the peer's line: the key the peer sends with
};

// The far end of a leg as learned from its SDP. For an ICE leg: its credentials and valid
// candidates in SDP order. For a plain leg: one RTP address (c=/m=) and its RTCP address.
// A leg set up with ICE whose party answers without it (a phone without ICE) becomes a plain
// leg that latches onto the source of its first valid media (symmetric RTP).
struct RemoteMedia {
  std::optional<IceCredentials> ice;
  std::vector<TransportAddress> rtp;   // ICE: component-1 candidates; plain: one address
  std::vector<TransportAddress> rtcp;  // ICE: component-2 candidates; plain: a=rtcp or port+1
  bool rtcp_mux = false;
  // The RTP payload types of the relayed m= line: only media that carries one of them may teach
  // a plain leg its source (latching, issue 18).
  std::vector<std::uint8_t> payload_types;
  // Keys: at most one of them. Neither: plain RTP on this leg.
  std::optional<DtlsParams> dtls;  // needs an ICE leg
  std::optional<SdesChoice> sdes;
};

// A leg's payload types once offer/answer settled them, as numbers for the relay: the clock
// rate of each type that may arrive on the leg (its a=rtpmap or RFC 3551's static table: the
// units of its RTP timestamps, for the jitter estimate) and the types that must leave on it
// under another number than the other leg sends (the same codec numbered differently by the
// two parties, e.g. telephone-event 101 from a trunk, 126 for a browser).
struct PayloadTypes {
  struct Format {
    std::uint8_t pt = 0;
    std::uint32_t clock_rate = 0;  // Hz
    bool event = false;            // RFC 4733 telephone-event
    friend bool operator==(const Format&, const Format&) = default;
  };
  std::vector<Format> formats;  // arriving on the leg; the first non-event one is its main codec
  std::vector<std::pair<std::uint8_t, std::uint8_t>> rewrite;  // leaving: {other leg's, this leg's}
  friend bool operator==(const PayloadTypes&, const PayloadTypes&) = default;
};

enum class MediaEventKind {
  ice_connected,
  path_changed,
  consent_lost,
  media_timeout,
  secure_media_up,      // DTLS-SRTP handshake done, SRTP keys installed (detail: the profile)
  secure_media_failed,  // DTLS-SRTP handshake or key setup failed (e.g. fingerprint mismatch)
};

struct MediaEvent {
  std::uint64_t call = 0;
  Side side = Side::a;
  MediaEventKind kind = MediaEventKind::ice_connected;
  std::string detail;  // e.g. the selected pair, or what timed out
};

struct MediaError {
  enum Kind { ports_exhausted, internal } kind = internal;
  std::string message;
};

class MediaPort {
 public:
  virtual ~MediaPort() = default;
  // Allocates ports for both legs. ports_exhausted maps to 503.
  virtual Expected<MediaCall, MediaError> create_call(const MediaCallSetup& setup) = 0;
  // SDES (RFC 4568). The a=crypto lines icegate offers on `side` (fresh keys; the SIP layer keeps
  // them and hands the one the answer's tag names back in set_remote's SdesChoice); media on the
  // leg is held until then.
  virtual std::vector<std::string> sdes_offer(std::uint64_t call, Side side) = 0;
  // Answering the peer's a=crypto lines: the first one icegate supports and icegate's own line
  // for it (same tag and suite). When the lines include the one already in use on the leg, the
  // keys in use are kept (a re-INVITE does not re-key). Error: none is usable (=> 488).
  virtual Expected<SdesChoice, std::string> sdes_answer(
      std::uint64_t call, Side side, const std::vector<std::string>& offered) = 0;
  // ICE restart (RFC 8445 §9) on an ICE leg: new local ufrag/pwd for the answer; checks with the
  // old ones fail from now on, media keeps flowing on the selected pair until a new one is.
  virtual IceCredentials restart_ice(std::uint64_t call, Side side) = 0;
  // First answer/offer from a leg's far end, and every later change (re-INVITE). Keys given in
  // `remote` are installed when they differ from the ones in use (a new DTLS handshake for a new
  // fingerprint, role or ICE restart).
  virtual void set_remote(std::uint64_t call, Side side, const RemoteMedia& remote) = 0;
  // The leg's payload types (clock rates in, mapping out) after each offer/answer that may
  // have changed them; the same value again changes nothing. Optional for a port.
  virtual void set_payload_types(std::uint64_t call, Side side, const PayloadTypes& types) {
    (void)call;
    (void)side;
    (void)types;
  }
  // Releases the ports (into quarantine) and the relay session.
  virtual void destroy_call(std::uint64_t call) = 0;
  // The call is ending (before destroy_call): how, for the diagnosis. Optional for a port.
  virtual void call_ending(std::uint64_t call, const CallOutcome& outcome) {
    (void)call;
    (void)outcome;
  }
  // Per-call diagnostics for logs (counters, selected pair, drops by reason).
  virtual std::string describe(std::uint64_t call) = 0;
  // The public address for srflx candidates (STUN-learned or static), if known now.
  virtual std::optional<acl::Address> public_address() = 0;
  // Where events for every call go (set once by the SIP layer before the first call).
  virtual void set_event_sink(std::function<void(const MediaEvent&)> sink) = 0;
  // Readable when events wait; the SIP layer then calls dispatch_events() on its thread, which
  // hands each event to the sink.
  virtual int event_fd() const = 0;
  virtual void dispatch_events() = 0;
};

// The call layer's ownership of a media session: destroying the lease releases its ports and
// relay session (MediaPort::destroy_call), on every path a call can end by.
class MediaLease {
 public:
  MediaLease(MediaPort& port, MediaCall call) : port_(&port), call_(std::move(call)) {}
  ~MediaLease() { release(); }
  MediaLease(MediaLease&& o) noexcept
      : port_(std::exchange(o.port_, nullptr)), call_(std::move(o.call_)) {}
  MediaLease& operator=(MediaLease&&) = delete;
  MediaLease(const MediaLease&) = delete;
  MediaLease& operator=(const MediaLease&) = delete;

  std::uint64_t id() const noexcept { return call_.id; }
  const MediaCall& call() const noexcept { return call_; }
  MediaCall& call() noexcept { return call_; }
  void release() noexcept {
    if (port_) std::exchange(port_, nullptr)->destroy_call(call_.id);
  }

 private:
  MediaPort* port_;
  MediaCall call_;
};

}  // namespace icegate::sip
