// In-memory stand-ins for the SIP stack (SignallingPort) and the media engine (MediaPort), so a
// whole call flow runs in a unit test: what the call layer sends is recorded, what the far ends
// send is injected through the router.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sip/call/signalling.hpp"
#include "sip/media_port.hpp"

namespace icegate::sip::test {

// One thing the call layer asked the stack to send.
struct Sent {
  enum Kind { respond, respond_kept, invite, reinvite, update, bye, cancel, authenticate } kind;
  LegId leg = 0;
  int status = 0;             // responses
  std::string phrase;         // responses
  std::string sdp;            // responses with a body, INVITE/re-INVITE/UPDATE offers
  std::string reason;         // BYE, final responses
  std::string extra;          // Proxy-Authenticate, Accept, credentials, Request-URI
  std::uint64_t request = 0;  // respond_kept
};

class FakeSignalling final : public SignallingPort {
 public:
  class FakeTimer final : public Timer {
   public:
    FakeTimer(FakeSignalling& owner, std::chrono::milliseconds after, std::function<void()> fire)
        : owner_(owner), after(after), fire(std::move(fire)) {
      owner_.timers_.insert(this);
    }
    ~FakeTimer() override { owner_.timers_.erase(this); }
    FakeSignalling& owner_;
    std::chrono::milliseconds after;
    std::function<void()> fire;
  };

  void respond(LegId leg, const Reply& r) override {
    std::string challenges;  // one line per challenge (digest algorithm)
    for (const auto& c : r.proxy_authenticate) challenges += (challenges.empty() ? "" : "\n") + c;
    sent.push_back({Sent::respond, leg, r.status, r.phrase, r.sdp, r.reason,
                    challenges.empty() ? r.accept : challenges, 0});
  }
  void respond_kept(LegId leg, std::uint64_t request, const Reply& r) override {
    sent.push_back({Sent::respond_kept, leg, r.status, r.phrase, r.sdp, r.reason, {}, request});
  }
  LegId invite(const OutboundInvite& inv) override {
    const LegId id = next_leg_++;
    live.insert(id);
    invites[id] = inv;
    sent.push_back({Sent::invite, id, 0, {}, inv.sdp, {}, inv.request_uri, 0});
    return id;
  }
  void reinvite(LegId leg, const std::string& sdp) override {
    sent.push_back({Sent::reinvite, leg, 0, {}, sdp, {}, {}, 0});
  }
  void update(LegId leg, const std::string& sdp) override {
    sent.push_back({Sent::update, leg, 0, {}, sdp, {}, {}, 0});
  }
  void bye(LegId leg, const std::string& reason) override {
    sent.push_back({Sent::bye, leg, 0, {}, {}, reason, {}, 0});
  }
  void cancel(LegId leg) override { sent.push_back({Sent::cancel, leg, 0, {}, {}, {}, {}, 0}); }
  void authenticate(LegId leg, const std::string& credentials) override {
    sent.push_back({Sent::authenticate, leg, 0, {}, {}, {}, credentials, 0});
  }
  void route_via(LegId leg, const Source& to) override { vias[leg] = to; }
  void release(LegId leg) override {
    EXPECT_TRUE(live.count(leg)) << "leg " << leg << " released twice or never opened";
    live.erase(leg);
    released.push_back(leg);
  }
  std::unique_ptr<Timer> start_timer(std::chrono::milliseconds after,
                                     std::function<void()> fire) override {
    return std::make_unique<FakeTimer>(*this, after, std::move(fire));
  }

  // A new incoming dialog (the stack's handle for an INVITE).
  LegId incoming() {
    const LegId id = next_leg_++;
    live.insert(id);
    return id;
  }
  // Fires every armed timer (each at most once), as if their time had passed.
  std::size_t fire_timers() {
    std::vector<FakeTimer*> due(timers_.begin(), timers_.end());
    std::size_t n = 0;
    for (FakeTimer* t : due) {
      if (!timers_.count(t) || !t->fire) continue;
      auto fire = std::move(t->fire);
      ++n;
      fire();
    }
    return n;
  }
  std::size_t armed_timers() const { return timers_.size(); }

  // The sent items of `kind` on `leg`, oldest first.
  std::vector<Sent> of(Sent::Kind kind, LegId leg) const {
    std::vector<Sent> out;
    for (const auto& s : sent) {
      if (s.kind == kind && s.leg == leg) out.push_back(s);
    }
    return out;
  }
  const Sent* last(Sent::Kind kind, LegId leg) const {
    for (auto it = sent.rbegin(); it != sent.rend(); ++it) {
      if (it->kind == kind && it->leg == leg) return &*it;
    }
    return nullptr;
  }
  // The leg of the newest outgoing INVITE (B of the last call placed).
  LegId last_invite() const {
    for (auto it = sent.rbegin(); it != sent.rend(); ++it) {
      if (it->kind == Sent::invite) return it->leg;
    }
    return 0;
  }

  std::vector<Sent> sent;
  std::set<LegId> live;
  std::vector<LegId> released;
  std::map<LegId, OutboundInvite> invites;
  std::map<LegId, Source> vias;

 private:
  LegId next_leg_ = 1;
  std::set<FakeTimer*> timers_;
};

class FakeMedia final : public MediaPort {
 public:
  Expected<MediaCall, MediaError> create_call(const MediaCallSetup& setup) override {
    if (exhausted) return unexpected(MediaError{MediaError::ports_exhausted, "no free port pair"});
    MediaCall c;
    c.id = next_++;
    c.fingerprint =
        "sha-256 AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:"
        "01:23:45:67:89";
    const auto base = static_cast<std::uint16_t>(20000 + 4 * c.id);
    c.a.ports = {base, static_cast<std::uint16_t>(base + 1)};
    c.b.ports = {static_cast<std::uint16_t>(base + 2), static_cast<std::uint16_t>(base + 3)};
    if (setup.a.ice) c.a.ice = {"aufrag" + std::to_string(c.id), "apwd0123456789abcdef0123"};
    if (setup.b.ice) c.b.ice = {"bufrag" + std::to_string(c.id), "bpwd0123456789abcdef0123"};
    setups[c.id] = setup;
    live.insert(c.id);
    return c;
  }
  std::vector<std::string> sdes_offer(std::uint64_t, Side) override {
    return {"1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz",
            "2 AES_CM_128_HMAC_SHA1_32 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"};
  }
  Expected<SdesChoice, std::string> sdes_answer(std::uint64_t, Side,
                                                const std::vector<std::string>& offered) override {
    if (offered.empty()) return unexpected(std::string("no a=crypto"));
    const auto tag = offered.front().substr(0, offered.front().find(' '));
    return SdesChoice{
        tag + " AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz",
        offered.front()};
  }
  IceCredentials restart_ice(std::uint64_t, Side) override {
    return {"restarted", "restartedpwd0123456789ab"};
  }
  void set_remote(std::uint64_t call, Side side, const RemoteMedia& remote) override {
    remotes[{call, side}].push_back(remote);
  }
  void set_payload_types(std::uint64_t call, Side side, const PayloadTypes& types) override {
    payload_types[{call, side}] = types;
  }
  void destroy_call(std::uint64_t call) override {
    EXPECT_TRUE(live.count(call)) << "media call " << call << " destroyed twice or never made";
    live.erase(call);
    destroyed.push_back(call);
  }
  std::string describe(std::uint64_t) override { return "fake media"; }
  std::optional<acl::Address> public_address() override { return std::nullopt; }
  void set_event_sink(std::function<void(const MediaEvent&)> sink) override {
    sink_ = std::move(sink);
  }
  int event_fd() const override { return -1; }
  void dispatch_events() override {}

  bool exhausted = false;
  std::set<std::uint64_t> live;
  std::vector<std::uint64_t> destroyed;
  std::map<std::uint64_t, MediaCallSetup> setups;
  std::map<std::pair<std::uint64_t, Side>, std::vector<RemoteMedia>> remotes;
  std::map<std::pair<std::uint64_t, Side>, PayloadTypes> payload_types;  // the last per leg

 private:
  std::uint64_t next_ = 1;
  std::function<void(const MediaEvent&)> sink_;
};

}  // namespace icegate::sip::test
