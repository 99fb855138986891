// One side of a call: its dialog state, its media state and what was negotiated on it.
// Each state has one enum; the legal transitions are listed in leg.cpp and every change goes
// through Leg::to() / Leg::media_to(), which refuse (and log) an illegal one.
//
//   dialog:  idle --> inviting --> early --> confirmed --> terminating --> terminated
//              ^          |          |           |              ^
//              +----------+----------+ (B: next  +--------------+
//                           trunk address)   (BYE, CANCEL, final error, or the stack's own end)
//
//   media:   plain                                  (no ICE on the leg: nothing to wait for)
//            waiting_ice --> ice_up --> secure_up   (phone legs; secure_up only with DTLS-SRTP)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "acl/address.hpp"
#include "sip/call/signalling.hpp"
#include "sip/call_sdp.hpp"
#include "sip/media_port.hpp"

namespace icegate::sip {

class Call;

enum class LegState : std::uint8_t {
  idle,         // B: not placed yet, or between two attempts (fail-over, plain RTP retry)
  inviting,     // A: the INVITE is open, nothing sent yet; B: INVITE sent, no response yet
  early,        // a provisional response (A: sent, B: received)
  confirmed,    // a 2xx (A: sent, B: received): the dialog is up
  terminating,  // BYE, CANCEL or a final error sent or received: waiting for the dialog to close
  terminated,   // the dialog is gone (or never came to be)
};
std::string_view to_string(LegState s);
bool legal(LegState from, LegState to);

enum class MediaState : std::uint8_t {
  plain,        // no ICE on the leg (trunks): ready as soon as it has keys, if any
  waiting_ice,  // a phone leg before its first valid check
  ice_up,       // ICE passed; with DTLS-SRTP the handshake is still running
  secure_up,    // ICE and the DTLS-SRTP handshake passed
};
std::string_view to_string(MediaState s);
bool legal(MediaState from, MediaState to);

// Where a leg's keys stand in offer/answer.
enum class KeyState : std::uint8_t {
  unset,   // nothing offered or agreed yet
  agreed,  // an offer/answer settled `keying` (later offers keep it, RFC 8842 §5.5)
};

// What the first offer toward a called phone was.
enum class OfferProfile : std::uint8_t {
  configured,  // as <dtls offer-to-phones> says
  plain_rtp,   // the phone refused DTLS-SRTP: RTP/AVP offered instead
};

// An offer this leg sent that icegate forwarded to the other leg, waiting for its answer.
enum class ForwardedOffer : std::uint8_t { none, reinvite, update };

class Leg {
 public:
  Leg(Call& call, Side side) : call_(call), side_(side) {}

  Call& call() const { return call_; }
  Side side() const { return side_; }
  LegState state() const { return state_; }
  MediaState media_state() const { return media_state_; }
  // Changes the dialog state; false (logged, state kept) for a transition leg.cpp does not list.
  bool to(LegState next);
  bool media_to(MediaState next);
  // Connected in media terms: ICE passed and, with DTLS, the handshake too.
  bool media_ready() const;
  bool confirmed() const { return state_ == LegState::confirmed; }
  // No request or response will be sent on the dialog any more.
  bool closing() const { return state_ == LegState::terminating || state_ == LegState::terminated; }
  // The leg needs nothing more from the stack: the call may be destroyed.
  bool done() const { return !link || state_ == LegState::terminated || state_ == LegState::idle; }

  LegLink link;                   // the dialog in the signalling port
  bool phone = false;             // softphone rather than trunk
  std::string trunk;              // trunk legs: the trunk's name
  std::size_t trunk_address = 0;  // which of the trunk's addresses this attempt uses
  unsigned auth_rounds = 0;       // digest rounds answered with the trunk's credentials
  std::string profile;            // the listener it runs on
  acl::Address party;             // the far end's signalling address (public-candidate ACL)
  std::optional<Source> via;      // phones: where the dialog's requests go (B: its registration)
  std::string remote_sdp;         // last SDP received on this leg
  std::string local_sdp;          // last SDP icegate built toward this leg
  unsigned sdp_version = 0;       // o= version of the SDP icegate sends on this leg
  int last_provisional = 0;       // A: the last 1xx icegate sent (ringback while ICE completes)
  ForwardedOffer forwarded = ForwardedOffer::none;
  std::uint64_t kept_update = 0;  // the UPDATE request waiting for the other leg's answer
  // Keys on this leg (behaviour.md §5): what was offered to it, then what was negotiated.
  Keying::Kind keying = Keying::Kind::none;
  KeyState keys = KeyState::unset;
  OfferProfile offer_profile = OfferProfile::configured;
  std::string proto;                      // the party's proto (answers mirror it)
  bool dtls_client = true;                // icegate's DTLS role on this leg
  std::vector<std::string> sdes_offered;  // icegate's a=crypto lines in an open offer
  std::string sdes_local;                 // icegate's a=crypto line in use
  std::optional<bool> rtcp_mux;           // phone legs: agreed in the last offer/answer
  std::string remote_ufrag;               // phone legs: the phone's ICE ufrag (restart check)

 private:
  Call& call_;
  Side side_;
  LegState state_ = LegState::idle;
  MediaState media_state_ = MediaState::plain;
};

}  // namespace icegate::sip
