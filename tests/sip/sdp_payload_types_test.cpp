// Payload types of an m= line as codecs and the mapping between two parties' numbers
// (sip/sdp/payload_types.hpp, issue 11 item 4).
#include <gtest/gtest.h>

#include <string>

#include "sip/sdp/payload_types.hpp"

#include "sdp_test_support.hpp"

namespace icegate::sip::sdp {
namespace {

MediaSection section(const std::string& m_and_attributes) {
  auto d = parse("v=0\r\no=- 1 1 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\n" +
                 m_and_attributes);
  EXPECT_TRUE(d) << (d ? "" : d.error().to_string());
  return d && !d->media.empty() ? d->media.front() : MediaSection{};
}

using Pair = std::pair<std::uint8_t, std::uint8_t>;

TEST(PayloadTypes, ChromiumOfferRatesAndEvents) {
  const auto d = test::load("chromium-156-offer.sdp");
  const auto t = payload_types(d.media.front());
  ASSERT_EQ(t.size(), 8u);
  EXPECT_EQ(t[0], (PayloadType{111, "opus", 48000, 2}));
  EXPECT_EQ(t[1], (PayloadType{63, "red", 48000, 2}));
  EXPECT_EQ(t[2], (PayloadType{9, "g722", 8000, 1}));  // RFC 3551 §4.5.2
  EXPECT_EQ(t[6], (PayloadType{110, "telephone-event", 48000, 1}));
  EXPECT_TRUE(t[6].event());
  EXPECT_EQ(t[7], (PayloadType{126, "telephone-event", 8000, 1}));
  EXPECT_FALSE(t[0].event());
}

TEST(PayloadTypes, StaticTypesWithoutRtpmapAndUnknownDynamicOnesLeftOut) {
  const auto t =
      payload_types(section("m=audio 4000 RTP/AVP 0 8 9 18 96 97\r\n"
                            "a=rtpmap:97 Speex/16000\r\n"));
  ASSERT_EQ(t.size(), 5u);
  EXPECT_EQ(t[0], (PayloadType{0, "pcmu", 8000, 1}));
  EXPECT_EQ(t[1], (PayloadType{8, "pcma", 8000, 1}));
  EXPECT_EQ(t[2], (PayloadType{9, "g722", 8000, 1}));
  EXPECT_EQ(t[3], (PayloadType{18, "g729", 8000, 1}));
  EXPECT_EQ(t[4], (PayloadType{97, "speex", 16000, 1}));  // 96 has no a=rtpmap: unknown
}

TEST(PayloadTypes, TheTrunksEventsBecomeTheBrowsersAndBack) {
  const auto browser = payload_types(
      section("m=audio 4000 UDP/TLS/RTP/SAVPF 111 0 110 126\r\na=rtpmap:111 opus/48000/2\r\n"
              "a=rtpmap:110 telephone-event/48000\r\na=rtpmap:126 telephone-event/8000\r\n"));
  const auto trunk =
      payload_types(section("m=audio 5000 RTP/AVP 0 101\r\na=rtpmap:101 TELEPHONE-EVENT/8000\r\n"));
  EXPECT_EQ(payload_type_map(trunk, browser), (std::vector<Pair>{{101, 126}}));
  EXPECT_EQ(payload_type_map(browser, trunk), (std::vector<Pair>{{126, 101}}));
  // The same numbers on both sides: nothing to map.
  EXPECT_TRUE(payload_type_map(trunk, trunk).empty());
}

TEST(PayloadTypes, AudioCodecsNumberedDifferentlyAreMappedToo) {
  const auto a = payload_types(section(
      "m=audio 4000 RTP/AVP 96 101\r\na=rtpmap:96 opus/48000/2\r\na=rtpmap:101 G7221/16000\r\n"));
  const auto b = payload_types(section(
      "m=audio 4000 RTP/AVP 111 96\r\na=rtpmap:111 OPUS/48000/2\r\na=rtpmap:96 G7221/16000\r\n"));
  // 96 means opus on one side and G.722.1 on the other: each goes to the other's number.
  EXPECT_EQ(payload_type_map(a, b), (std::vector<Pair>{{96, 111}, {101, 96}}));
  EXPECT_EQ(payload_type_map(b, a), (std::vector<Pair>{{111, 96}, {96, 101}}));
}

TEST(PayloadTypes, MergeKeepsTheFirstMeaningOfANumber) {
  const std::vector<PayloadType> own{{126, "telephone-event", 8000, 1}};
  const std::vector<PayloadType> given{{101, "telephone-event", 8000, 1}, {126, "pcmu", 8000, 1}};
  const auto m = merge_payload_types(own, given);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].pt, 126);
  EXPECT_EQ(m[0].encoding, "telephone-event");
  EXPECT_EQ(m[1].pt, 101);
}

}  // namespace
}  // namespace icegate::sip::sdp
