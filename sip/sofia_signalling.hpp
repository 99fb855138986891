// SignallingPort on Sofia-SIP's nua: one nua handle per leg (SofiaLeg, the handle's magic), the
// nua events of calls translated into the call router's Sofia-free events, and su_timers.
// Runs on the signalling thread only.
#pragma once

#include "sip/sofia.hpp"

#include <map>
#include <memory>
#include <unordered_map>

#include "sip/call/signalling.hpp"
#include "sip/stack.hpp"

namespace icegate::sip {

class CallRouter;

// The realm of a 401/407 challenge, still quoted (the form NUTAG_AUTH wants).
std::string challenge_realm(const msg_auth_t* challenge);

// A leg's nua handle and the requests on it kept for a later answer.
class SofiaLeg {
 public:
  LegId id = 0;
  Handle handle;
  Profile* profile = nullptr;
  std::string via;  // the next hop every request of the dialog goes to, if set (NAT)
  std::map<std::uint64_t, std::unique_ptr<SavedRequest>> kept;
};

class SofiaSignalling final : public SignallingPort {
 public:
  explicit SofiaSignalling(Stack& stack) : stack_(stack) {}
  ~SofiaSignalling() override;
  void set_router(CallRouter& router) { router_ = &router; }

  // Translates a nua event about calls (INVITE, its responses, re-INVITE, UPDATE, CANCEL, BYE,
  // call state) into the router's events; false when the event is not about calls.
  bool handle(Profile& p, nua_event_t event, int status, const char* phrase, nua_handle_t* nh,
              SofiaLeg* leg, const sip_t* sip, tagi_t tags[]);

  void respond(LegId leg, const Reply& reply) override;
  void respond_kept(LegId leg, std::uint64_t request, const Reply& reply) override;
  LegId invite(const OutboundInvite& invite) override;
  void reinvite(LegId leg, const std::string& sdp) override;
  void update(LegId leg, const std::string& sdp) override;
  void bye(LegId leg, const std::string& reason) override;
  void cancel(LegId leg) override;
  void authenticate(LegId leg, const std::string& credentials) override;
  void route_via(LegId leg, const Source& to) override;
  void release(LegId leg) override;
  std::unique_ptr<Timer> start_timer(std::chrono::milliseconds after,
                                     std::function<void()> fire) override;

 private:
  SofiaLeg* find(LegId id);
  SofiaLeg& adopt(Profile& p, nua_handle_t* nh);
  void send_response(SofiaLeg& leg, const Reply& reply, const nua_saved_event_t* saved);

  Stack& stack_;
  CallRouter* router_ = nullptr;
  std::unordered_map<LegId, std::unique_ptr<SofiaLeg>> legs_;
  LegId next_leg_ = 1;
  std::uint64_t next_request_ = 1;
  // The request event being handled: answers given inside it name it (NUTAG_WITH_THIS).
  nua_t* current_nua_ = nullptr;
  nua_handle_t* current_invite_ = nullptr;
};

}  // namespace icegate::sip
