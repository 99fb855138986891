// SDP model: round trip on real captures, the structure and accessors the gateway relies on, and
// errors that name the line and the reason.
#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <iterator>
#include <string>

#include "sip/sdp/attributes.hpp"
#include "sip/sdp/description.hpp"

namespace icegate::sip::sdp {
namespace {

std::string read_data(const std::string& name) {
  const std::string path = std::string(ICEGATE_SOURCE_DIR) + "/tests/data/sdp/" + name;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

Description parse_ok(std::string_view text) {
  auto d = parse(text);
  if (!d) ADD_FAILURE() << d.error().to_string();
  return d ? *d : Description{};
}

Description load(const std::string& name) {
  return parse_ok(read_data(name));
}

// ---- round trip ----

class Capture : public ::testing::TestWithParam<const char*> {};

TEST_P(Capture, RoundTripsByteForByte) {
  const std::string text = read_data(GetParam());
  ASSERT_FALSE(text.empty());
  auto d = parse(text);
  ASSERT_TRUE(d) << d.error().to_string();
  EXPECT_EQ(serialise(*d), text);
  // And the serialised form parses to the same model.
  auto again = parse(serialise(*d));
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *d);
}

INSTANTIATE_TEST_SUITE_P(
    Sdp, Capture,
    ::testing::Values("baresip-1.0-dtls-offer.sdp", "baresip-1.0-ice-dtls-answer.sdp",
                      "baresip-1.0-ice-dtls-offer.sdp", "chromium-156-offer.sdp",
                      "linphone-5.1-ice-dtls-offer.sdp", "synthetic/pbx-offer.sdp",
                      "synthetic/pbx-answer-baresip.sdp", "synthetic/pbx-answer-chromium.sdp",
                      "synthetic/chromium-bundle-mdns-offer.sdp"));

TEST(SdpParse, KeepsLineEndingsAndTrailingEmptyLines) {
  const auto lf = load("baresip-1.0-ice-dtls-offer.sdp");
  EXPECT_EQ(lf.line_ending, LineEnding::lf);
  EXPECT_EQ(lf.trailing_empty_lines, 1u);  // baresip ends its body with an empty line
  const auto crlf = load("chromium-156-offer.sdp");
  EXPECT_EQ(crlf.line_ending, LineEnding::crlf);
  EXPECT_EQ(crlf.trailing_empty_lines, 0u);
}

TEST(SdpParse, MixedOrMissingTerminatorsNormaliseToTheFirstLineEnding) {
  const auto d = parse_ok("v=0\r\no=- 1 1 IN IP4 192.0.2.1\ns=-\r\nt=0 0");
  EXPECT_EQ(serialise(d), "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n");
}

TEST(SdpParse, UnknownAttributesAndFieldsAreKeptVerbatim) {
  const std::string text =
      "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=x y\r\ni=info\r\nb=AS:64\r\nt=0 0\r\n"
      "a=x-vendor:  two spaces:and:colons \r\na=flag\r\na=empty:\r\n"
      "m=audio 4000/2 RTP/AVP 0\r\ni=media info\r\nb=TIAS:64000\r\na=weird:\t tab\r\n";
  const auto d = parse_ok(text);
  EXPECT_EQ(serialise(d), text);
  ASSERT_EQ(d.attributes.size(), 3u);
  EXPECT_EQ(d.attributes[0].name, "x-vendor");
  EXPECT_EQ(d.attributes[0].value, "  two spaces:and:colons ");
  EXPECT_EQ(d.attributes[1].value, std::nullopt);
  EXPECT_EQ(d.attributes[2].value, "");
  ASSERT_EQ(d.media.size(), 1u);
  EXPECT_EQ(d.media[0].m.port_count, 2u);
  EXPECT_EQ(d.media[0].fields.size(), 2u);
}

// ---- structure and accessors ----

TEST(SdpParse, BaresipPutsIceAndDtlsAtSessionLevel) {
  const auto d = load("baresip-1.0-ice-dtls-offer.sdp");
  ASSERT_EQ(d.media.size(), 1u);
  const auto& m = d.media[0];
  EXPECT_EQ(m.m.media, "audio");
  EXPECT_EQ(m.m.port, 20062);
  EXPECT_EQ(m.m.proto, "UDP/TLS/RTP/SAVPF");
  EXPECT_EQ(m.m.formats, (std::vector<std::string>{"0", "101"}));
  EXPECT_EQ(m.attribute("ice-ufrag"), nullptr);
  EXPECT_EQ(ice_ufrag(d, m), "6RyjLjJ");
  EXPECT_EQ(ice_pwd(d, m), "DULDXQ5l6Xmrw3ZCJHmSxGRXba0KrPk");
  EXPECT_EQ(setup(d, m), Setup::actpass);
  const auto fps = fingerprints(d, m);
  ASSERT_EQ(fps.size(), 1u);
  EXPECT_EQ(fps[0].hash_function, "SHA-256");
  EXPECT_TRUE(fps[0].value.starts_with("67:04:4D"));
  EXPECT_FALSE(rtcp_mux(m));
  const auto r = rtcp(m);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->port, 20063);
  ASSERT_TRUE(r->connection);
  EXPECT_EQ(r->connection->ip(), acl::Address::parse("10.98.0.2").value());
  EXPECT_EQ(direction(d, m), Direction::sendrecv);
  EXPECT_EQ(m.connection()->address, "10.98.0.2");
  EXPECT_EQ(d.connection()->ip(), acl::Address::parse("10.98.0.2").value());
  const auto rm = rtpmap(m, 101);
  ASSERT_TRUE(rm);
  EXPECT_EQ(rm->encoding, "telephone-event");
  EXPECT_EQ(rm->clock_rate, 8000u);
  EXPECT_EQ(rm->parameters, std::nullopt);
  EXPECT_EQ(fmtp(m, 101), "0-15");
  const auto cands = candidates(m);
  ASSERT_EQ(cands.size(), 2u);
  EXPECT_EQ(cands[1].component, 2u);
  EXPECT_EQ(cands[1].port, 20063);
  EXPECT_EQ(d.origin().session_id, "212201679");
}

TEST(SdpParse, BaresipAnswerSetsActiveRole) {
  const auto d = load("baresip-1.0-ice-dtls-answer.sdp");
  EXPECT_EQ(setup(d, d.media[0]), Setup::active);
  EXPECT_FALSE(ice_lite(d, d.media[0]));
}

TEST(SdpParse, LinphoneMediaLevelDtlsAndWildcardFeedback) {
  const auto d = load("linphone-5.1-ice-dtls-offer.sdp");
  const auto& m = d.media[0];
  EXPECT_EQ(m.m.proto, "UDP/TLS/RTP/SAVP");
  EXPECT_EQ(m.m.formats.front(), "96");
  EXPECT_EQ(ice_ufrag(d, m), "fef4890e");  // session level in this capture
  EXPECT_EQ(d.attribute("setup"), nullptr);
  EXPECT_EQ(setup(d, m), Setup::actpass);  // media level
  EXPECT_EQ(fingerprints(d, m).size(), 1u);
  const auto opus = rtpmap(m, 96);
  ASSERT_TRUE(opus);
  EXPECT_EQ(opus->encoding, "opus");
  EXPECT_EQ(opus->clock_rate, 48000u);
  EXPECT_EQ(opus->parameters, "2");
  // Static payload type 18 has an fmtp but no rtpmap.
  EXPECT_EQ(rtpmap(m, 18), std::nullopt);
  EXPECT_EQ(fmtp(m, 18), "annexb=yes");
  EXPECT_EQ(rtcp_fb(m, 96), (std::vector<std::string_view>{"trr-int 5000", "ccm tmmbr"}));
  EXPECT_EQ(d.attribute("rtcp-xr")->value,
            "rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics");
}

TEST(SdpParse, ChromiumBundleMidAndRtcpMux) {
  const auto d = load("chromium-156-offer.sdp");
  ASSERT_EQ(d.media.size(), 1u);
  const auto& m = d.media[0];
  EXPECT_EQ(bundle_group(d), (std::vector<std::string_view>{"0"}));
  EXPECT_EQ(mid(m), "0");
  EXPECT_TRUE(rtcp_mux(m));
  EXPECT_EQ(ice_ufrag(d, m), "2qsL");
  EXPECT_EQ(ice_options(d, m), (std::vector<std::string_view>{"trickle"}));
  EXPECT_EQ(fingerprints(d, m).at(0).hash_function, "sha-256");
  EXPECT_EQ(rtcp(m)->port, 9);
  EXPECT_TRUE(rtcp(m)->connection->ip()->is_unspecified());
  EXPECT_EQ(rtcp_fb(m, 111), (std::vector<std::string_view>{"transport-cc"}));
  EXPECT_TRUE(rtcp_fb(m, 0).empty());
  EXPECT_EQ(fmtp(m, 63), "111/111");
  EXPECT_EQ(d.attribute("msid-semantic")->value, " WMS 20f60089-32d6-40f0-8629-dd3fe5324daf");
  EXPECT_EQ(d.connection(), std::nullopt);
  const auto cands = candidates(m);
  ASSERT_EQ(cands.size(), 2u);
  EXPECT_EQ(cands[1].transport_kind(), CandidateTransport::tcp);
}

TEST(SdpParse, DirectionMediaLevelOverridesSessionLevel) {
  const auto d = parse_ok(
      "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\na=sendonly\r\n"
      "m=audio 4000 RTP/AVP 0\r\na=inactive\r\nm=audio 4002 RTP/AVP 0\r\n");
  EXPECT_EQ(direction(d, d.media[0]), Direction::inactive);
  EXPECT_EQ(direction(d, d.media[1]), Direction::sendonly);
}

TEST(SdpParse, SdesCrypto) {
  const auto d = parse_ok(
      "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/SAVP 0\r\n"
      "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4 "
      "FEC_ORDER=FEC_SRTP\r\n"
      "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj\r\n"
      "a=crypto:x broken\r\n");
  const auto c = crypto(d.media[0]);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].tag, 1u);
  EXPECT_EQ(c[0].suite, "AES_CM_128_HMAC_SHA1_80");
  EXPECT_EQ(c[0].key_params, "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4");
  EXPECT_EQ(c[0].session_params, (std::vector<std::string>{"FEC_ORDER=FEC_SRTP"}));
  EXPECT_TRUE(c[1].session_params.empty());
}

TEST(SdpParse, ConnectionIpRejectsNamesMulticastAndFamilyMismatch) {
  EXPECT_TRUE(Connection::parse("IN IP4 192.0.2.1")->ip());
  EXPECT_TRUE(Connection::parse("IN IP6 2001:db8::1")->ip());
  EXPECT_FALSE(Connection::parse("IN IP4 pbx.example.com")->ip());
  EXPECT_FALSE(Connection::parse("IN IP4 224.2.1.1/127")->ip());
  EXPECT_FALSE(Connection::parse("IN IP6 192.0.2.1")->ip());
  EXPECT_FALSE(Connection::parse("IN IP4  192.0.2.1"));
}

TEST(SdpParse, SetConnectionRespectsFieldOrder) {
  auto d = parse_ok(
      "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP "
      "0\r\ni=x\r\nb=AS:1\r\na=x\r\n");
  d.media[0].set_connection(Connection::of(acl::Address::parse("2001:db8::7").value()));
  d.set_connection(Connection::of(acl::Address::parse("192.0.2.9").value()));
  EXPECT_EQ(serialise(d),
            "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\n"
            "m=audio 4000 RTP/AVP 0\r\ni=x\r\nc=IN IP6 2001:db8::7\r\nb=AS:1\r\na=x\r\n");
  // The result is valid SDP again.
  EXPECT_TRUE(parse(serialise(d)));
}

// ---- errors ----

struct BadCase {
  const char* name;
  const char* text;
  std::size_t line;
  const char* reason_part;
};

class Malformed : public ::testing::TestWithParam<BadCase> {};

TEST_P(Malformed, NamesLineAndReason) {
  const auto& c = GetParam();
  auto d = parse(c.text);
  ASSERT_FALSE(d) << c.name;
  EXPECT_EQ(d.error().line, c.line) << d.error().to_string();
  EXPECT_NE(d.error().reason.find(c.reason_part), std::string::npos) << d.error().to_string();
  EXPECT_TRUE(d.error().to_string().starts_with("line " + std::to_string(c.line) + ": "));
}

#define HEAD "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n"
INSTANTIATE_TEST_SUITE_P(
    Sdp, Malformed,
    ::testing::Values(
        BadCase{"empty", "", 1, "empty session description"},
        BadCase{"missing v", "o=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n", 1, "expected v="},
        BadCase{"version 1", "v=1\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n", 1, "version"},
        BadCase{"missing o", "v=0\r\ns=-\r\nt=0 0\r\n", 2, "expected o="},
        BadCase{"bad o", "v=0\r\no=- x 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n", 2, "numeric"},
        BadCase{"missing s", "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nt=0 0\r\n", 3, "expected s="},
        BadCase{"missing t", "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nm=audio 1 RTP/AVP 0\r\n", 4,
                "before any t="},
        BadCase{"no t at all", "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n", 3, "missing t="},
        BadCase{"truncated", "v=0\r\n", 1, "truncated"},
        BadCase{"bad m line", HEAD "m=audio RTP/AVP 0\r\n", 5, "m= needs"},
        BadCase{"bad port", HEAD "m=audio 70000 RTP/AVP 0\r\n", 5, "bad port '70000'"},
        BadCase{"non-numeric port", HEAD "m=audio 4x RTP/AVP 0\r\n", 5, "bad port"},
        BadCase{"leading zero port", HEAD "m=audio 04000 RTP/AVP 0\r\n", 5, "bad port"},
        BadCase{"zero port count", HEAD "m=audio 4000/0 RTP/AVP 0\r\n", 5, "number of ports"},
        BadCase{"no formats", HEAD "m=audio 4000 RTP/AVP\r\n", 5, "m= needs"},
        BadCase{"double space", HEAD "m=audio 4000  RTP/AVP 0\r\n", 5, "transport protocol"},
        BadCase{"bad proto", HEAD "m=audio 4000 RTP//AVP 0\r\n", 5, "transport protocol"},
        BadCase{"junk line", HEAD "m=audio 4000 RTP/AVP 0\r\nhello world\r\n", 6, "<type>=<value>"},
        BadCase{"uppercase type", HEAD "A=foo\r\n", 5, "<type>=<value>"},
        BadCase{"unknown type", HEAD "x=foo\r\n", 5, "unknown type letter 'x'"},
        BadCase{"session-only in media", HEAD "m=audio 4000 RTP/AVP 0\r\nt=0 0\r\n", 6,
                "not allowed in a media"},
        BadCase{"out of order", HEAD "a=x\r\nc=IN IP4 192.0.2.1\r\n", 6, "out of order"},
        BadCase{"c after a in media",
                HEAD "m=audio 4000 RTP/AVP 0\r\na=x\r\nc=IN IP4 192.0.2.1\r\n", 7, "out of order"},
        BadCase{"repeated c",
                HEAD "m=audio 4000 RTP/AVP 0\r\nc=IN IP4 192.0.2.1\r\nc=IN IP4 192.0.2.2\r\n", 7,
                "repeated c="},
        BadCase{"bad c", HEAD "m=audio 4000 RTP/AVP 0\r\nc=IN IP4\r\n", 6, "c= needs"},
        BadCase{"bad t", "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=now\r\n", 4, "t= needs"},
        BadCase{"r before t", "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nr=7d 1h 0\r\nt=0 0\r\n", 4,
                "r= without"},
        BadCase{"attribute name", HEAD "a=foo bar\r\n", 5, "not a token"},
        BadCase{"empty attribute", HEAD "a=\r\n", 5, "not a token"},
        BadCase{"empty line inside", HEAD "\r\nm=audio 4000 RTP/AVP 0\r\n", 5, "empty line"},
        BadCase{"bare CR", HEAD "a=x\ry\r\n", 5, "CR not followed by LF"},
        BadCase{"LF line numbers",
                "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\nm=audio 99999 RTP/AVP 0\n", 5,
                "bad port"}),
    [](const auto& info) {
      std::string n = info.param.name;
      for (auto& ch : n) ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
      return n;
    });
#undef HEAD

TEST(SdpParse, NulByteIsAnError) {
  const std::string text =
      std::string("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\na=x") + '\0' + "y\r\n";
  auto d = parse(text);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().line, 5u);
}

}  // namespace
}  // namespace icegate::sip::sdp
