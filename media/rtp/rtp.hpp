// RTP fixed header (RFC 3550 §5.1) and RTCP common header / compound walk (RFC 3550 §6.4, A.2).
// Pure functions over bytes: no I/O, no allocation, the input is never modified. Parse results
// point into the caller's buffer, so they live no longer than it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "acl/expected.hpp"

namespace icegate::media::rtp {

enum class Errc : std::uint8_t {
  too_short,              // fewer bytes than the next field needs
  bad_version,            // V != 2
  csrc_truncated,         // CC says more CSRCs than the packet holds
  extension_truncated,    // X set but the extension header or its words run past the end
  bad_padding,            // P set but the last octet is 0 or larger than the payload
  rtcp_bad_length,        // an RTCP length field runs past the end of the datagram
  rtcp_bad_type,          // packet type outside 192..223 (RFC 5761 §4 reserves that range)
  rtcp_first_not_report,  // compound does not start with SR or RR (RFC 3550 §6.1)
  rtcp_padding_not_last,  // only the last packet of a compound may be padded (RFC 3550 §6.4.1)
};
std::string_view to_string(Errc e) noexcept;

// Where and why a parse failed; `offset` is the byte offset of the offending field.
struct ParseError {
  Errc code = Errc::too_short;
  std::size_t offset = 0;
  friend bool operator==(const ParseError&, const ParseError&) = default;
};

inline constexpr std::size_t kFixedHeaderSize = 12;
inline constexpr std::size_t kMaxCsrc = 15;

struct RtpHeader {
  bool padding = false;
  bool marker = false;
  std::uint8_t payload_type = 0;
  std::uint16_t sequence = 0;
  std::uint32_t timestamp = 0;
  std::uint32_t ssrc = 0;
  std::uint8_t csrc_count = 0;
  std::array<std::uint32_t, kMaxCsrc> csrc{};
  // RFC 3550 §5.3.1 header extension; `extension_data` is empty when X is clear.
  bool extension = false;
  std::uint16_t extension_profile = 0;
  std::span<const std::byte> extension_data;  // 4 * length bytes, inside the parsed buffer

  std::size_t header_size = 0;    // fixed header + CSRCs + extension
  std::size_t payload_size = 0;   // after the header, without padding
  std::uint8_t padding_size = 0;  // including the count octet itself; 0 when P is clear

  friend bool operator==(const RtpHeader& a, const RtpHeader& b) noexcept;
};

// Header only: version, CSRC list and extension. Does not look at the last octet, so it is safe
// on SRTP, whose padding octet is encrypted and followed by the auth tag (RFC 3711 §3.1).
// payload_size then counts everything after the header and padding_size stays 0.
Expected<RtpHeader, ParseError> parse_rtp_header(std::span<const std::byte> packet) noexcept;

// Full RTP packet: the header plus the RFC 3550 §5.1 padding check on plain RTP. A padding count
// equal to the whole payload is accepted: padding-only probe packets are legal and common.
Expected<RtpHeader, ParseError> parse_rtp(std::span<const std::byte> packet) noexcept;

// Bytes `write_rtp_header` produces for `h` (ignores header_size/payload_size).
std::size_t rtp_header_size(const RtpHeader& h) noexcept;
// Serialises the header (fixed part, CSRCs, extension) into `out`; returns the bytes written, or 0
// when `out` is too small or `h` cannot be encoded (csrc_count > 15, payload_type > 127,
// extension data not a whole number of 32-bit words or longer than 65535 words).
std::size_t write_rtp_header(const RtpHeader& h, std::span<std::byte> out) noexcept;

// --- RTCP ---

struct RtcpHeader {
  bool padding = false;
  std::uint8_t count = 0;        // RC / SC / subtype: 5 bits
  std::uint8_t packet_type = 0;  // 200 SR, 201 RR, 202 SDES, 203 BYE, 204 APP, 205/206 feedback
  std::uint16_t length = 0;      // in 32-bit words minus one, as on the wire
  std::size_t size() const noexcept { return (std::size_t{length} + 1) * 4; }
  friend bool operator==(const RtcpHeader&, const RtcpHeader&) = default;
};
inline constexpr std::uint8_t kRtcpSr = 200;
inline constexpr std::uint8_t kRtcpRr = 201;
inline constexpr std::uint8_t kRtcpBye = 203;

// One RTCP packet at the start of `packet`: version, type range and length (must fit).
Expected<RtcpHeader, ParseError> parse_rtcp_header(std::span<const std::byte> packet) noexcept;
// Writes the 4-octet common header; returns 4, or 0 when `out` is too small or count > 31.
std::size_t write_rtcp_header(const RtcpHeader& h, std::span<std::byte> out) noexcept;

struct RtcpCompoundInfo {
  std::size_t packets = 0;
  std::uint8_t first_type = 0;
  std::uint32_t sender_ssrc = 0;  // SSRC of the first packet, 0 when it is too short to carry one
  bool has_bye = false;
};

// Walks a compound packet (RFC 3550 §6.1, A.2 validity checks): every packet is version 2, the
// lengths add up to the datagram exactly, only the last packet may be padded, and, unless
// `reduced_size` (RFC 5506 §3.4.2 allows non-compound RTCP), the first packet is SR or RR.
// `visit(offset, header)` is called for each packet found before any error.
template <class Visit>
Expected<RtcpCompoundInfo, ParseError> walk_rtcp_compound(std::span<const std::byte> datagram,
                                                          bool reduced_size, Visit&& visit);
Expected<RtcpCompoundInfo, ParseError> parse_rtcp_compound(std::span<const std::byte> datagram,
                                                           bool reduced_size = false) noexcept;

// --- implementation of the template ---

template <class Visit>
Expected<RtcpCompoundInfo, ParseError> walk_rtcp_compound(std::span<const std::byte> datagram,
                                                          bool reduced_size, Visit&& visit) {
  RtcpCompoundInfo info;
  std::size_t offset = 0;
  while (offset < datagram.size()) {
    auto h = parse_rtcp_header(datagram.subspan(offset));
    if (!h) return unexpected(ParseError{h.error().code, offset + h.error().offset});
    if (info.packets == 0) {
      info.first_type = h->packet_type;
      if (!reduced_size && h->packet_type != kRtcpSr && h->packet_type != kRtcpRr) {
        return unexpected(ParseError{Errc::rtcp_first_not_report, offset + 1});
      }
      if (h->size() >= 8) {
        const auto* p = datagram.data() + offset + 4;
        info.sender_ssrc = (std::uint32_t{std::to_integer<std::uint8_t>(p[0])} << 24) |
                           (std::uint32_t{std::to_integer<std::uint8_t>(p[1])} << 16) |
                           (std::uint32_t{std::to_integer<std::uint8_t>(p[2])} << 8) |
                           std::uint32_t{std::to_integer<std::uint8_t>(p[3])};
      }
    }
    if (h->padding && offset + h->size() != datagram.size()) {
      return unexpected(ParseError{Errc::rtcp_padding_not_last, offset});
    }
    if (h->packet_type == kRtcpBye) info.has_bye = true;
    ++info.packets;
    visit(offset, *h);
    offset += h->size();
  }
  if (info.packets == 0) return unexpected(ParseError{Errc::too_short, 0});
  return info;
}

}  // namespace icegate::media::rtp
