// The fixture of the in-memory call flows (call_flow_test.cpp, call_flow_nat_test.cpp): the call
// router with a fake SIP stack and a fake media engine on a configuration of the test's own.
// Each test plays both far ends and checks what icegate sends to each; TearDown checks that every
// dialog handle, media session and timer was given back.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>

#include "conf/config.hpp"
#include "sip/call/router.hpp"
#include "tests/sip/call_fakes.hpp"
#include "tests/sip/digest_client.hpp"

namespace icegate::sip::test {

// A file of tests/data/sdp.
inline std::string load(const std::string& name) {
  std::ifstream in(std::string(ICEGATE_SOURCE_DIR) + "/tests/data/sdp/" + name, std::ios::binary);
  EXPECT_TRUE(in) << name;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The value of a quoted digest parameter (nonce="...") in a challenge.
inline std::string param(const std::string& header, const std::string& name) {
  const auto at = header.find(name + "=\"");
  if (at == std::string::npos) return {};
  const auto start = at + name.size() + 2;
  return header.substr(start, header.find('"', start) - start);
}

inline Source source(const char* ip, std::uint16_t port) {
  return Source{TransportAddress{*acl::Address::parse(ip), port}, conf::Transport::udp,
                std::nullopt};
}

class FlowFixture : public ::testing::Test {
 protected:
  explicit FlowFixture(const char* config)
      : cfg_(conf::load_string(config, "flow.xml")->config),
        auth_(cfg_->sip.registrar.realm),
        registrar_(cfg_->sip.registrar),
        trunks_(cfg_),
        router_(sip_, media_, auth_, registrar_, trunks_, cfg_) {
    media_.set_event_sink([this](const MediaEvent& ev) { router_.on_media_event(ev); });
  }

  void TearDown() override {
    // Nothing leaks: every dialog handle and media session the calls took was given back.
    EXPECT_EQ(router_.active_calls(), 0U);
    EXPECT_TRUE(sip_.live.empty()) << sip_.live.size() << " dialog handle(s) still held";
    EXPECT_TRUE(media_.live.empty()) << media_.live.size() << " media session(s) still held";
    EXPECT_EQ(sip_.armed_timers(), 0U);
  }

  void register_phone(const std::string& user, const char* ip, std::uint16_t port) {
    RegisterRequest r;
    r.user = user;
    r.contacts.push_back({"sip:" + user + "@192.168.1.20:5060", std::nullopt});
    r.call_id = "reg-" + user;
    r.cseq = 1;
    r.source = *acl::Address::parse(ip);
    r.source_port = port;
    r.profile = "udp";
    ASSERT_EQ(registrar_.apply(r, Registrar::Clock::now()).status, 200);
  }

  InboundRequest invite_request(const std::string& to, const std::string& sdp, Source from) {
    InboundRequest r;
    r.call_id = "call-" + std::to_string(++calls_);
    r.request_user = to;
    r.request_uri = "sip:" + to + "@127.0.0.1";
    r.from_user = "1001";
    r.max_forwards = 70;
    r.content_type = "application/sdp";
    r.body = sdp;
    r.source = from;
    r.profile = "udp";
    return r;
  }

  // Phone 1001's INVITE through the 407 round. Returns A's leg.
  LegId phone_invite(const std::string& to, const std::string& sdp) {
    auto req = invite_request(to, sdp, source("127.0.0.2", 5062));
    const LegId first = sip_.incoming();
    router_.on_invite(first, req);
    const Sent* challenge = sip_.last(Sent::respond, first);
    EXPECT_TRUE(challenge && challenge->status == 407);
    EXPECT_FALSE(sip_.live.count(first)) << "a challenged INVITE keeps no state";
    const std::string nonce = challenge ? param(challenge->extra, "nonce") : "";
    req.proxy_authorization =
        client_params("1001", "icegate", "1001secret", nonce, "INVITE", "sip:" + to + "@127.0.0.1");
    const LegId a = sip_.incoming();
    router_.on_invite(a, req);
    return a;
  }

  const Call& call_of(LegId leg) {
    const Call* c = router_.call_of(leg);
    EXPECT_NE(c, nullptr);
    return *c;
  }

  static InboundResponse response(int status, std::string body = {}, std::string realm = {}) {
    InboundResponse r;
    r.status = status;
    r.phrase = std::string(status_text(status));
    r.body = std::move(body);
    r.challenge_realm = std::move(realm);
    return r;
  }
  static const char* status_text(int status) {
    switch (status) {
      case 180:
        return "Ringing";
      case 183:
        return "Session Progress";
      case 200:
        return "OK";
      case 486:
        return "Busy Here";
      default:
        return "Status";
    }
  }

  // Both dialogs close as the stack would report it.
  void both_terminated(LegId a, LegId b) {
    if (b) router_.on_terminated(b);
    if (a) router_.on_terminated(a);
  }

  std::shared_ptr<const conf::Config> cfg_;
  DigestAuth auth_;
  Registrar registrar_;
  TrunkTable trunks_;
  FakeSignalling sip_;
  FakeMedia media_;
  CallRouter router_;
  int calls_ = 0;
};

}  // namespace icegate::sip::test
