// The call controller: registrar for softphones, trunks, routing and back-to-back calls.
// Runs entirely on the signalling thread (Stack); media is driven through MediaPort.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "conf/config.hpp"
#include "sip/call_sdp.hpp"
#include "sip/digest.hpp"
#include "sip/media_port.hpp"
#include "sip/registrar.hpp"
#include "sip/sdp/description.hpp"
#include "sip/stack.hpp"

namespace icegate::sip {

class Call;
class B2bua;

// One side of a call: a nua handle and what we know about its far end.
class Leg {
 public:
  Call* call = nullptr;
  Side side = Side::a;
  Handle handle;
  Profile* profile = nullptr;
  bool phone = false;          // softphone (ICE) rather than trunk
  std::string trunk;           // trunk name for trunk legs
  std::size_t trunk_address = 0;  // which of the trunk's addresses this attempt uses
  bool answered = false;       // a 2xx was sent (A) or received (B)
  bool terminated = false;     // nua reported the handle's call state terminated
  bool auth_tried = false;     // one 401/407 round with the trunk's credentials
  std::string remote_sdp;      // last SDP received on this leg
  // A re-INVITE received on this leg and forwarded to the other one, waiting for its answer.
  bool reinvite_pending = false;
  // An UPDATE received on this leg, forwarded to the other one: answered when its answer comes.
  SavedRequest update;
  bool ice_connected = false;  // phone legs: the ICE-lite agent answered a valid check
  acl::Address party;          // the far end's signalling address (public-candidate ACL)
  unsigned sdp_version = 0;    // o= version of the SDP we send on this leg
  bool ringing_sent = false;   // A: a 180 went out (ringback while ICE completes)
  // Keys on this leg (behaviour.md §5): what was offered to it, then what was negotiated.
  Keying::Kind keying = Keying::Kind::none;
  bool keys_negotiated = false;           // an offer/answer settled `keying`
  std::string proto;                      // the party's proto (answers mirror it)
  bool dtls_client = true;                // icegate's DTLS role on this leg
  std::vector<std::string> sdes_offered;  // icegate's a=crypto lines in an open offer
  std::string sdes_local;                 // icegate's a=crypto line in use
  bool secure_up = false;                 // DTLS-SRTP handshake done
  std::optional<bool> rtcp_mux;           // phone legs: agreed in the last offer/answer
  std::string remote_ufrag;               // phone legs: the phone's ICE ufrag (restart check)
  bool plain_retry = false;               // B phone refused the DTLS offer: offered RTP/AVP
  // Connected in media terms: ICE passed and, with DTLS, the handshake too.
  bool media_ready() const {
    return (!phone || ice_connected) && (keying != Keying::Kind::dtls || secure_up);
  }
};

class Call {
 public:
  std::string id;  // short id used in every log line of the call
  B2bua* owner = nullptr;
  std::unique_ptr<Leg> a;  // the caller's side (incoming INVITE)
  std::unique_ptr<Leg> b;  // the callee's side (outgoing INVITE)
  std::optional<MediaCall> media;
  std::string target_uri;      // B's Request-URI
  std::string from_user;       // caller's user part
  std::string to_user;         // callee's user part / number
  std::string b_offer;         // the SDP offered to B (kept for fail-over retries)
  unsigned long max_forwards = 69;  // for B's INVITE: the caller's Max-Forwards minus one
  bool waiting_ice = false;    // B answered, A's 200 waits for ICE on the phone leg
  std::string pending_answer;  // A's 200 SDP while waiting for ICE
  bool ending = false;
  TimerPtr ice_timer;          // ICE must succeed on the phone leg(s) before it fires
  std::chrono::steady_clock::time_point started;

  Leg& leg(Side s) { return s == Side::a ? *a : *b; }
  Leg* other(const Leg& l) { return l.side == Side::a ? b.get() : a.get(); }
};

struct TrunkState {
  B2bua* owner = nullptr;  // reached from su_timer callbacks (the map keeps this address stable)
  const conf::Trunk* cfg = nullptr;
  std::vector<acl::Address> resolved;  // addresses resolved at start (for "call from trunk")
  std::size_t current = 0;             // address in use (fail-over moves it)
  bool up = true;                      // OPTIONS keep-alive state
  Handle options_handle;
  Handle register_handle;
  bool registered = false;
  bool auth_sent = false;  // one digest round per registration attempt
  TimerPtr options_timer;
  TimerPtr register_timer;
  std::chrono::seconds register_backoff{5};
};

struct B2buaStats {
  std::uint64_t calls_started = 0;
  std::uint64_t calls_answered = 0;
  std::uint64_t calls_failed = 0;
  std::uint64_t rejected_acl = 0;
  std::uint64_t rejected_candidates = 0;
  std::uint64_t registrations = 0;
};

// The realm of a 401/407 challenge, still quoted (the form NUTAG_AUTH wants).
std::string challenge_realm(const msg_auth_t* challenge);

class B2bua : public EventSink {
 public:
  B2bua(Stack& stack, MediaPort& media, std::shared_ptr<const conf::Config> cfg);
  ~B2bua() override;

  void reload(std::shared_ptr<const conf::Config> cfg);  // on the signalling thread
  const B2buaStats& stats() const { return stats_; }
  std::size_t active_calls() const { return calls_.size(); }

  void on_nua_event(Profile& profile, nua_event_t event, int status, const char* phrase,
                    nua_handle_t* nh, Leg* leg, const sip_t* sip, tagi_t tags[]) override;
  void on_started() override;
  void on_stopping() override;
  // The ICE deadline of a call passed (su_timer callback).
  void on_ice_timeout(const std::string& call_id);
  // A trunk's OPTIONS interval or registration back-off passed (su_timer callbacks).
  void trunk_options(TrunkState& t);
  void trunk_register(TrunkState& t);

 private:
  // Requests outside calls.
  void on_register(Profile& p, nua_handle_t* nh, const sip_t* sip);
  void on_options(Profile& p, nua_handle_t* nh, const sip_t* sip);
  bool acl_allows(Profile& p, nua_handle_t* nh, const sip_t* sip,
                  const std::shared_ptr<const acl::Acl>& acl, const char* what);

  // Calls (b2bua_call.cpp).
  void on_invite(Profile& p, nua_handle_t* nh, const sip_t* sip);
  void on_reinvite(Leg& leg, const sip_t* sip);
  void on_update(Profile& p, Leg& leg, const sip_t* sip);
  void on_update_response(Leg& leg, int status, const char* phrase, const sip_t* sip);
  void on_invite_response(Leg& leg, int status, const char* phrase, const sip_t* sip);
  void on_cancel(Leg& leg);
  void on_bye(Leg& leg);
  void on_state(Leg& leg, tagi_t tags[]);
  void on_media_event(const MediaEvent& ev);
  bool place_b_leg(Call& call);
  void answer_a(Call& call, const std::string& sdp);
  void fail_call(Call& call, int status, const std::string& phrase);
  void end_call(Call& call, const std::string& reason);
  void maybe_destroy(Call& call);
  Call* find_call(std::uint64_t media_id);
  // SDP for `target`, derived from the other leg's `from`; `answering` when it answers an offer
  // `target` made. nullopt (logged) when it cannot be built.
  // What a party's offer / answer on `leg` says beyond its media: keys, rtcp-mux, an ICE
  // restart; into `media` (for set_remote) and the leg's state. Error: why (=> 488).
  std::optional<std::string> accept_offer(Call& call, Leg& leg, const sdp::Description& offer,
                                          RemoteMedia& media);
  std::optional<std::string> accept_answer(Call& call, Leg& leg, const sdp::Description& answer,
                                           RemoteMedia& media);
  // A mid-call offer (re-INVITE or UPDATE, `what` for the log) from `leg`: its media and keys
  // into the media engine, and the offer for the other leg. Error: the status to answer (400
  // malformed SDP, 488 unusable).
  Expected<std::string, int> take_reoffer(Call& call, Leg& leg, const std::string& body,
                                          const char* what);
  // An answer from `leg`'s far end: its media (candidate ACL) and keys into the media engine,
  // `body` kept as the leg's last SDP. Error: why it cannot be used; nothing is applied then.
  std::optional<std::string> take_answer(Call& call, Leg& leg, const sdp::Description& answer,
                                         const std::string& body);
  std::optional<std::string> sdp_toward(Call& call, Leg& target, const sdp::Description& from,
                                        bool answering);

  // Trunks (b2bua_trunk.cpp).
  void start_trunks();
  void stop_trunks();
  void on_trunk_response(TrunkState& t, bool is_register, nua_handle_t* nh, int status,
                         const sip_t* sip);
  TrunkState* trunk_of_source(const acl::Address& a);
  TrunkState* trunk_named(const std::string& name);
  std::string trunk_uri(const TrunkState& t, std::size_t address, const std::string& user) const;

  Stack& stack_;
  MediaPort& media_;
  std::shared_ptr<const conf::Config> cfg_;
  DigestAuth auth_;
  Registrar registrar_;
  std::map<std::string, std::unique_ptr<Call>> calls_;
  std::map<std::string, TrunkState> trunks_;
  B2buaStats stats_;
  std::uint64_t next_call_ = 1;
  bool stopping_ = false;
};

}  // namespace icegate::sip
