// Which keys a party's SDP asks for (DTLS-SRTP, SDES, none), icegate's DTLS role, and the key
// attributes icegate puts into the SDP it sends to each leg.
#include <gtest/gtest.h>

#include <string>

#include "sip/call_sdp.hpp"

#include "sdp_test_support.hpp"

namespace icegate::sip {
namespace {

using sdp::Setup;

sdp::Description parse(const std::string& text) {
  auto d = sdp::parse(text);
  EXPECT_TRUE(d) << text;
  return d ? *d : sdp::Description{};
}

std::string audio(const std::string& proto, const std::string& attributes) {
  return "v=0\r\no=- 1 1 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\n"
         "m=audio 4000 " +
         proto + " 0\r\na=rtpmap:0 PCMU/8000\r\n" + attributes;
}

const std::string kFp =
    "sha-256 67:04:4D:84:86:9B:7C:D3:B1:52:57:37:A2:11:10:D0:56:71:5E:39:FF:74:D2:8B:AD:B4:45:E9:"
    "32:69:8C:9F";

TEST(Keying, CapturedSoftphonesAskForDtls) {
  for (const char* name : {"baresip-1.0-ice-dtls-offer.sdp", "linphone-5.1-ice-dtls-offer.sdp",
                           "chromium-156-offer.sdp"}) {
    auto k = keying_of(sdp::test::load(name));
    ASSERT_TRUE(k) << name << ": " << k.error();
    EXPECT_EQ(k->kind, Keying::Kind::dtls) << name;
    EXPECT_FALSE(k->fingerprints.empty()) << name;
    EXPECT_EQ(k->setup, Setup::actpass) << name;
    EXPECT_TRUE(k->proto.starts_with("UDP/TLS/RTP/SAVP")) << name;
  }
}

TEST(Keying, SessionLevelFingerprintOfBaresip) {
  // baresip puts a=fingerprint and a=setup at session level (testdata README).
  auto k = keying_of(sdp::test::load("baresip-1.0-ice-dtls-offer.sdp"));
  ASSERT_TRUE(k);
  ASSERT_EQ(k->fingerprints.size(), 1u);
  EXPECT_EQ(k->fingerprints[0].substr(0, 8), "SHA-256 ");
}

TEST(Keying, PlainRtpIgnoresStrayKeyAttributes) {
  auto k = keying_of(parse(audio("RTP/AVP", "a=fingerprint:" + kFp +
                                                "\r\na=crypto:1 "
                                                "AES_CM_128_HMAC_SHA1_80 inline:abc\r\n")));
  ASSERT_TRUE(k);
  EXPECT_EQ(k->kind, Keying::Kind::none);
  EXPECT_TRUE(k->crypto.empty());
  EXPECT_TRUE(k->fingerprints.empty());
}

TEST(Keying, SdesLinesInOrderWithSessionParameters) {
  auto k = keying_of(parse(audio("RTP/SAVP",
                                 "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:KEY2|2^20 WSH=64\r\n"
                                 "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:KEY1\r\n")));
  ASSERT_TRUE(k);
  EXPECT_EQ(k->kind, Keying::Kind::sdes);
  ASSERT_EQ(k->crypto.size(), 2u);
  EXPECT_EQ(k->crypto[0], "2 AES_CM_128_HMAC_SHA1_32 inline:KEY2|2^20 WSH=64");
  EXPECT_EQ(k->crypto[1], "1 AES_CM_128_HMAC_SHA1_80 inline:KEY1");
}

TEST(Keying, LegacyWebRtcSavpfWithFingerprintIsDtls) {
  auto k = keying_of(parse(audio("RTP/SAVPF", "a=fingerprint:" + kFp + "\r\na=setup:actpass\r\n")));
  ASSERT_TRUE(k);
  EXPECT_EQ(k->kind, Keying::Kind::dtls);
}

TEST(Keying, SecureProfileWithoutKeysIsAnError) {
  auto dtls = keying_of(parse(audio("UDP/TLS/RTP/SAVPF", "a=setup:actpass\r\n")));
  ASSERT_FALSE(dtls);
  EXPECT_NE(dtls.error().find("a=fingerprint"), std::string::npos) << dtls.error();
  auto sdes = keying_of(parse(audio("RTP/SAVP", "")));
  ASSERT_FALSE(sdes);
  EXPECT_NE(sdes.error().find("no keys"), std::string::npos) << sdes.error();
}

TEST(Keying, DtlsRoleWhenAnswering) {
  // RFC 5763 §5: answer actpass with active; RFC 4145 §4: absent means active.
  EXPECT_EQ(dtls_client_answering(Setup::actpass).value(), true);
  EXPECT_EQ(dtls_client_answering(Setup::passive).value(), true);
  EXPECT_EQ(dtls_client_answering(Setup::active).value(), false);
  EXPECT_EQ(dtls_client_answering(std::nullopt).value(), false);
  EXPECT_FALSE(dtls_client_answering(Setup::holdconn));
}

TEST(Keying, DtlsRoleAfterAnswer) {
  EXPECT_FALSE(dtls_client_after_answer(Setup::active));
  EXPECT_FALSE(dtls_client_after_answer(std::nullopt));
  EXPECT_TRUE(dtls_client_after_answer(Setup::passive));
}

MediaCall call_with_ports() {
  MediaCall c;
  c.id = 7;
  c.a.ports.rtp = 30000;
  c.a.ice = {"gwufrag1", "gwpassword0123456789abc"};
  c.b.ports.rtp = 30002;
  c.b.ports.rtcp = 30003;
  c.fingerprint = kFp;
  return c;
}

TEST(Keying, PhoneAnswerCarriesFingerprintSetupAndProto) {
  const auto offer = sdp::test::load("baresip-1.0-ice-dtls-offer.sdp");
  const auto trunk = parse(audio("RTP/AVP", ""));
  PhoneSdpPolicy p;
  p.media_address = acl::Address::parse("192.0.2.1").value();
  p.phone_offer = &offer;
  p.session_id = "7";
  p.proto = "UDP/TLS/RTP/SAVPF";
  p.dtls = sdp::DtlsAttributes{{"sha-256", kFp.substr(8)}, Setup::active};
  auto out = sdp_for_phone(trunk, call_with_ports(), Side::a, p);
  ASSERT_TRUE(out) << out.error();
  EXPECT_NE(out->find("m=audio 30000 UDP/TLS/RTP/SAVPF 0\r\n"), std::string::npos) << *out;
  EXPECT_NE(out->find("a=fingerprint:" + kFp + "\r\n"), std::string::npos) << *out;
  EXPECT_NE(out->find("a=setup:active\r\n"), std::string::npos) << *out;
  EXPECT_EQ(out->find("a=crypto"), std::string::npos) << *out;
}

TEST(Keying, TrunkOfferCarriesCryptoLinesAndNoIceOrDtls) {
  const auto phone = sdp::test::load("baresip-1.0-ice-dtls-offer.sdp");
  TrunkSdpPolicy p;
  p.media_address = acl::Address::parse("192.0.2.1").value();
  p.session_id = "7";
  p.proto = "RTP/SAVP";
  p.crypto = {"1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz",
              "2 AES_CM_128_HMAC_SHA1_32 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"};
  auto out = sdp_for_trunk(phone, call_with_ports(), Side::b, p);
  ASSERT_TRUE(out) << out.error();
  EXPECT_NE(out->find("m=audio 30002 RTP/SAVP "), std::string::npos) << *out;
  EXPECT_NE(out->find("a=crypto:" + p.crypto[0] + "\r\n"), std::string::npos) << *out;
  EXPECT_NE(out->find("a=crypto:" + p.crypto[1] + "\r\n"), std::string::npos) << *out;
  for (const char* gone : {"a=fingerprint", "a=setup", "a=ice-", "a=candidate"}) {
    EXPECT_EQ(out->find(gone), std::string::npos) << gone << " in\n" << *out;
  }
}

TEST(Keying, BadCryptoValueIsRefused) {
  const auto phone = sdp::test::load("baresip-1.0-ice-dtls-offer.sdp");
  TrunkSdpPolicy p;
  p.media_address = acl::Address::parse("192.0.2.1").value();
  p.proto = "RTP/SAVP";
  p.crypto = {"1 AES_CM_128_HMAC_SHA1_80 inline:x\r\na=evil"};
  EXPECT_FALSE(sdp_for_trunk(phone, call_with_ports(), Side::b, p));
}

}  // namespace
}  // namespace icegate::sip

namespace icegate::sip {
namespace {

TEST(PhoneOffer, RtcpMuxWithFallbackPortUntilThePhoneDecides) {
  // RFC 5761 §5.1.3: a=rtcp-mux, plus a=rtcp and component-2 candidates on port + 1.
  const auto trunk = parse(audio("RTP/AVP", ""));
  PhoneSdpPolicy p;
  p.media_address = acl::Address::parse("192.0.2.1").value();
  p.session_id = "7";
  MediaCall c = call_with_ports();
  c.b.ice = c.a.ice;
  auto out = sdp_for_phone(trunk, c, Side::b, p);
  ASSERT_TRUE(out) << out.error();
  EXPECT_NE(out->find("a=rtcp-mux\r\n"), std::string::npos) << *out;
  EXPECT_NE(out->find("a=rtcp:30003\r\n"), std::string::npos) << *out;
  EXPECT_NE(out->find(" 1 udp "), std::string::npos) << *out;
  EXPECT_NE(out->find(" 2 udp "), std::string::npos) << *out;
  EXPECT_NE(out->find("192.0.2.1 30003 typ host"), std::string::npos) << *out;

  p.rtcp_mux = true;  // agreed earlier: a re-offer has one component only
  out = sdp_for_phone(trunk, c, Side::b, p);
  ASSERT_TRUE(out) << out.error();
  EXPECT_EQ(out->find("a=rtcp:"), std::string::npos) << *out;
  EXPECT_EQ(out->find(" 2 udp "), std::string::npos) << *out;

  p.rtcp_mux = false;  // declined earlier: RTCP on its own port, no a=rtcp-mux
  out = sdp_for_phone(trunk, c, Side::b, p);
  ASSERT_TRUE(out) << out.error();
  EXPECT_EQ(out->find("a=rtcp-mux"), std::string::npos) << *out;
  EXPECT_NE(out->find(" 2 udp "), std::string::npos) << *out;
}

TEST(PhoneAnswer, IceMismatchIsRefusedWithTheReason) {
  auto d = parse(audio("RTP/AVP",
                       "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\n"
                       "a=ice-mismatch\r\n"));
  auto r = analyse_remote(d, true, nullptr);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("ice-mismatch"), std::string::npos) << r.error();
}

}  // namespace
}  // namespace icegate::sip
