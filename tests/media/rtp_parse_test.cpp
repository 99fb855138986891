// RTP fixed header (RFC 3550 §5.1, §5.3.1) and RTCP common header / compound (§6.1, §6.4, A.2).
#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <vector>

#include "media/rtp/rtp.hpp"

namespace icegate::media::rtp {
namespace {

std::vector<std::byte> bytes(std::initializer_list<int> v) {
  std::vector<std::byte> out;
  for (int b : v) out.push_back(static_cast<std::byte>(b));
  return out;
}

// V=2, PT 0 (PCMU), seq 0x1234, ts 0xdeadbeef, SSRC 0x01020304, 4 payload bytes.
const std::vector<std::byte> kMinimal =
    bytes({0x80, 0x00, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04, 1, 2, 3, 4});

TEST(RtpParse, FixedHeaderFields) {
  auto h = parse_rtp(kMinimal);
  ASSERT_TRUE(h);
  EXPECT_FALSE(h->padding);
  EXPECT_FALSE(h->extension);
  EXPECT_FALSE(h->marker);
  EXPECT_EQ(h->payload_type, 0);
  EXPECT_EQ(h->sequence, 0x1234);
  EXPECT_EQ(h->timestamp, 0xdeadbeefu);
  EXPECT_EQ(h->ssrc, 0x01020304u);
  EXPECT_EQ(h->csrc_count, 0);
  EXPECT_EQ(h->header_size, 12u);
  EXPECT_EQ(h->payload_size, 4u);
}

TEST(RtpParse, MarkerPayloadTypeAndCsrcs) {
  auto p = bytes({0x82, 0xe0, 0,    1,    0,    0,    0,    2,    0, 0, 0, 3,  // CC=2, M=1, PT=96
                  0xaa, 0xbb, 0xcc, 0xdd, 0x11, 0x22, 0x33, 0x44, 9});
  auto h = parse_rtp(p);
  ASSERT_TRUE(h);
  EXPECT_TRUE(h->marker);
  EXPECT_EQ(h->payload_type, 96);
  ASSERT_EQ(h->csrc_count, 2);
  EXPECT_EQ(h->csrc[0], 0xaabbccddu);
  EXPECT_EQ(h->csrc[1], 0x11223344u);
  EXPECT_EQ(h->header_size, 20u);
  EXPECT_EQ(h->payload_size, 1u);
}

TEST(RtpParse, HeaderExtension) {
  // X=1, profile 0xBEDE (RFC 8285 one-byte), 1 word of extension data.
  auto p = bytes(
      {0x90, 0x08, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xbe, 0xde, 0x00, 0x01, 0x10, 0xff, 0, 0, 7, 7});
  auto h = parse_rtp(p);
  ASSERT_TRUE(h);
  EXPECT_TRUE(h->extension);
  EXPECT_EQ(h->extension_profile, 0xbede);
  ASSERT_EQ(h->extension_data.size(), 4u);
  EXPECT_EQ(h->extension_data[1], std::byte{0xff});
  EXPECT_EQ(h->header_size, 20u);
  EXPECT_EQ(h->payload_size, 2u);
}

TEST(RtpParse, Padding) {
  // P=1, 2 payload bytes then 3 padding bytes whose last says 3.
  auto p = bytes({0xa0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 5, 6, 0, 0, 3});
  auto h = parse_rtp(p);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->padding_size, 3);
  EXPECT_EQ(h->payload_size, 2u);
  // Header-only parsing ignores the last octet (it is ciphertext or auth tag under SRTP).
  auto hh = parse_rtp_header(p);
  ASSERT_TRUE(hh);
  EXPECT_EQ(hh->padding_size, 0);
  EXPECT_EQ(hh->payload_size, 5u);
}

TEST(RtpParse, PaddingOnlyPacketIsAccepted) {
  auto p = bytes({0xa0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4});
  auto h = parse_rtp(p);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->payload_size, 0u);
  EXPECT_EQ(h->padding_size, 4);
}

struct BadCase {
  const char* name;
  std::vector<std::byte> packet;
  Errc code;
  std::size_t offset;
};

TEST(RtpParse, ErrorsSayWhatAndWhere) {
  const std::vector<BadCase> cases = {
      {"empty", {}, Errc::too_short, 0},
      {"11 bytes", bytes({0x80, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0}), Errc::too_short, 11},
      {"version 1", bytes({0x40, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3}), Errc::bad_version, 0},
      {"version 0 (STUN-like)", bytes({0x00, 1, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3}), Errc::bad_version,
       0},
      {"CC=1 no CSRC", bytes({0x81, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2}), Errc::csrc_truncated,
       12},
      {"X without ext header", bytes({0x90, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xbe}),
       Errc::extension_truncated, 12},
      {"ext words past end",
       bytes({0x90, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xbe, 0xde, 0, 2, 1, 2, 3, 4}),
       Errc::extension_truncated, 14},
      {"padding count 0", bytes({0xa0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 1, 0}), Errc::bad_padding,
       13},
      {"padding past payload", bytes({0xa0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 1, 3}),
       Errc::bad_padding, 13},
      {"P set, no payload", bytes({0xa0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3}), Errc::bad_padding, 11},
  };
  for (const auto& c : cases) {
    auto h = parse_rtp(c.packet);
    ASSERT_FALSE(h) << c.name;
    EXPECT_EQ(h.error().code, c.code) << c.name << ": " << to_string(h.error().code);
    EXPECT_EQ(h.error().offset, c.offset) << c.name;
  }
}

TEST(RtpSerialise, RoundTripWithCsrcAndExtension) {
  auto p = bytes({0x92, 0xe0, 0xff, 0xff, 1,    2,    3,    4, 5, 6, 7, 8, 0, 0, 0, 1, 0,
                  0,    0,    2,    0x10, 0x00, 0x00, 0x02, 1, 2, 3, 4, 5, 6, 7, 8, 42});
  auto h = parse_rtp(p);
  ASSERT_TRUE(h);
  std::vector<std::byte> out(rtp_header_size(*h));
  ASSERT_EQ(write_rtp_header(*h, out), out.size());
  EXPECT_TRUE(std::equal(out.begin(), out.end(), p.begin()));
}

TEST(RtpSerialise, RefusesWhatCannotBeEncoded) {
  RtpHeader h;
  std::vector<std::byte> out(64);
  h.payload_type = 128;
  EXPECT_EQ(write_rtp_header(h, out), 0u);
  h.payload_type = 0;
  h.csrc_count = 16;
  EXPECT_EQ(write_rtp_header(h, out), 0u);
  h.csrc_count = 0;
  const std::vector<std::byte> three(3);
  h.extension = true;
  h.extension_data = three;  // not whole words
  EXPECT_EQ(write_rtp_header(h, out), 0u);
  h.extension = false;
  h.extension_data = {};
  std::vector<std::byte> small(11);
  EXPECT_EQ(write_rtp_header(h, small), 0u);
  EXPECT_EQ(write_rtp_header(h, out), 12u);
}

// SR with no report blocks (28 bytes) + SDES with one CNAME chunk (12 bytes).
std::vector<std::byte> sr_sdes() {
  return bytes({0x80, 200, 0, 6, 0x11, 0x22, 0x33, 0x44, 0, 0, 0,   0, 0, 0,
                0,    0,   0, 0, 0,    0,    0,    0,    0, 0, 0,   0, 0, 0,  //
                0x81, 202, 0, 2, 0x11, 0x22, 0x33, 0x44, 1, 1, 'x', 0});
}

TEST(RtcpParse, CompoundWalk) {
  const auto p = sr_sdes();
  std::vector<std::uint8_t> types;
  auto info = walk_rtcp_compound(
      p, false, [&](std::size_t, const RtcpHeader& h) { types.push_back(h.packet_type); });
  ASSERT_TRUE(info);
  EXPECT_EQ(info->packets, 2u);
  EXPECT_EQ(info->first_type, kRtcpSr);
  EXPECT_EQ(info->sender_ssrc, 0x11223344u);
  EXPECT_FALSE(info->has_bye);
  EXPECT_EQ(types, (std::vector<std::uint8_t>{200, 202}));
}

TEST(RtcpParse, CompoundErrors) {
  auto p = sr_sdes();
  // Length of the SDES says one word more than there is.
  auto longer = p;
  longer[31] = std::byte{3};
  auto r = parse_rtcp_compound(longer);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::rtcp_bad_length);
  EXPECT_EQ(r.error().offset, 30u);

  // Starting with SDES is not a valid compound (RFC 3550 §6.1) but fine as reduced-size.
  std::vector<std::byte> sdes(p.begin() + 28, p.end());
  EXPECT_EQ(parse_rtcp_compound(sdes).error().code, Errc::rtcp_first_not_report);
  EXPECT_TRUE(parse_rtcp_compound(sdes, true));

  // Padding bit on the first of two packets.
  auto padded = p;
  padded[0] = std::byte{0xa0};
  padded[27] = std::byte{4};
  EXPECT_EQ(parse_rtcp_compound(padded).error().code, Errc::rtcp_padding_not_last);

  // Version 1 in the second packet is reported at its offset.
  auto v1 = p;
  v1[28] = std::byte{0x41};
  r = parse_rtcp_compound(v1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::bad_version);
  EXPECT_EQ(r.error().offset, 28u);

  // Packet type outside 192..223.
  auto rtp_like = p;
  rtp_like[1] = std::byte{96};
  EXPECT_EQ(parse_rtcp_compound(rtp_like).error().code, Errc::rtcp_bad_type);

  EXPECT_EQ(parse_rtcp_compound({}).error().code, Errc::too_short);
}

TEST(RtcpParse, PaddingOnLastPacket) {
  // RR (8 bytes) + BYE padded: 8 bytes with 3 padding bytes counted by the last octet.
  auto p = bytes({0x80, 201, 0, 1, 0, 0, 0, 9, 0xa1, 203, 0, 2, 0, 0, 0, 9, 0, 0, 0, 3});
  auto info = parse_rtcp_compound(p);
  ASSERT_TRUE(info);
  EXPECT_TRUE(info->has_bye);
  p.back() = std::byte{9};  // more padding than the packet holds
  EXPECT_EQ(parse_rtcp_compound(p).error().code, Errc::bad_padding);
}

TEST(RtcpSerialise, HeaderRoundTrip) {
  const RtcpHeader h{true, 31, 206, 0x1234};
  std::vector<std::byte> out(4 * (0x1234 + 1));
  ASSERT_EQ(write_rtcp_header(h, out), 4u);
  out.back() = std::byte{4};  // a valid padding count for the padded packet
  auto back = parse_rtcp_header(out);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, h);
  EXPECT_EQ(write_rtcp_header(RtcpHeader{false, 32, 200, 0}, out), 0u);
}

}  // namespace
}  // namespace icegate::media::rtp
