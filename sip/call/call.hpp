// One back-to-back call: two legs, the media session that anchors it, and its whole flow
// (offer/answer on both legs, ringback while a phone's ICE completes, trunk auth and fail-over,
// re-INVITE/UPDATE, CANCEL, ending). The router (call/router.hpp) creates it and hands it the
// events of its legs; the call talks to the stack only through SignallingPort.
//
//   routing --> calling --> answering --> connected --> ending
//                  |  ^        |                          ^
//                  +--+        +--------------------------+  (every state may end)
//     (B's next attempt)  (A's 200 waits for ICE/DTLS on B's phone leg)
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "acl/expected.hpp"
#include "sip/call/leg.hpp"
#include "sip/call/signalling.hpp"
#include "sip/media_port.hpp"
#include "sip/sdp/description.hpp"

namespace icegate::sip {

class CallRouter;

enum class CallState : std::uint8_t {
  routing,    // A's INVITE accepted, media allocated, B not placed yet
  calling,    // B's INVITE is out (this attempt or a later one)
  answering,  // B answered; A's 200 waits for ICE (and DTLS) on B's phone leg
  connected,  // A's 200 went out
  ending,     // BYE / CANCEL / final responses sent; destroyed once both legs are done
};
std::string_view to_string(CallState s);
bool legal(CallState from, CallState to);

class Call {
 public:
  Call(CallRouter& router, std::string id);
  ~Call();
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;

  const std::string& id() const { return id_; }
  CallState state() const { return state_; }
  bool ending() const { return state_ == CallState::ending; }
  Leg& a() { return a_; }
  Leg& b() { return b_; }
  const Leg& a() const { return a_; }
  const Leg& b() const { return b_; }
  Leg& leg(Side s) { return s == Side::a ? a_ : b_; }
  Leg& other(const Leg& l) { return l.side() == Side::a ? b_ : a_; }
  // "connected A=confirmed/secure-up B=confirmed/plain": for logs and diagnostics.
  std::string describe_states() const;
  // inbound (trunk -> phone), outbound (phone -> trunk) or internal (phone -> phone).
  const char* direction() const;

  // Steps after the router accepted A's INVITE (call/call_offer_answer.cpp).
  // A's offer: its media into the engine (error: the reason, answered 488).
  std::optional<std::string> take_first_offer(const sdp::Description& offer,
                                              const std::string& text, RemoteMedia& media);
  // Builds B's offer from A's and places B's INVITE; false when it cannot (the router fails
  // the call).
  bool offer_to_b(const sdp::Description& a_offer);

  // Events of the legs (call/call.cpp). After any of them the call may be gone: callers return.
  void on_invite_response(Leg& leg, const InboundResponse& r);
  void on_reinvite(Leg& leg, const InboundRequest& r);
  void on_update(Leg& leg, std::uint64_t request, const InboundRequest& r);
  void on_update_response(Leg& leg, const InboundResponse& r);
  void on_cancel(Leg& leg);
  void on_bye(Leg& leg);
  void on_terminated(Leg& leg);
  void on_media_event(const MediaEvent& ev);
  // Answers A with `status` if it is still unanswered, then ends the call.
  void fail(int status, const std::string& phrase);
  // Ends both legs (BYE, CANCEL or a final response, as each leg's state wants).
  void end(const std::string& reason);

  std::optional<MediaLease> media;
  std::string a_call_id;            // the caller's SIP Call-ID (joins icegate's log to traces)
  std::string b_call_id;            // the Call-ID of icegate's INVITE toward B (this attempt)
  int a_final = 0;                  // the final status icegate sent the caller (0: none yet)
  std::optional<std::chrono::steady_clock::time_point> answered_at;  // A's 200
  bool ice_timed_out = false;       // a phone leg's ICE (or DTLS) missed ice-timeout
  unsigned b_attempts = 0;          // INVITEs placed toward B (fail-over, plain-RTP retry)
  std::string target_uri;           // B's Request-URI
  std::string from_user;            // caller's user part
  std::string to_user;              // callee's user part / number
  std::string b_offer;              // the SDP offered to B (kept for fail-over retries)
  unsigned long max_forwards = 69;  // for B's INVITE: the caller's Max-Forwards minus one
  std::string pending_answer;       // A's 200 SDP while waiting for ICE (state answering)
  std::chrono::steady_clock::time_point started;

 private:
  bool to(CallState next);
  bool place_b();
  void on_b_answered(Leg& leg, const InboundResponse& r);
  // Logs a phone behind NAT once; a non-ICE phone's private SDP address becomes its SIP source.
  void note_nat(const Leg& leg, RemoteMedia& media);
  void on_b_failed(Leg& leg, const InboundResponse& r);
  void answer_a(std::string sdp);  // by value: it may be pending_answer, cleared here
  void arm_ice_timer();
  void on_ice_timeout();
  void maybe_destroy();
  // What icegate last sent toward a leg, taken before a mid-call offer is turned into one for it.
  struct OtherLegSdp {
    std::string sdp;
    unsigned version = 0;
  };
  // The answer to `leg`'s mid-call offer when `offer` (built for the other leg) would not change
  // the other leg's session; nullopt: forward it.
  std::optional<std::string> answer_locally(Leg& leg, const OtherLegSdp& before,
                                            const std::string& offer);

  // Offer/answer on the legs (call/call_offer_answer.cpp).
  std::optional<std::string> accept_offer(Leg& leg, const sdp::Description& offer,
                                          RemoteMedia& media);
  std::optional<std::string> accept_answer(Leg& leg, const sdp::Description& answer,
                                           RemoteMedia& media);
  // A mid-call offer (re-INVITE or UPDATE, `what` for the log) from `leg`: its media and keys
  // into the media engine, and the offer for the other leg. Error: the status to answer (400
  // malformed SDP, 488 unusable).
  Expected<std::string, int> take_reoffer(Leg& leg, const std::string& body, const char* what);
  // An answer from `leg`'s far end: its media (candidate ACL) and keys into the media engine,
  // `body` kept as the leg's last SDP. Error: why it cannot be used; nothing is applied then.
  std::optional<std::string> take_answer(Leg& leg, const sdp::Description& answer,
                                         const std::string& body);
  // SDP for `target`, derived from the other leg's `from`; `answering` when it answers an offer
  // `target` made. nullopt (logged) when it cannot be built.
  std::optional<std::string> sdp_toward(Leg& target, const sdp::Description& from, bool answering);
  // Both legs' payload types (clock rates, mapping between their numbers) to the media side,
  // from the SDP each party sent and icegate sent it (call_offer_answer.cpp).
  void hand_payload_types();

  CallRouter& router_;
  std::string id_;
  CallState state_ = CallState::routing;
  Leg a_;
  Leg b_;
  std::unique_ptr<Timer> ice_timer_;
  bool nat_noted_ = false;  // the "behind NAT" line is logged once per call  // ICE must succeed on
                            // the phone leg(s) before it fires
};

}  // namespace icegate::sip
