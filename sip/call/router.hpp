// The router and registry of calls. A new INVITE goes through small named steps (admit by ACL,
// authenticate or recognise a trunk, route, read the offer, allocate media, offer to B); the
// events of existing legs are handed to their call. Sofia-free: the stack is reached through
// SignallingPort, the media engine through MediaPort, so tests/sip drives it in memory.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "conf/config.hpp"
#include "sip/call/call.hpp"
#include "sip/call/signalling.hpp"
#include "sip/call/stats.hpp"
#include "sip/call/trunk_table.hpp"
#include "sip/digest.hpp"
#include "sip/flood/guard.hpp"
#include "sip/media_port.hpp"
#include "sip/registrar.hpp"

namespace icegate::sip {

// The digest settings of a <security> element.
DigestAuth::Settings digest_settings(const conf::Security& s);

class CallRouter {
 public:
  CallRouter(SignallingPort& signalling, MediaPort& media, DigestAuth& auth,
             const Registrar& registrar, TrunkTable& trunks,
             std::shared_ptr<const conf::Config> cfg);
  ~CallRouter();

  // Also applies the <security> settings to the guard and the digest checks.
  void set_config(std::shared_ptr<const conf::Config> cfg);
  // The SIP edge's flood and password-guessing protection (Stack asks it about every request).
  flood::EdgeGuard& guard() { return guard_; }

  // A new INVITE outside any call; the router owns `leg` from now on (answers and releases it).
  void on_invite(LegId leg, const InboundRequest& req);
  // Events on legs of existing calls; unknown legs are ignored (false: no such leg).
  bool on_reinvite(LegId leg, const InboundRequest& req);
  bool on_update(LegId leg, std::uint64_t request, const InboundRequest& req);
  void on_invite_response(LegId leg, const InboundResponse& r);
  void on_update_response(LegId leg, const InboundResponse& r);
  void on_cancel(LegId leg);
  void on_bye(LegId leg);
  void on_terminated(LegId leg);
  void on_media_event(const MediaEvent& ev);
  // Ends every call (shutdown).
  void end_all(const std::string& reason);

  const SipStats& stats() const { return stats_; }
  SipStats& stats() { return stats_; }
  std::size_t active_calls() const { return calls_.size(); }
  const std::map<std::string, std::unique_ptr<Call>>& calls() const { return calls_; }
  const Call* find(const std::string& id) const;
  // The control API's hang-up: ends the call on both legs (BYE, CANCEL or a final response) with
  // `reason`; false when there is no such call (or it is already ending).
  bool hang_up(const std::string& id, const std::string& reason);
  // Drain (rolling restarts): new INVITEs get 503 with Retry-After, calls in progress go on;
  // `on_idle` runs (on this thread) once no call is left, at once if none is.
  void drain(std::function<void()> on_idle);
  bool draining() const { return draining_; }
  const Call* call_of(LegId leg) const;

  // For calls.
  const conf::Config& config() const { return *cfg_; }
  MediaPort& media() { return media_; }
  SignallingPort& signalling() { return signalling_; }
  TrunkTable& trunks() { return trunks_; }
  void bind(Leg& leg, LegId id);  // the leg owns `id` from now on; its events reach it
  void unbind(Leg& leg);          // releases the leg's LegId
  void destroy(Call& call);       // the call is gone after this

 private:
  struct Route {
    bool to_phone = false;
    std::string trunk;  // B's trunk when !to_phone
    std::optional<Binding> callee;
    // A user without a live registration: its configured contact (a registration wins).
    std::optional<conf::StaticContact> static_contact;
  };
  // The steps of on_invite; each answers the request itself when it says no.
  bool admitted(LegId leg, const InboundRequest& req);
  std::optional<std::string> authenticated_user(LegId leg, const InboundRequest& req);
  std::optional<Route> route(LegId leg, const InboundRequest& req, const std::string& to_user,
                             bool from_trunk);
  // Answers a new INVITE with a final error, counted under `cause` (a metric label).
  void reject(LegId leg, const InboundRequest& req, int status, const std::string& phrase,
              const char* cause, const std::string& why);
  Leg* leg_of(LegId id);
  // <group latching> of `user`'s group, if it sets one.
  std::optional<bool> group_latching(const std::string& user) const;

  SignallingPort& signalling_;
  MediaPort& media_;
  DigestAuth& auth_;
  const Registrar& registrar_;
  TrunkTable& trunks_;
  std::shared_ptr<const conf::Config> cfg_;
  std::map<std::string, std::unique_ptr<Call>> calls_;
  std::unordered_map<LegId, Leg*> legs_;
  SipStats stats_;
  flood::EdgeGuard guard_{stats_};
  std::shared_ptr<const acl::Acl> trusted_acl_;  // <security trusted>
  std::uint64_t next_call_ = 1;
  std::string call_id_prefix_;  // random per process: B legs' Call-IDs are <prefix>-<n>
  bool draining_ = false;
  std::function<void()> on_idle_;
};

}  // namespace icegate::sip
