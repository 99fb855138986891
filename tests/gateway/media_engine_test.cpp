// MediaEngine's key handling: the DTLS certificate (generated, rotated on reload, kept by running
// calls) and the SDES offer/answer bookkeeping behind sip::MediaPort.
#include <gtest/gtest.h>

#include <string>

#include "gateway/daemon/media_engine.hpp"

namespace icegate::gateway {
namespace {

conf::Media media_config(std::uint16_t first_port) {
  conf::Media m;
  m.address = acl::Address::parse("127.0.0.1").value();
  m.rtp_min = first_port;
  m.rtp_max = static_cast<std::uint16_t>(first_port + 40);
  m.workers = 1;
  return m;
}

sip::MediaCall new_call(MediaEngine& e) {
  sip::MediaCallSetup s;
  s.label = "t";
  s.a = {true, true, {}, true, {}, nullptr};
  auto c = e.create_call(s);
  EXPECT_TRUE(c);
  return c ? *c : sip::MediaCall{};
}

TEST(MediaEngine, CertificateRotatesOnReloadAndCallsKeepTheirs) {
  MediaEngine e(media_config(45000), conf::Dtls{});
  const auto first = new_call(e);
  EXPECT_TRUE(first.fingerprint.starts_with("sha-256 ")) << first.fingerprint;
  EXPECT_EQ(first.fingerprint, e.certificate().sdp_fingerprint());
  EXPECT_EQ(new_call(e).fingerprint, first.fingerprint);  // reused across calls
  e.reload(media_config(45000), conf::Dtls{});
  const auto after = new_call(e);
  EXPECT_NE(after.fingerprint, first.fingerprint);
  EXPECT_EQ(after.fingerprint, e.certificate().sdp_fingerprint());
}

TEST(MediaEngine, UnreadableCertificateFilesStopTheStart) {
  conf::Dtls d;
  d.certificate_file = "/nonexistent/cert.pem";
  d.private_key_file = "/nonexistent/key.pem";
  try {
    MediaEngine e(media_config(45100), d);
    FAIL() << "must throw";
  } catch (const std::runtime_error& err) {
    EXPECT_NE(std::string(err.what()).find("DTLS certificate"), std::string::npos) << err.what();
  }
}

TEST(MediaEngine, SdesOfferThenAnswerByTag) {
  MediaEngine e(media_config(45200), conf::Dtls{});
  const auto c = new_call(e);
  const auto lines = e.sdes_offer(c.id, sip::Side::b);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_TRUE(lines[0].starts_with("1 AES_CM_128_HMAC_SHA1_80 inline:")) << lines[0];
  EXPECT_TRUE(lines[1].starts_with("2 AES_CM_128_HMAC_SHA1_32 inline:")) << lines[1];
  EXPECT_NE(e.sdes_offer(c.id, sip::Side::b)[0], lines[0]);  // fresh keys each time
}

TEST(MediaEngine, SdesAnswerPicksTheFirstUsableLineAndKeepsItOnReoffer) {
  MediaEngine e(media_config(45300), conf::Dtls{});
  const auto c = new_call(e);
  const std::vector<std::string> offered = {
      "1 F8_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz",  // unsupported
      "2 AES_CM_128_HMAC_SHA1_32 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",
      "3 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"};
  auto choice = e.sdes_answer(c.id, sip::Side::a, offered);
  ASSERT_TRUE(choice) << choice.error();
  EXPECT_EQ(choice->remote, offered[1]);
  EXPECT_TRUE(choice->local.starts_with("2 AES_CM_128_HMAC_SHA1_32 inline:")) << choice->local;
  EXPECT_NE(choice->local, offered[1]);
  sip::RemoteMedia r;
  r.rtp.push_back({acl::Address::parse("127.0.0.1").value(), 45399});
  r.sdes = *choice;
  e.set_remote(c.id, sip::Side::a, r);
  // A re-INVITE with the same line keeps the keys (no re-keying mid-call).
  auto again = e.sdes_answer(c.id, sip::Side::a, {offered[1]});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->local, choice->local);
}

TEST(MediaEngine, SdesAnswerWithoutUsableLineSaysWhy) {
  MediaEngine e(media_config(45400), conf::Dtls{});
  const auto c = new_call(e);
  auto choice = e.sdes_answer(c.id, sip::Side::a, {"1 F8_128_HMAC_SHA1_80 inline:abcd"});
  ASSERT_FALSE(choice);
  EXPECT_NE(choice.error().find("no usable a=crypto line"), std::string::npos) << choice.error();
  EXPECT_FALSE(e.sdes_answer(c.id, sip::Side::a, {}));
}

}  // namespace
}  // namespace icegate::gateway
