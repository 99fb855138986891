// Whole call flows in memory (as call_flow_test.cpp) for issue 11:
//  * offers a browser really sends: only mDNS candidates, no candidates yet (trickle), and
//    a=end-of-candidates with none; the phone's leg is an ICE leg without candidates whose
//    address the media side learns from its first check, with the candidate ACL handed over
//    (behaviour.md §3);
//  * users with a static contact (<user contact="sip:...">) that never register.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <regex>
#include <string>

#include "conf/config.hpp"
#include "sip/call/router.hpp"
#include "tests/sip/call_flow_fixture.hpp"

namespace icegate::sip {
namespace {

using test::FakeMedia;
using test::FakeSignalling;
using test::load;
using test::param;
using test::Sent;
using test::source;

constexpr const char* kConfig = R"(<icegate>
  <sip><listener name="udp" transport="udp" address="127.0.0.1" port="5060"/>
       <listener name="tcp" transport="tcp" address="127.0.0.1" port="5060"/>
       <registrar realm="icegate"/></sip>
  <media address="127.0.0.1" rtp-min="20000" rtp-max="20999" ice-timeout="5s"/>
  <acls>
    <acl name="local"><whitelist cidr="127.0.0.0/8"/></acl>
    <acl name="no-10-98"><blacklist cidr="10.98.0.0/16"/></acl>
  </acls>
  <acl-policy sip-inbound="local" remote-candidates="no-10-98"/>
  <users><user name="1001" password="1001secret"/>
         <user name="1002" password="1002secret"/>
         <user name="1003" password="1003secret" contact="sip:1003@127.0.0.9:5070"/>
         <user name="1004" password="1004secret" contact="sip:desk@127.0.0.10;transport=TCP"/></users>
  <trunks>
    <trunk name="pbx" transport="udp" options-interval="0s"><address host="127.0.0.1" port="5080"/></trunk>
  </trunks>
  <routes><route prefix="" trunk="pbx"/></routes>
</icegate>)";

// A browser's offer (Chromium's shape: BUNDLE, DTLS, rtcp-mux) with the given candidate lines.
std::string browser_offer(const std::string& candidates, const std::string& connection = "0.0.0.0",
                          int port = 9) {
  return "v=0\r\no=- 3221381982447826681 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
         "a=group:BUNDLE 0\r\nm=audio " +
         std::to_string(port) + " UDP/TLS/RTP/SAVPF 111 0 126\r\nc=IN IP4 " + connection + "\r\n" +
         candidates +
         "a=ice-ufrag:2qsL\r\na=ice-pwd:vjIh9plO21KEAuXjTHiTY2FD\r\na=ice-options:trickle\r\n"
         "a=fingerprint:sha-256 "
         "74:6E:96:D5:8C:CC:66:79:70:5B:A3:84:51:DD:8D:75:09:B4:3E:71:82:CB:D6:4D:F3:35:81:97:16:"
         "4C:05:DF\r\na=setup:actpass\r\na=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\n"
         "a=rtpmap:111 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:126 "
         "telephone-event/8000\r\n";
}

const std::string kMdns =
    "a=candidate:2016223521 1 udp 2122260223 0b6e5a1c-2d3f-4e5a-8b9c-0d1e2f3a4b5c.local 41896 "
    "typ host generation 0 network-id 1\r\n"
    "a=candidate:115524537 1 tcp 1518280447 0b6e5a1c-2d3f-4e5a-8b9c-0d1e2f3a4b5c.local 9 typ host "
    "tcptype active generation 0 network-id 1\r\n";

// The baresip capture's answer with its candidates turned into mDNS names (what a browser
// answering without microphone permission sends).
std::string mdns_answer() {
  std::string a = load("baresip-1.0-ice-dtls-answer.sdp");
  a = std::regex_replace(a, std::regex("10\\.98\\.0\\.3 (2015[45]) typ host"),
                         "9f3c.local $1 typ host");
  a = std::regex_replace(a, std::regex("10\\.98\\.0\\.3"), "0.0.0.0");
  return a;
}

// A plain answer from a fixed device (a desk phone): no ICE, no keys.
const std::string kDeskAnswer =
    "v=0\r\no=- 1 2 IN IP4 127.0.0.9\r\ns=-\r\nc=IN IP4 127.0.0.9\r\nt=0 0\r\n"
    "m=audio 6100 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n";

class NatFlow : public test::FlowFixture {
 protected:
  NatFlow() : FlowFixture(kConfig) {}

  LegId trunk_invite(const std::string& to) {
    const LegId a = sip_.incoming();
    router_.on_invite(
        a, invite_request(to, load("synthetic/pbx-offer.sdp"), source("127.0.0.1", 5080)));
    return a;
  }

  // The browser's call to the trunk: ICE leg without candidates, answered once ICE and DTLS
  // passed; hung up by the browser.
  void browser_call_connects(const std::string& offer) {
    const LegId a = phone_invite("5555", offer);
    const LegId b = sip_.last_invite();
    ASSERT_NE(b, 0U) << "the offer was refused: " << sip_.last(Sent::respond, a)->status;
    const MediaCallSetup& setup = media_.setups.at(1);
    EXPECT_TRUE(setup.a.ice);
    EXPECT_TRUE(setup.a.rtcp_mux);
    EXPECT_EQ(setup.a.candidate_acl, cfg_->policy.remote_candidates)
        << "the candidate ACL goes to the media side for the learnt address";
    ASSERT_NE(setup.a.candidate_acl, nullptr);
    const RemoteMedia& remote = media_.remotes.at({1, Side::a}).back();
    ASSERT_TRUE(remote.ice);
    EXPECT_EQ(remote.ice->ufrag, "2qsL");
    EXPECT_TRUE(remote.rtp.empty()) << "no candidate to send to: learnt from the first check";
    EXPECT_TRUE(remote.dtls);
    EXPECT_EQ(call_of(b).a().media_state(), MediaState::waiting_ice);

    router_.on_invite_response(b, response(200, load("synthetic/pbx-offer.sdp")));
    const Sent* ok = sip_.last(Sent::respond, a);
    ASSERT_EQ(ok->status, 200);
    EXPECT_NE(ok->sdp.find("a=ice-lite"), std::string::npos);
    EXPECT_EQ(ok->sdp.find("a=ice-options:trickle"), std::string::npos)
        << "icegate does not trickle: it must not claim to";
    EXPECT_EQ(ok->sdp.find(".local"), std::string::npos);
    EXPECT_EQ(sip_.armed_timers(), 1U) << "ice-timeout runs while the first check is awaited";
    router_.on_media_event({1, Side::a, MediaEventKind::ice_connected, "127.0.0.2:53000"});
    router_.on_media_event({1, Side::a, MediaEventKind::secure_media_up, "SRTP_AES128_CM_SHA1_80"});
    EXPECT_EQ(call_of(b).a().media_state(), MediaState::secure_up);
    EXPECT_EQ(sip_.armed_timers(), 0U);
    router_.on_bye(a);
    both_terminated(a, b);
  }
};

TEST_F(NatFlow, BrowserOfferWithOnlyMdnsCandidatesConnects) {
  browser_call_connects(browser_offer(kMdns + "a=end-of-candidates\r\n"));
}

TEST_F(NatFlow, TrickleOfferWithoutCandidatesConnects) {
  browser_call_connects(browser_offer(""));
}

TEST_F(NatFlow, EndOfCandidatesWithoutAnyCandidateIs488) {
  // Gathering ended with nothing: no check will ever come, media cannot arrive.
  const LegId a = phone_invite("5555", browser_offer("a=end-of-candidates\r\n"));
  ASSERT_EQ(sip_.last(Sent::respond, a)->status, 488);
  EXPECT_EQ(sip_.last_invite(), 0U);
  EXPECT_EQ(router_.stats().sdp_rejections.at("candidates-blocked"), 1U);
}

TEST_F(NatFlow, MdnsBesideCandidatesTheAclBlocksIs488) {
  // behaviour.md §3 / §9 pattern 5: a blocked address among them is a refusal, not a wait.
  const LegId a = phone_invite(
      "5555", browser_offer(kMdns + "a=candidate:3 1 udp 1686052607 10.98.0.7 41896 typ srflx "
                                    "raddr 0.0.0.0 rport 0\r\n"));
  ASSERT_EQ(sip_.last(Sent::respond, a)->status, 488);
}

TEST_F(NatFlow, CalledBrowserAnsweringWithOnlyMdnsIsAwaitedOnIce) {
  register_phone("1002", "127.0.0.3", 5064);
  const LegId a = trunk_invite("1002");
  const LegId b = sip_.last_invite();
  ASSERT_NE(b, 0U);
  EXPECT_EQ(media_.setups.at(1).b.candidate_acl, cfg_->policy.remote_candidates);
  router_.on_invite_response(b, response(200, mdns_answer()));
  const RemoteMedia& remote = media_.remotes.at({1, Side::b}).back();
  ASSERT_TRUE(remote.ice);
  EXPECT_TRUE(remote.rtp.empty());
  EXPECT_TRUE(remote.rtcp.empty());
  EXPECT_EQ(sip_.last(Sent::respond, a)->status, 180) << "ringback until the phone's check";
  router_.on_media_event({1, Side::b, MediaEventKind::ice_connected, "127.0.0.3:20154"});
  router_.on_media_event({1, Side::b, MediaEventKind::secure_media_up, "AEAD_AES_128_GCM"});
  EXPECT_EQ(sip_.last(Sent::respond, a)->status, 200);
  router_.on_bye(b);
  both_terminated(a, b);
}

TEST_F(NatFlow, TrunkCallsUserWithStaticContact) {
  const LegId a = trunk_invite("1003");
  const LegId b = sip_.last_invite();
  ASSERT_NE(b, 0U) << sip_.last(Sent::respond, a)->status;
  const OutboundInvite& inv = sip_.invites[b];
  EXPECT_EQ(inv.request_uri, "sip:1003@127.0.0.9:5070");
  EXPECT_FALSE(inv.via) << "a static contact is not behind NAT: no forced hop";
  EXPECT_EQ(inv.profile, "udp");
  EXPECT_EQ(inv.to_user, "1003");
  EXPECT_EQ(media_.setups.at(1).b.party, acl::Address::parse("127.0.0.9").value());
  EXPECT_TRUE(media_.setups.at(1).b.phone) << "a user's device is a phone leg (ICE offered)";

  router_.on_invite_response(b, response(200, kDeskAnswer));
  EXPECT_EQ(call_of(b).b().media_state(), MediaState::plain);
  const Sent* ok = sip_.last(Sent::respond, a);
  ASSERT_EQ(ok->status, 200);
  const RemoteMedia& remote = media_.remotes.at({1, Side::b}).back();
  ASSERT_EQ(remote.rtp.size(), 1U);
  EXPECT_EQ(remote.rtp[0].to_string(), "127.0.0.9:6100") << "its SDP address, as it is";
  router_.on_bye(a);
  both_terminated(a, b);
}

TEST_F(NatFlow, PhoneCallsUserWithStaticContact) {
  const LegId a = phone_invite("1003", browser_offer(kMdns));
  const LegId b = sip_.last_invite();
  ASSERT_NE(b, 0U) << sip_.last(Sent::respond, a)->status;
  EXPECT_EQ(sip_.invites[b].request_uri, "sip:1003@127.0.0.9:5070");
  router_.on_invite_response(b, response(200, kDeskAnswer));
  router_.on_bye(a);
  both_terminated(a, b);
}

TEST_F(NatFlow, RegistrationWinsOverStaticContact) {
  register_phone("1003", "127.0.0.3", 5064);
  const LegId a = trunk_invite("1003");
  const LegId b = sip_.last_invite();
  ASSERT_NE(b, 0U);
  EXPECT_EQ(sip_.invites[b].request_uri, "sip:1003@127.0.0.3:5064;transport=udp");
  ASSERT_TRUE(sip_.invites[b].via);
  router_.on_invite_response(b, response(486));
  EXPECT_EQ(sip_.last(Sent::respond, a)->status, 486);
  both_terminated(a, b);
}

TEST_F(NatFlow, StaticContactTransportPicksTheListener) {
  const LegId a = trunk_invite("1004");
  const LegId b = sip_.last_invite();
  ASSERT_NE(b, 0U);
  EXPECT_EQ(sip_.invites[b].request_uri, "sip:desk@127.0.0.10;transport=TCP");
  EXPECT_EQ(sip_.invites[b].profile, "tcp");
  router_.on_invite_response(b, response(480));
  both_terminated(a, b);
}

TEST_F(NatFlow, UserWithoutContactOrRegistrationIs480) {
  const LegId a = trunk_invite("1002");
  EXPECT_EQ(sip_.last(Sent::respond, a)->status, 480);
  EXPECT_EQ(sip_.last_invite(), 0U);
}

}  // namespace
}  // namespace icegate::sip
