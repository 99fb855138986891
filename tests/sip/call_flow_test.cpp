// Whole B2BUA call flows in memory: the call router with a fake SIP stack and a fake media
// engine. Each test plays both far ends (the phone and the trunk) and checks what icegate sends
// to each, the call and leg states, and that every dialog handle and media session is released.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
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
       <registrar realm="icegate"/></sip>
  <media address="127.0.0.1" rtp-min="20000" rtp-max="20999" ice-timeout="5s"/>
  <acls>
    <acl name="local"><whitelist cidr="127.0.0.0/8"/></acl>
    <acl name="no-10-98"><blacklist cidr="10.98.0.0/16"/></acl>
  </acls>
  <acl-policy sip-inbound="local" remote-candidates="no-10-98"/>
  <groups><group name="desk" latching="false"/></groups>
  <users><user name="1001" password="1001secret"/>
         <user name="1002" password="1002secret" group="desk"/></users>
  <trunks>
    <trunk name="pbx" transport="udp" options-interval="0s"><address host="127.0.0.1" port="5080"/></trunk>
    <trunk name="carrier" transport="udp" options-interval="0s">
      <address host="127.0.0.5" port="5060"/><address host="127.0.0.6" port="5060"/>
      <source cidr="127.0.0.64/26"/>
      <registration username="acct" password="acctsecret"/>
    </trunk>
  </trunks>
  <routes><route prefix="" trunk="pbx"/><route prefix="9" trunk="carrier"/></routes>
</icegate>)";

// A phone's plain offer (no ICE, no keys) on a loopback address the candidate ACL allows.
const std::string kHoldOffer =
    "v=0\r\no=- 1 2 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\n"
    "m=audio 6100 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendonly\r\n";

// `text` with every `from` replaced by `to` (captures moved onto test-owned addresses).
std::string replaced(std::string text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

// The baresip capture's answer, on loopback addresses the candidate ACL allows.
std::string baresip_answer() {
  return replaced(load("baresip-1.0-ice-dtls-answer.sdp"), "10.98.0.", "127.0.0.");
}

class CallFlow : public test::FlowFixture {
 protected:
  CallFlow() : FlowFixture(kConfig) {}

  // The trunk calls phone 1002 (registered from 127.0.0.3:5064). Returns A's leg.
  LegId trunk_calls_phone() {
    register_phone("1002", "127.0.0.3", 5064);
    const LegId a = sip_.incoming();
    router_.on_invite(
        a, invite_request("1002", load("synthetic/pbx-offer.sdp"), source("127.0.0.1", 5080)));
    return a;
  }
};

TEST_F(CallFlow, PhoneToTrunkRingsAnswersAndHangsUp) {
  const LegId a = phone_invite("5555", load("baresip-1.0-ice-dtls-offer.sdp"));
  // The baresip capture's candidates are on 10.98.0.0/16, which this ACL blocks: 488.
  ASSERT_EQ(sip_.last(Sent::respond, a)->status, 488);
  EXPECT_EQ(router_.stats().sdp_rejections.at("candidates-blocked"), 1U);

  const std::string offer =
      replaced(load("baresip-1.0-ice-dtls-offer.sdp"), "10.98.0.2", "127.0.0.2");
  const LegId a2 = phone_invite("5555", offer);
  const LegId b = sip_.last_invite();
  ASSERT_NE(b, 0U);
  EXPECT_EQ(sip_.invites[b].request_uri, "sip:5555@127.0.0.1:5080;transport=udp");
  EXPECT_EQ(sip_.invites[b].max_forwards, 69U);
  EXPECT_NE(sip_.invites[b].sdp.find("RTP/AVP"), std::string::npos);
  EXPECT_EQ(sip_.invites[b].sdp.find("a=candidate"), std::string::npos) << "no ICE toward a trunk";
  EXPECT_EQ(call_of(b).state(), CallState::calling);
  EXPECT_EQ(call_of(b).a().media_state(), MediaState::waiting_ice);
  // In-dialog requests toward the phone go where its INVITE came from, not to its Contact.
  ASSERT_TRUE(sip_.vias.count(a2));
  EXPECT_EQ(sip_.vias[a2].address.port, 5062);

  router_.on_invite_response(b, response(180));
  EXPECT_EQ(sip_.last(Sent::respond, a2)->status, 180);
  EXPECT_EQ(call_of(b).a().state(), LegState::early);

  router_.on_invite_response(b, response(200, load("synthetic/pbx-offer.sdp")));
  const Sent* ok = sip_.last(Sent::respond, a2);
  ASSERT_EQ(ok->status, 200);
  EXPECT_NE(ok->sdp.find("a=ice-lite"), std::string::npos);
  EXPECT_NE(ok->sdp.find("UDP/TLS/RTP/SAVPF"), std::string::npos);
  EXPECT_NE(ok->sdp.find("a=setup:active"), std::string::npos);
  EXPECT_EQ(call_of(b).state(), CallState::connected);
  EXPECT_EQ(sip_.armed_timers(), 1U) << "the calling phone has ice-timeout to pass ICE";

  router_.on_media_event({1, Side::a, MediaEventKind::ice_connected, "pair"});
  router_.on_media_event({1, Side::a, MediaEventKind::secure_media_up, "SRTP_AES128_CM_SHA1_80"});
  EXPECT_EQ(call_of(b).a().media_state(), MediaState::secure_up);
  EXPECT_EQ(sip_.armed_timers(), 0U) << "ICE and DTLS passed: no deadline";

  router_.on_bye(a2);
  const Sent* bye = sip_.last(Sent::bye, b);
  ASSERT_NE(bye, nullptr);
  EXPECT_EQ(bye->reason, "BYE from the caller");
  EXPECT_EQ(call_of(b).state(), CallState::ending);
  EXPECT_EQ(media_.destroyed.size(), 1U) << "media is released when the call ends";
  both_terminated(a2, b);
  EXPECT_EQ(router_.stats().calls_answered, 1U);
}

TEST_F(CallFlow, TrunkToPhoneWaitsForIceAndDtlsBeforeAnswering) {
  const LegId a = trunk_calls_phone();
  const LegId b = sip_.last_invite();
  ASSERT_NE(b, 0U);
  EXPECT_EQ(sip_.invites[b].request_uri, "sip:1002@127.0.0.3:5064;transport=udp");
  EXPECT_NE(sip_.invites[b].sdp.find("UDP/TLS/RTP/SAVPF"), std::string::npos);
  EXPECT_NE(sip_.invites[b].sdp.find("a=setup:actpass"), std::string::npos);
  EXPECT_NE(sip_.invites[b].sdp.find("a=ice-lite"), std::string::npos);
  ASSERT_TRUE(sip_.invites[b].via);
  EXPECT_EQ(sip_.invites[b].via->to_string(), "127.0.0.3:5064/udp") << "the registration's source";

  const std::string answer = baresip_answer();
  router_.on_invite_response(b, response(200, answer));
  // The phone answered, but ICE has not passed: the trunk hears ringback, no 200 yet.
  EXPECT_EQ(sip_.last(Sent::respond, a)->status, 180);
  EXPECT_EQ(call_of(b).state(), CallState::answering);
  router_.on_media_event({1, Side::b, MediaEventKind::ice_connected, "pair"});
  EXPECT_EQ(sip_.last(Sent::respond, a)->status, 180) << "DTLS still running";
  EXPECT_EQ(call_of(b).b().media_state(), MediaState::ice_up);
  router_.on_media_event({1, Side::b, MediaEventKind::secure_media_up, "AEAD_AES_128_GCM"});
  const Sent* ok = sip_.last(Sent::respond, a);
  ASSERT_EQ(ok->status, 200);
  EXPECT_NE(ok->sdp.find("RTP/AVP"), std::string::npos);
  EXPECT_EQ(call_of(b).state(), CallState::connected);

  router_.on_bye(b);
  ASSERT_NE(sip_.last(Sent::bye, a), nullptr);
  EXPECT_EQ(sip_.last(Sent::bye, a)->reason, "BYE from the callee");
  both_terminated(a, b);
}

TEST_F(CallFlow, EarlyMediaIsPassedBackRewritten) {
  const LegId a = phone_invite("5555", kHoldOffer);
  const LegId b = sip_.last_invite();
  router_.on_invite_response(b, response(183, load("synthetic/pbx-offer.sdp")));
  const Sent* early = sip_.last(Sent::respond, a);
  ASSERT_EQ(early->status, 183);
  EXPECT_NE(early->sdp.find("m=audio 2000"), std::string::npos) << early->sdp;
  EXPECT_EQ(early->sdp.find("192.168.101.10"), std::string::npos) << "the PBX address is hidden";
  router_.on_cancel(a);
  EXPECT_NE(sip_.last(Sent::cancel, b), nullptr);
  router_.on_invite_response(b, response(487));
  router_.on_terminated(b);
}

TEST_F(CallFlow, CancelBeforeAnswerCancelsTheCallee) {
  const LegId a = phone_invite("5555", kHoldOffer);
  const LegId b = sip_.last_invite();
  router_.on_invite_response(b, response(180));
  router_.on_cancel(a);
  EXPECT_NE(sip_.last(Sent::cancel, b), nullptr);
  EXPECT_EQ(router_.active_calls(), 1U) << "B's dialog is still closing";
  router_.on_terminated(b);
}

TEST_F(CallFlow, FinalErrorsArePassedBack) {
  for (const int status : {486, 404, 480, 408, 302}) {
    const LegId a = phone_invite("5555", kHoldOffer);
    const LegId b = sip_.last_invite();
    router_.on_invite_response(b, response(status));
    const Sent* r = sip_.last(Sent::respond, a);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->status, status == 302 ? 480 : status) << "B answered " << status;
    both_terminated(a, b);
  }
}

TEST_F(CallFlow, TrunkFailsOverToItsNextAddressAndAnswersItsChallenge) {
  const LegId a = phone_invite("95555", kHoldOffer);
  const LegId b1 = sip_.last_invite();
  EXPECT_EQ(sip_.invites[b1].request_uri, "sip:95555@127.0.0.5:5060;transport=udp");
  router_.on_invite_response(b1, response(503));
  const LegId b2 = sip_.last_invite();
  ASSERT_NE(b2, b1);
  EXPECT_FALSE(sip_.live.count(b1)) << "the failed attempt's handle is released";
  EXPECT_EQ(sip_.invites[b2].request_uri, "sip:95555@127.0.0.6:5060;transport=udp");
  router_.on_invite_response(b2, response(407, {}, "\"carrier\""));
  const Sent* auth = sip_.last(Sent::authenticate, b2);
  ASSERT_NE(auth, nullptr);
  EXPECT_EQ(auth->extra, "Digest:\"carrier\":acct:acctsecret");
  // A second challenge means the credentials were refused: 403 to the caller.
  router_.on_invite_response(b2, response(407, {}, "\"carrier\""));
  EXPECT_EQ(sip_.last(Sent::respond, a)->status, 403);
  both_terminated(a, b2);
}

TEST_F(CallFlow, LastTrunkAddress503IsPassedBack) {
  const LegId a = phone_invite("5555", kHoldOffer);
  const LegId b = sip_.last_invite();
  router_.on_invite_response(b, response(503));
  EXPECT_EQ(sip_.last(Sent::respond, a)->status, 503);
  both_terminated(a, b);
}

TEST_F(CallFlow, StrangersAndUnknownTargetsAreRefusedWithoutState) {
  const LegId stranger = sip_.incoming();
  router_.on_invite(stranger, invite_request("5555", kHoldOffer, source("192.0.2.7", 5060)));
  EXPECT_EQ(sip_.last(Sent::respond, stranger)->status, 403);
  EXPECT_EQ((router_.stats().invites_rejected.at({403, "acl"})), 1U);

  const LegId to_nobody = sip_.incoming();
  router_.on_invite(to_nobody, invite_request("7777", kHoldOffer, source("127.0.0.1", 5080)));
  EXPECT_EQ(sip_.last(Sent::respond, to_nobody)->status, 404) << "from the trunk, not a user";

  const LegId unregistered = sip_.incoming();
  router_.on_invite(unregistered, invite_request("1002", kHoldOffer, source("127.0.0.1", 5080)));
  EXPECT_EQ(sip_.last(Sent::respond, unregistered)->status, 480);

  auto looped = invite_request("1002", kHoldOffer, source("127.0.0.1", 5080));
  looped.max_forwards = 0;
  const LegId loop = sip_.incoming();
  router_.on_invite(loop, looped);
  EXPECT_EQ(sip_.last(Sent::respond, loop)->status, 483);

  auto not_sdp = invite_request("5555", "hello", source("127.0.0.1", 5080));
  register_phone("5555", "127.0.0.3", 5064);  // not a configured user: still 404 from a trunk
  not_sdp.request_user = "1001";
  register_phone("1001", "127.0.0.3", 5064);
  not_sdp.content_type = "text/plain";
  const LegId text = sip_.incoming();
  router_.on_invite(text, not_sdp);
  EXPECT_EQ(sip_.last(Sent::respond, text)->status, 415);
  EXPECT_EQ(sip_.last(Sent::respond, text)->extra, "application/sdp");
  EXPECT_EQ(media_.setups.size(), 0U) << "no media allocated for refused requests";
}

TEST_F(CallFlow, PortsExhaustedIs503) {
  media_.exhausted = true;
  const LegId a = phone_invite("5555", kHoldOffer);
  EXPECT_EQ(sip_.last(Sent::respond, a)->status, 503);
}

TEST_F(CallFlow, CalledPhoneThatNeverPassesIceFailsTheCallAtTheDeadline) {
  const LegId a = trunk_calls_phone();
  const LegId b = sip_.last_invite();
  const std::string answer = baresip_answer();
  router_.on_invite_response(b, response(200, answer));
  ASSERT_EQ(sip_.fire_timers(), 1U);
  EXPECT_EQ(sip_.last(Sent::respond, a)->status, 480);
  EXPECT_EQ(sip_.last(Sent::respond, a)->phrase, "ICE failed");
  EXPECT_NE(sip_.last(Sent::bye, b), nullptr);
  both_terminated(a, b);
}

TEST_F(CallFlow, DtlsFailureEndsBothLegs) {
  const LegId a = phone_invite("5555", kHoldOffer);
  const LegId b = sip_.last_invite();
  router_.on_invite_response(b, response(200, load("synthetic/pbx-offer.sdp")));
  router_.on_media_event({1, Side::a, MediaEventKind::secure_media_failed, "fingerprint"});
  EXPECT_EQ(sip_.last(Sent::bye, a)->reason, "DTLS-SRTP failed");
  EXPECT_EQ(sip_.last(Sent::bye, b)->reason, "DTLS-SRTP failed");
  both_terminated(a, b);
}

TEST_F(CallFlow, PhoneRefusingDtlsIsOfferedPlainRtp) {
  const LegId a = trunk_calls_phone();
  const LegId b1 = sip_.last_invite();
  router_.on_invite_response(b1, response(488));
  const LegId b2 = sip_.last_invite();
  ASSERT_NE(b2, b1);
  EXPECT_NE(sip_.invites[b2].sdp.find(" RTP/AVP "), std::string::npos) << sip_.invites[b2].sdp;
  EXPECT_EQ(sip_.invites[b2].sdp.find("UDP/TLS"), std::string::npos);
  router_.on_invite_response(b2, response(486));
  EXPECT_EQ(sip_.last(Sent::respond, a)->status, 486);
  both_terminated(a, b2);
}

TEST_F(CallFlow, HoldAndResumeByReinviteAndUpdate) {
  std::string talking = kHoldOffer;
  talking.replace(talking.find("a=sendonly"), 10, "a=sendrecv");
  const LegId a = phone_invite("5555", talking);
  const LegId b = sip_.last_invite();
  router_.on_invite_response(b, response(200, load("synthetic/pbx-offer.sdp")));
  ASSERT_EQ(sip_.last(Sent::respond, a)->status, 200);
  router_.on_media_event({1, Side::a, MediaEventKind::ice_connected, "pair"});

  InboundRequest hold;
  hold.body = kHoldOffer;
  router_.on_reinvite(a, hold);
  const Sent* fwd = sip_.last(Sent::reinvite, b);
  ASSERT_NE(fwd, nullptr);
  EXPECT_NE(fwd->sdp.find("a=sendonly"), std::string::npos);
  // A second offer while the first is open: 491 (RFC 3261 §14.2).
  InboundRequest again = hold;
  router_.on_update(a, 7, again);
  EXPECT_EQ(sip_.last(Sent::respond_kept, a)->status, 491);
  std::string held = load("synthetic/pbx-offer.sdp");
  held.replace(held.find("a=sendrecv"), 10, "a=recvonly");
  router_.on_invite_response(b, response(200, held));
  const Sent* back = sip_.last(Sent::respond, a);
  ASSERT_EQ(back->status, 200);
  EXPECT_NE(back->sdp.find("a=recvonly"), std::string::npos);

  InboundRequest resume;
  resume.body = kHoldOffer;
  resume.body.replace(resume.body.find("a=sendonly"), 10, "a=sendrecv");
  router_.on_update(a, 8, resume);
  ASSERT_NE(sip_.last(Sent::update, b), nullptr);
  router_.on_update_response(b, response(200, load("synthetic/pbx-offer.sdp")));
  const Sent* upd = sip_.last(Sent::respond_kept, a);
  ASSERT_EQ(upd->request, 8U);
  EXPECT_EQ(upd->status, 200);
  EXPECT_NE(upd->sdp.find("a=sendrecv"), std::string::npos);

  router_.on_bye(b);
  both_terminated(a, b);
}

TEST_F(CallFlow, PhoneOnTheTrunksHostIsAPhone) {
  // Same IP as trunk pbx (127.0.0.1:5080), another port: a phone, so it is challenged.
  const LegId phone = sip_.incoming();
  router_.on_invite(phone, invite_request("5555", kHoldOffer, source("127.0.0.1", 5062)));
  EXPECT_EQ(sip_.last(Sent::respond, phone)->status, 407);
  // The trunk's own port: the trunk (a call to a user that is not registered: 480, no 407).
  const LegId trunk = sip_.incoming();
  router_.on_invite(trunk, invite_request("1002", kHoldOffer, source("127.0.0.1", 5080)));
  EXPECT_EQ(sip_.last(Sent::respond, trunk)->status, 480);
  // Over TCP a trunk connects from any port.
  auto over_tcp = invite_request("1002", kHoldOffer, source("127.0.0.1", 40001));
  over_tcp.source->transport = conf::Transport::tcp;
  const LegId tcp = sip_.incoming();
  router_.on_invite(tcp, over_tcp);
  EXPECT_EQ(sip_.last(Sent::respond, tcp)->status, 480);
  // A trunk's <source> network, any port.
  const LegId net = sip_.incoming();
  router_.on_invite(net, invite_request("1002", kHoldOffer, source("127.0.0.70", 9999)));
  EXPECT_EQ(sip_.last(Sent::respond, net)->status, 480);
}

TEST_F(CallFlow, OfferThatChangesOnlyThePhonesLegIsAnsweredThere) {
  std::string offer = kHoldOffer;
  offer.replace(offer.find("a=sendonly"), 10, "a=sendrecv");
  const LegId a = phone_invite("5555", offer);
  const LegId b = sip_.last_invite();
  router_.on_invite_response(b, response(200, load("synthetic/pbx-offer.sdp")));
  ASSERT_EQ(sip_.last(Sent::respond, a)->status, 200);
  // The phone moves (new address and port after ICE or a network change): nothing changes for
  // the trunk, so the re-INVITE is answered on A and never reaches B.
  InboundRequest moved;
  moved.body = offer;
  moved.body.replace(moved.body.find("6100"), 4, "7100");
  router_.on_reinvite(a, moved);
  EXPECT_EQ(sip_.of(Sent::reinvite, b).size(), 0U);
  const Sent* ok = sip_.last(Sent::respond, a);
  ASSERT_EQ(ok->status, 200);
  EXPECT_NE(ok->sdp.find("a=sendrecv"), std::string::npos);
  const auto& a_remotes = media_.remotes[std::pair<std::uint64_t, Side>(1, Side::a)];
  EXPECT_EQ(a_remotes.back().rtp.front().port, 7100) << "media follows it";
  // The same by UPDATE.
  moved.body.replace(moved.body.find("7100"), 4, "7200");
  router_.on_update(a, 3, moved);
  EXPECT_EQ(sip_.of(Sent::update, b).size(), 0U);
  EXPECT_EQ(sip_.last(Sent::respond_kept, a)->status, 200);
  // Hold changes the trunk's side: forwarded.
  InboundRequest hold;
  hold.body = kHoldOffer;
  router_.on_reinvite(a, hold);
  EXPECT_EQ(sip_.of(Sent::reinvite, b).size(), 1U);
  router_.on_invite_response(b, response(200, load("synthetic/pbx-offer.sdp")));
  router_.on_bye(a);
  both_terminated(a, b);
}

TEST_F(CallFlow, PhoneWithoutIceBehindNatIsAPlainLegAimedAtItsSipSource) {
  // A desk phone behind NAT: plain RTP/AVP, its private address in SDP, SIP from the NAT.
  std::string offer = kHoldOffer;
  offer.replace(offer.find("a=sendonly"), 10, "a=sendrecv");
  offer = replaced(offer, "127.0.0.2", "192.168.1.20");
  const LegId a = phone_invite("5555", offer);
  EXPECT_FALSE(media_.setups[1].a.ice) << "no ICE agent for a phone that does no ICE";
  EXPECT_FALSE(media_.setups[1].a.latching) << "1001's group sets nothing: <media latching>";
  EXPECT_FALSE(media_.setups[1].b.latching) << "a trunk leg";
  const auto& first = media_.remotes[std::pair<std::uint64_t, Side>(1, Side::a)].front();
  EXPECT_FALSE(first.ice);
  EXPECT_EQ(first.rtp.front().address.to_string(), "127.0.0.2")
      << "its SIP source, not 192.168.1.20";
  EXPECT_EQ(first.rtp.front().port, 6100);
  EXPECT_EQ(first.rtcp.front().port, 6101);
  EXPECT_EQ(first.payload_types, std::vector<std::uint8_t>{0});
  const LegId b = sip_.last_invite();
  EXPECT_EQ(call_of(b).a().media_state(), MediaState::plain);
  router_.on_invite_response(b, response(200, load("synthetic/pbx-offer.sdp")));
  const Sent* ok = sip_.last(Sent::respond, a);
  ASSERT_EQ(ok->status, 200);
  EXPECT_EQ(ok->sdp.find("a=ice-lite"), std::string::npos) << ok->sdp;
  EXPECT_EQ(ok->sdp.find("a=candidate"), std::string::npos);
  EXPECT_EQ(sip_.armed_timers(), 0U) << "nothing to wait for";
  router_.on_bye(a);
  both_terminated(a, b);
}

TEST_F(CallFlow, CalledPhoneAnsweringWithoutIceIsConnectedAtOnce) {
  const LegId a = trunk_calls_phone();
  const LegId b1 = sip_.last_invite();
  router_.on_invite_response(b1, response(488));  // no DTLS-SRTP: offered RTP/AVP
  const LegId b = sip_.last_invite();
  std::string answer = kHoldOffer;
  answer.replace(answer.find("a=sendonly"), 10, "a=sendrecv");
  router_.on_invite_response(b, response(200, answer));
  EXPECT_EQ(call_of(b).b().media_state(), MediaState::plain);
  EXPECT_EQ(sip_.last(Sent::respond, a)->status, 200) << "no ringback while waiting for ICE";
  EXPECT_EQ(media_.setups[1].b.latching, std::optional<bool>(false)) << "1002's group: desk";
  EXPECT_EQ(call_of(b).state(), CallState::connected);
  router_.on_bye(a);
  both_terminated(a, b);
}

TEST_F(CallFlow, ShutdownEndsEveryCall) {
  const LegId a = phone_invite("5555", kHoldOffer);
  const LegId b = sip_.last_invite();
  router_.on_invite_response(b, response(180));
  router_.end_all("icegate shutting down");
  EXPECT_EQ(sip_.last(Sent::respond, a)->status, 480);
  EXPECT_EQ(sip_.last(Sent::respond, a)->reason, "icegate shutting down");
  EXPECT_NE(sip_.last(Sent::cancel, b), nullptr);
  both_terminated(a, b);
}

TEST(CallStates, TransitionTables) {
  EXPECT_TRUE(legal(LegState::idle, LegState::inviting));
  EXPECT_FALSE(legal(LegState::confirmed, LegState::early));
  EXPECT_FALSE(legal(LegState::terminated, LegState::confirmed));
  EXPECT_TRUE(legal(LegState::confirmed, LegState::terminated));
  EXPECT_TRUE(legal(MediaState::waiting_ice, MediaState::ice_up));
  EXPECT_FALSE(legal(MediaState::waiting_ice, MediaState::secure_up));
  EXPECT_TRUE(legal(CallState::calling, CallState::answering));
  EXPECT_FALSE(legal(CallState::connected, CallState::answering));
  EXPECT_FALSE(legal(CallState::ending, CallState::ending));
}

}  // namespace
}  // namespace icegate::sip

namespace icegate::sip {
namespace {

// Issue 13: a phone's INVITE credentials cannot be used again, from elsewhere or toward another
// number, and password guessing bans its source.
TEST_F(CallFlow, InviteCredentialsCannotBeReplayedAndGuessingIsBanned) {
  const Source phone = source("127.0.0.2", 5062), other = source("127.0.0.9", 5062);
  auto req = invite_request("5555", kHoldOffer, phone);
  const LegId first = sip_.incoming();
  router_.on_invite(first, req);
  const std::string nonce = param(sip_.last(Sent::respond, first)->extra, "nonce");
  req.proxy_authorization =
      test::client_params("1001", "icegate", "1001secret", nonce, "INVITE", "sip:5555@127.0.0.1");
  const LegId a = sip_.incoming();
  router_.on_invite(a, req);
  const LegId b = sip_.last_invite();
  ASSERT_NE(b, 0U) << "the honest INVITE is routed to the trunk";

  const auto answer_to = [&](InboundRequest r) {
    const LegId leg = sip_.incoming();
    router_.on_invite(leg, r);
    return *sip_.last(Sent::respond, leg);
  };
  auto replay = req;
  replay.call_id = "replayed";
  replay.source = other;
  auto r = answer_to(replay);
  EXPECT_EQ(r.status, 407);
  EXPECT_NE(r.extra.find("stale=true"), std::string::npos) << "another address: " << r.extra;
  replay.source = phone;
  r = answer_to(replay);
  EXPECT_EQ(r.status, 407) << "one INVITE per nonce";
  EXPECT_NE(r.extra.find("stale=true"), std::string::npos);
  replay.request_user = "6666";
  replay.request_uri = "sip:6666@127.0.0.1";
  EXPECT_EQ(answer_to(replay).status, 400) << "the digest uri names 5555";
  EXPECT_EQ(router_.stats().nonces_refused.at("invalid"), 1U);
  EXPECT_EQ(router_.stats().nonces_refused.at("replayed"), 1U);
  EXPECT_EQ(sip_.last_invite(), b) << "no replay reached routing";

  // Ten wrong passwords from .9 (the default auth-failures) ban it; the phone is not affected.
  const auto now = flood::Clock::now();
  for (int i = 0; i < 10; ++i) {
    auto guess = invite_request("5555", kHoldOffer, other);
    const LegId g = sip_.incoming();
    router_.on_invite(g, guess);
    guess.proxy_authorization = test::client_params(
        "1001", "icegate", "guess" + std::to_string(i),
        param(sip_.last(Sent::respond, g)->extra, "nonce"), "INVITE", "sip:5555@127.0.0.1");
    EXPECT_EQ(answer_to(guess).status, 407);
  }
  EXPECT_EQ(router_.stats().sources_banned.at("auth"), 1U);
  EXPECT_EQ(router_.guard().admit(other.address.address, now).action,
            flood::Admission::Action::drop);
  EXPECT_EQ(router_.guard().admit(phone.address.address, now).action,
            flood::Admission::Action::pass);
  // The trunk is trusted: never limited, whatever it sends.
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(router_.guard().admit(*acl::Address::parse("127.0.0.1"), now).action,
              flood::Admission::Action::pass);
  }

  router_.on_invite_response(b, response(180));
  router_.on_cancel(a);
  router_.on_invite_response(b, response(487));
  router_.on_terminated(b);
}

// Issue 11 item 4: a browser offers telephone-event 126 (and 110 at 48 kHz), the trunk answers
// with its own 101. The media side is told, per leg, the clock of every payload type that
// arrives and which types leave under another number: 101 -> 126 toward the browser, 126 -> 101
// toward the trunk.
TEST_F(CallFlow, PayloadTypesAreMappedBetweenABrowserAndATrunk) {
  const std::string offer = replaced(load("chromium-156-offer.sdp"), "10.97.0.2", "127.0.0.2");
  const LegId a = phone_invite("5555", offer);
  const LegId b = sip_.last_invite();
  ASSERT_NE(b, 0U);
  ASSERT_TRUE(call_of(b).media);
  const std::uint64_t id = call_of(b).media->id();
  const std::string answer =
      "v=0\r\no=pbx 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
      "m=audio 24618 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
      "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n";
  router_.on_invite_response(b, response(200, answer));
  ASSERT_EQ(sip_.last(Sent::respond, a)->status, 200);

  const auto& ta = media_.payload_types[{id, Side::a}];
  const auto& tb = media_.payload_types[{id, Side::b}];
  using Pair = std::pair<std::uint8_t, std::uint8_t>;
  EXPECT_EQ(ta.rewrite, (std::vector<Pair>{{101, 126}}));
  EXPECT_EQ(tb.rewrite, (std::vector<Pair>{{126, 101}}));
  // What arrives from the browser: opus at 48 kHz first (its main codec), events marked.
  ASSERT_FALSE(ta.formats.empty());
  EXPECT_EQ(ta.formats.front(), (PayloadTypes::Format{111, 48000, false}));
  const auto has = [](const PayloadTypes& t, PayloadTypes::Format f) {
    return std::find(t.formats.begin(), t.formats.end(), f) != t.formats.end();
  };
  EXPECT_TRUE(has(ta, {126, 8000, true}));
  EXPECT_TRUE(has(ta, {110, 48000, true}));
  EXPECT_TRUE(has(ta, {9, 8000, false})) << "G722 counts at 8000 (RFC 3551 §4.5.2)";
  // From the trunk: PCMU first, its 101 an event.
  ASSERT_FALSE(tb.formats.empty());
  EXPECT_EQ(tb.formats.front(), (PayloadTypes::Format{0, 8000, false}));
  EXPECT_TRUE(has(tb, {101, 8000, true}));

  router_.on_bye(a);
  both_terminated(a, b);
}

}  // namespace
}  // namespace icegate::sip
