// Which protocol a datagram on a media port belongs to, from its first byte (RFC 7983 §7).
// Every media socket receives STUN, DTLS, SRTP/SRTCP (and possibly ZRTP and TURN channel data)
// multiplexed on one 5-tuple; this is the first decision for each packet.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace icegate::media {

enum class PacketKind : std::uint8_t { stun, zrtp, dtls, turn_channel, rtp, rtcp, unknown };

constexpr std::string_view to_string(PacketKind k) noexcept {
  switch (k) {
    case PacketKind::stun:
      return "stun";
    case PacketKind::zrtp:
      return "zrtp";
    case PacketKind::dtls:
      return "dtls";
    case PacketKind::turn_channel:
      return "turn-channel";
    case PacketKind::rtp:
      return "rtp";
    case PacketKind::rtcp:
      return "rtcp";
    case PacketKind::unknown:
      break;
  }
  return "unknown";
}

// RFC 7983 §7:  0-3 STUN | 16-19 ZRTP | 20-63 DTLS | 64-79 TURN channel | 128-191 RTP/RTCP.
// RTP and RTCP share a port under rtcp-mux; RFC 5761 §4 tells them apart by the second byte:
// RTCP packet types 192-223 (SR, RR, SDES, BYE, APP, RTPFB, PSFB...) fall where RTP would have
// the marker bit set and payload type 64-95, which RFC 5761 keeps unused for that reason.
// Deliberately no further validation: the protocol's own parser does that.
constexpr PacketKind classify(std::span<const std::byte> packet) noexcept {
  if (packet.empty()) return PacketKind::unknown;
  const auto b0 = std::to_integer<std::uint8_t>(packet[0]);
  if (b0 <= 3) return PacketKind::stun;
  if (b0 >= 16 && b0 <= 19) return PacketKind::zrtp;
  if (b0 >= 20 && b0 <= 63) return PacketKind::dtls;
  if (b0 >= 64 && b0 <= 79) return PacketKind::turn_channel;
  if (b0 >= 128 && b0 <= 191) {
    if (packet.size() < 2) return PacketKind::unknown;
    const auto b1 = std::to_integer<std::uint8_t>(packet[1]);
    return (b1 >= 192 && b1 <= 223) ? PacketKind::rtcp : PacketKind::rtp;
  }
  return PacketKind::unknown;
}

}  // namespace icegate::media
