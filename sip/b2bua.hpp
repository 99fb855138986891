// The SIP side of icegate on the signalling thread (Stack): the registrar for softphones,
// OPTIONS, the trunks' keep-alive and registration, and the calls, which it hands to the
// Sofia-free call router (call/router.hpp) through SofiaSignalling. Media is driven through
// MediaPort.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "conf/config.hpp"
#include "sip/call/router.hpp"
#include "sip/call/trunk_table.hpp"
#include "sip/digest.hpp"
#include "sip/media_port.hpp"
#include "sip/registrar.hpp"
#include "sip/sofia_signalling.hpp"
#include "sip/stack.hpp"

namespace icegate::sip {

class B2bua;

// Where a trunk's own registration stands (RFC 3261 §10.2).
enum class TrunkRegistrationState : std::uint8_t {
  unregistered,    // not yet sent, or failed and waiting for the back-off
  registering,     // REGISTER sent
  authenticating,  // challenged once, credentials sent (a second challenge means refused)
  registered,
};

// The Sofia side of one trunk: its OPTIONS and REGISTER handles and timers.
struct TrunkLink {
  B2bua* owner = nullptr;  // reached from su_timer callbacks (the map keeps this address stable)
  std::string name;
  Handle options_handle;
  Handle register_handle;
  TrunkRegistrationState registration = TrunkRegistrationState::unregistered;
  TimerPtr options_timer;
  TimerPtr register_timer;
  std::chrono::seconds register_backoff{5};
};

// The NAT keep-alive of one registered UDP contact (RFC 5626 §4.4 in spirit: the phone's NAT
// binding stays open because icegate sends through it).
struct ContactKeepalive {
  std::string user;
  std::string contact;
  std::string where;  // "198.51.100.7:41234"
  Handle pending;     // the OPTIONS in flight, if any
  unsigned misses = 0;
};

class B2bua : public EventSink {
 public:
  B2bua(Stack& stack, MediaPort& media, std::shared_ptr<const conf::Config> cfg);
  ~B2bua() override;

  void reload(std::shared_ptr<const conf::Config> cfg);  // on the signalling thread
  const SipStats& stats() const { return router_.stats(); }
  std::size_t active_calls() const { return router_.active_calls(); }
  // For the control API (on the signalling thread).
  CallRouter& router() { return router_; }
  const Registrar& registrar() const { return registrar_; }
  const std::map<std::string, TrunkLink>& trunk_links() const { return trunk_links_; }
  const TrunkTable& trunks() const { return trunks_; }

  void on_nua_event(Profile& profile, nua_event_t event, int status, const char* phrase,
                    nua_handle_t* nh, SofiaLeg* leg, const sip_t* sip, tagi_t tags[]) override;
  void on_started() override;
  void on_stopping() override;
  void on_ws_closed(Profile& p, std::uint16_t bridge_port, const ws::Peer& peer) override;
  // A trunk's OPTIONS interval or registration back-off passed (su_timer callbacks).
  void trunk_options(TrunkLink& t);
  void trunk_register(TrunkLink& t);
  void on_keepalive_timer() { contact_keepalive_tick(); }

 private:
  // Requests outside calls.
  void on_register(Profile& p, nua_handle_t* nh, const sip_t* sip);
  void on_options(Profile& p, nua_handle_t* nh, const sip_t* sip);
  bool acl_allows(Profile& p, nua_handle_t* nh, const sip_t* sip,
                  const std::shared_ptr<const acl::Acl>& acl, const char* what);

  // NAT keep-alive toward registered UDP contacts (contact_keepalive.cpp).
  void start_contact_keepalive();
  void contact_keepalive_tick();
  void on_contact_keepalive_response(nua_handle_t* nh, int status);

  // Trunks (trunk_keepalive.cpp).
  void start_trunks();
  void stop_trunks();
  // Host names resolved off the signalling thread; the answers are posted back to it.
  void resolve_trunk_hosts();
  void on_trunk_response(TrunkLink& t, bool is_register, nua_handle_t* nh, int status,
                         const sip_t* sip);

  Stack& stack_;
  MediaPort& media_;
  std::shared_ptr<const conf::Config> cfg_;
  DigestAuth auth_;
  Registrar registrar_;
  TrunkTable trunks_;
  SofiaSignalling signalling_;
  CallRouter router_;
  std::map<std::string, TrunkLink> trunk_links_;
  std::map<std::pair<std::string, std::string>, ContactKeepalive> keepalives_;  // (user, contact)
  std::map<nua_handle_t*, std::pair<std::string, std::string>> keepalive_by_handle_;
  TimerPtr keepalive_timer_;
  std::vector<std::thread> resolvers_;  // joined on destruction (after the stack stopped)
  std::uint64_t resolve_generation_ = 0;
  bool stopping_ = false;
};

}  // namespace icegate::sip
