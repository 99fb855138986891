// Rewriting rules checked as properties on every capture (the golden files show the full output;
// these tests say what must hold whatever else changes), plus policy errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "sip/sdp/rewrite.hpp"

#include "sdp_test_support.hpp"

namespace icegate::sip::sdp {
namespace {

using test::load;

acl::Address ip(const char* text) {
  return acl::Address::parse(text).value();
}

const char* const kCaptures[] = {
    "baresip-1.0-dtls-offer.sdp",      "baresip-1.0-ice-dtls-answer.sdp",
    "baresip-1.0-ice-dtls-offer.sdp",  "chromium-156-offer.sdp",
    "linphone-5.1-ice-dtls-offer.sdp", "synthetic/chromium-bundle-mdns-offer.sdp",
    "synthetic/pbx-offer.sdp",         "synthetic/pbx-answer-baresip.sdp"};

SoftphonePolicy phone_policy(const Description& in) {
  SoftphonePolicy p;
  p.media_address = ip("10.0.50.118");
  p.ports.assign(in.media.size(), 30124);
  p.ice_ufrag = "Ig4uFrag";
  p.ice_pwd = "icegatePwd0123456789abcd";
  p.public_address = ip("203.0.113.7");
  return p;
}

TrunkPolicy trunk_policy(const Description& in) {
  TrunkPolicy p;
  p.media_address = ip("192.168.101.2");
  p.ports.assign(in.media.size(), 40000);
  return p;
}

std::vector<Candidate> candidates_of(const MediaSection& m) {
  return candidates(m);
}

class EveryCapture : public ::testing::TestWithParam<const char*> {};

TEST_P(EveryCapture, TowardSoftphone) {
  const Description in = load(GetParam());
  for (bool mux : {true, false}) {
    auto p = phone_policy(in);
    p.rtcp_mux = mux;
    auto out = rewrite_for_softphone(in, p);
    ASSERT_TRUE(out) << out.error();
    // RFC 8839 §5.3: ice-lite at session level, exactly once.
    EXPECT_EQ(out->attributes_named("ice-lite").size(), 1u);
    EXPECT_EQ(out->line_ending, LineEnding::crlf);
    for (const char* gone :
         {"ice-ufrag", "ice-pwd", "ice-options", "fingerprint", "setup", "crypto"}) {
      EXPECT_FALSE(out->has_attribute(gone)) << gone;
    }
    // RFC 8445 §5.1.4: c= is the default candidate, the srflx when one is offered.
    const acl::Address default_address = p.public_address ? *p.public_address : p.media_address;
    if (out->connection()) {
      EXPECT_EQ(out->connection()->ip(), default_address);
    }
    ASSERT_EQ(out->media.size(), in.media.size());
    for (std::size_t i = 0; i < in.media.size(); ++i) {
      const MediaSection& m = out->media[i];
      const MediaSection& orig = in.media[i];
      EXPECT_EQ(m.m.formats, orig.m.formats);
      if (orig.m.proto.find("RTP/") == std::string::npos) {
        // The gateway terminates DTLS, so it cannot relay an SCTP data channel.
        EXPECT_EQ(m.m.port, 0);
        EXPECT_TRUE(candidates_of(m).empty());
        continue;
      }
      // Codecs pass through with their payload types.
      EXPECT_EQ(m.attributes_named("rtpmap").size(), orig.attributes_named("rtpmap").size());
      EXPECT_EQ(m.attributes_named("fmtp").size(), orig.attributes_named("fmtp").size());
      for (const Attribute* a : orig.attributes_named("rtpmap")) {
        EXPECT_TRUE(std::find(m.attributes.begin(), m.attributes.end(), *a) != m.attributes.end())
            << *a->value;
      }
      const auto conn = m.connection() ? m.connection() : out->connection();
      ASSERT_TRUE(conn);
      EXPECT_EQ(conn->ip(), default_address);
      EXPECT_FALSE(m.has_attribute("rtcp"));
      EXPECT_FALSE(m.has_attribute("end-of-candidates"));
      EXPECT_EQ(m.m.port, 30124);
      EXPECT_EQ(m.m.proto, "RTP/AVP");
      EXPECT_EQ(rtcp_mux(m), mux);
      EXPECT_EQ(ice_ufrag(*out, m), "Ig4uFrag");
      EXPECT_EQ(ice_pwd(*out, m), "icegatePwd0123456789abcd");
      // Only the gateway's candidates: one host and one srflx per component, same ports.
      const auto cands = candidates_of(m);
      ASSERT_EQ(cands.size(), mux ? 2u : 4u);
      for (const auto& c : cands) {
        EXPECT_EQ(c.port, 30124 + c.component - 1);
        if (c.type_kind() == CandidateType::host) {
          EXPECT_EQ(c.ip(), p.media_address);
          EXPECT_EQ(c.priority, candidate_priority(kHostTypePreference, 65535, c.component));
        } else {
          EXPECT_EQ(c.type_kind(), CandidateType::srflx);
          EXPECT_EQ(c.ip(), p.public_address);
          EXPECT_EQ(c.related_address, "10.0.50.118");
          EXPECT_EQ(c.related_port, c.port);
        }
      }
    }
    // The output is valid SDP that round-trips.
    auto again = parse(serialise(*out));
    ASSERT_TRUE(again) << again.error().to_string();
    EXPECT_EQ(*again, *out);
  }
}

TEST_P(EveryCapture, TowardTrunk) {
  const Description in = load(GetParam());
  auto p = trunk_policy(in);
  auto out = rewrite_for_trunk(in, p);
  ASSERT_TRUE(out) << out.error();
  const auto active = trunk_media_sections(in);
  ASSERT_FALSE(active.empty());
  for (const char* gone : {"group", "msid-semantic", "ice-ufrag", "ice-pwd", "ice-options",
                           "ice-lite", "fingerprint", "setup", "extmap-allow-mixed"}) {
    EXPECT_FALSE(out->has_attribute(gone)) << gone;
  }
  for (std::size_t i = 0; i < in.media.size(); ++i) {
    const MediaSection& m = out->media[i];
    const bool is_active = std::find(active.begin(), active.end(), i) != active.end();
    const auto conn = m.connection() ? m.connection() : out->connection();
    ASSERT_TRUE(conn);
    EXPECT_EQ(conn->ip(), p.media_address);
    EXPECT_EQ(m.m.formats, in.media[i].m.formats);
    if (!is_active) {
      EXPECT_EQ(m.m.port, 0);
      EXPECT_TRUE(m.attributes.empty());
      continue;
    }
    EXPECT_EQ(m.m.port, 40000);
    EXPECT_EQ(m.m.proto, "RTP/AVP");
    for (const auto& a : m.attributes) {
      EXPECT_FALSE(is_ice_attribute(a.name)) << a.name;
      for (const char* gone : {"fingerprint", "setup", "crypto", "rtcp", "rtcp-mux", "mid",
                               "extmap", "rtcp-fb", "rtcp-rsize", "ssrc", "msid"}) {
        EXPECT_NE(a.name, gone);
      }
    }
    for (const Attribute* a : in.media[i].attributes_named("rtpmap")) {
      EXPECT_TRUE(std::find(m.attributes.begin(), m.attributes.end(), *a) != m.attributes.end())
          << *a->value;
    }
    EXPECT_EQ(direction(*out, m), direction(in, in.media[i]));
  }
  auto again = parse(serialise(*out));
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *out);
}

INSTANTIATE_TEST_SUITE_P(Sdp, EveryCapture, ::testing::ValuesIn(kCaptures), [](const auto& info) {
  std::string n = info.param;
  for (auto& ch : n) ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  return n;
});

TEST(SdpRewrite, BundleOfferKeepsOnlyTheFirstAudioSectionTowardTrunk) {
  const auto in = load("synthetic/chromium-bundle-mdns-offer.sdp");
  EXPECT_EQ(trunk_media_sections(in), (std::vector<std::size_t>{0}));
  // Without BUNDLE, every RTP section stays; the data channel (not RTP) never does.
  auto unbundled = in;
  unbundled.remove_attributes("group");
  EXPECT_EQ(trunk_media_sections(unbundled), (std::vector<std::size_t>{0, 1}));
  // A section the offerer already disabled stays disabled.
  unbundled.media[0].m.port = 0;
  EXPECT_EQ(trunk_media_sections(unbundled), (std::vector<std::size_t>{1}));
}

TEST(SdpRewrite, TrunkPortsNeededOnlyForActiveSections) {
  const auto in = load("synthetic/chromium-bundle-mdns-offer.sdp");
  TrunkPolicy p;
  p.media_address = ip("192.168.101.2");
  p.ports = {40000};  // sections 1 and 2 are rejected and need no port
  auto out = rewrite_for_trunk(in, p);
  ASSERT_TRUE(out) << out.error();
  EXPECT_EQ(out->media[0].m.port, 40000);
  EXPECT_EQ(out->media[1].m.port, 0);
  p.ports = {};
  EXPECT_FALSE(rewrite_for_trunk(in, p));
  p.ports = {0};
  EXPECT_FALSE(rewrite_for_trunk(in, p));
  p.ports = {65535};  // RTCP would need 65536
  EXPECT_FALSE(rewrite_for_trunk(in, p));
  p.rtcp_mux = true;
  EXPECT_TRUE(rewrite_for_trunk(in, p));
}

TEST(SdpRewrite, NoSrflxWhenPublicAddressEqualsMediaAddress) {
  const auto in = load("synthetic/pbx-offer.sdp");
  auto p = phone_policy(in);
  p.public_address = p.media_address;  // RFC 8445 §5.1.3: redundant
  auto out = rewrite_for_softphone(in, p);
  ASSERT_TRUE(out);
  const auto cands = candidates(out->media[0]);
  ASSERT_EQ(cands.size(), 1u);
  EXPECT_EQ(cands[0].to_string(), "1 1 udp 2130706431 10.0.50.118 30124 typ host");
  p.public_address.reset();
  EXPECT_EQ(candidates(rewrite_for_softphone(in, p)->media[0]).size(), 1u);
}

TEST(SdpRewrite, Ipv6MediaAddress) {
  const auto in = load("synthetic/pbx-offer.sdp");
  auto p = phone_policy(in);
  p.media_address = ip("2001:db8::118");
  p.public_address.reset();
  auto out = rewrite_for_softphone(in, p);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->connection()->to_string(), "IN IP6 2001:db8::118");
  EXPECT_EQ(candidates(out->media[0]).at(0).address, "2001:db8::118");
}

TEST(SdpRewrite, RejectedSectionTowardSoftphoneHasNoCandidates) {
  const auto in = load("synthetic/chromium-bundle-mdns-offer.sdp");
  auto p = phone_policy(in);
  mirror_offer(p, in);
  p.ports = {30124, 0, 0};
  auto out = rewrite_for_softphone(in, p);
  ASSERT_TRUE(out) << out.error();
  EXPECT_EQ(out->media[0].m.port, 30124);
  for (std::size_t i : {1u, 2u}) {
    EXPECT_EQ(out->media[i].m.port, 0);
    EXPECT_TRUE(candidates(out->media[i]).empty());
    EXPECT_FALSE(out->media[i].has_attribute("ice-ufrag"));
    // RFC 5888 §9.1: the mid is echoed even for a rejected section.
    EXPECT_EQ(mid(out->media[i]), std::to_string(i));
  }
  // Only the accepted section is bundled.
  EXPECT_EQ(bundle_group(*out), (std::vector<std::string_view>{"0"}));
}

TEST(SdpRewrite, MirrorOffer) {
  SoftphonePolicy p;
  mirror_offer(p, load("chromium-156-offer.sdp"));
  EXPECT_TRUE(p.rtcp_mux);
  EXPECT_EQ(p.mids, (std::vector<std::string>{"0"}));
  EXPECT_TRUE(p.bundle);
  mirror_offer(p, load("baresip-1.0-ice-dtls-offer.sdp"));
  EXPECT_FALSE(p.rtcp_mux);  // RFC 5761 §5.1.1
  EXPECT_TRUE(p.mids.empty());
  EXPECT_FALSE(p.bundle);
}

TEST(SdpRewrite, OwnDtlsAttributesReplaceTheRemoteOnes) {
  const auto in = load("baresip-1.0-ice-dtls-offer.sdp");  // session-level fingerprint/setup
  auto p = phone_policy(in);
  p.dtls = DtlsAttributes{{"sha-256", "AB:CD"}, Setup::passive};
  auto out = rewrite_for_softphone(in, p);
  ASSERT_TRUE(out) << out.error();
  EXPECT_EQ(fingerprints(*out, out->media[0]), (std::vector<Fingerprint>{{"sha-256", "AB:CD"}}));
  EXPECT_EQ(setup(*out, out->media[0]), Setup::passive);
  EXPECT_FALSE(out->has_attribute("fingerprint"));
}

TEST(SdpRewrite, SoftphonePolicyErrors) {
  const auto in = load("synthetic/pbx-offer.sdp");
  const auto ok = phone_policy(in);
  ASSERT_TRUE(rewrite_for_softphone(in, ok));
  auto p = ok;
  p.ports = {};
  EXPECT_NE(rewrite_for_softphone(in, p).error().find("ports"), std::string::npos);
  p = ok;
  p.ice_ufrag = "abc";  // RFC 8839 §5.4: at least 4
  EXPECT_NE(rewrite_for_softphone(in, p).error().find("ufrag"), std::string::npos);
  p = ok;
  p.ice_pwd = "tooshort";
  EXPECT_NE(rewrite_for_softphone(in, p).error().find("pwd"), std::string::npos);
  p = ok;
  p.ice_pwd = "has space in the password!!";
  EXPECT_FALSE(rewrite_for_softphone(in, p));
  p = ok;
  p.rtcp_mux = false;
  p.ports = {65535};
  EXPECT_NE(rewrite_for_softphone(in, p).error().find("RTCP"), std::string::npos);
  p = ok;
  p.dtls = DtlsAttributes{{"sha-256", "not hex"}, Setup::active};
  EXPECT_NE(rewrite_for_softphone(in, p).error().find("fingerprint"), std::string::npos);
  p = ok;
  p.mids = {"0", "1"};
  EXPECT_FALSE(rewrite_for_softphone(in, p));
}

TEST(SdpRewrite, KeyFieldsAndSdesNeverLeakToTheOtherLeg) {
  auto in = parse(
      "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nk=clear:secret\r\n"
      "m=audio 4000 RTP/SAVP 0\r\nk=clear:secret2\r\n"
      "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n"
      "a=key-mgmt:mikey AQAFgM0XflABAAAAAAAAAAAAAAsAyONQ6gAAAAAAAAAAAAAAAAABAAAA\r\n");
  ASSERT_TRUE(in);
  // No o= given in the policies: the origin keeps its ids but not the other side's address.
  auto phone = rewrite_for_softphone(*in, phone_policy(*in));
  auto trunk = rewrite_for_trunk(*in, trunk_policy(*in));
  ASSERT_TRUE(phone);
  ASSERT_TRUE(trunk);
  for (const auto* out : {&*phone, &*trunk}) {
    const std::string text = serialise(*out);
    EXPECT_EQ(text.find("secret"), std::string::npos) << text;
    EXPECT_EQ(text.find("crypto"), std::string::npos) << text;
    EXPECT_EQ(text.find("mikey"), std::string::npos) << text;
    EXPECT_EQ(text.find("192.0.2.1"), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace icegate::sip::sdp
