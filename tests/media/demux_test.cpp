// RFC 7983 first-byte demultiplexing and the RFC 5761 RTP/RTCP split.
#include "media/demux.hpp"

#include <gtest/gtest.h>

#include <array>
#include <vector>

namespace icegate::media {
namespace {

PacketKind kind_of(unsigned b0, unsigned b1 = 0) {
  const std::array<std::byte, 2> p{static_cast<std::byte>(b0), static_cast<std::byte>(b1)};
  return classify(p);
}

TEST(Demux, EveryFirstByteFallsInItsRfc7983Range) {
  for (unsigned b = 0; b < 256; ++b) {
    PacketKind want = PacketKind::unknown;
    if (b <= 3)
      want = PacketKind::stun;
    else if (b >= 16 && b <= 19)
      want = PacketKind::zrtp;
    else if (b >= 20 && b <= 63)
      want = PacketKind::dtls;
    else if (b >= 64 && b <= 79)
      want = PacketKind::turn_channel;
    else if (b >= 128 && b <= 191)
      want = PacketKind::rtp;  // second byte 0: PT 0 (PCMU)
    EXPECT_EQ(kind_of(b), want) << "first byte " << b;
  }
}

TEST(Demux, RtcpIsRecognisedBySecondByte) {
  // RFC 5761 §4: packet types 192-223 are RTCP (200 SR, 201 RR, 205 RTPFB, 206 PSFB).
  EXPECT_EQ(kind_of(0x80, 200), PacketKind::rtcp);
  EXPECT_EQ(kind_of(0x81, 201), PacketKind::rtcp);
  EXPECT_EQ(kind_of(0x8F, 206), PacketKind::rtcp);
  EXPECT_EQ(kind_of(0x80, 192), PacketKind::rtcp);
  EXPECT_EQ(kind_of(0x80, 223), PacketKind::rtcp);
  // RTP: PT 0, PT 111 with the marker bit (0xEF), PT 96 without (0x60), and the edges.
  EXPECT_EQ(kind_of(0x80, 0x00), PacketKind::rtp);
  EXPECT_EQ(kind_of(0x80, 0xEF), PacketKind::rtp);
  EXPECT_EQ(kind_of(0x80, 0x60), PacketKind::rtp);
  EXPECT_EQ(kind_of(0x80, 191), PacketKind::rtp);
  EXPECT_EQ(kind_of(0x80, 224), PacketKind::rtp);
}

TEST(Demux, ShortPacketsAreUnknownOrClassifiedSafely) {
  EXPECT_EQ(classify({}), PacketKind::unknown);
  const std::array<std::byte, 1> rtp_one{std::byte{0x80}};
  EXPECT_EQ(classify(rtp_one), PacketKind::unknown);  // cannot tell RTP from RTCP
  const std::array<std::byte, 1> dtls_one{std::byte{22}};
  EXPECT_EQ(classify(dtls_one), PacketKind::dtls);  // DTLS handshake record type
  static_assert(classify(std::span<const std::byte>{}) == PacketKind::unknown);
}

TEST(Demux, Names) {
  EXPECT_EQ(to_string(PacketKind::stun), "stun");
  EXPECT_EQ(to_string(PacketKind::turn_channel), "turn-channel");
  EXPECT_EQ(to_string(PacketKind::unknown), "unknown");
}

}  // namespace
}  // namespace icegate::media
