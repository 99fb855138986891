#include "media/rtp/rtp.hpp"

#include <algorithm>

namespace icegate::media::rtp {
namespace {

std::uint8_t u8(std::span<const std::byte> b, std::size_t i) noexcept {
  return std::to_integer<std::uint8_t>(b[i]);
}
std::uint16_t be16(std::span<const std::byte> b, std::size_t i) noexcept {
  return static_cast<std::uint16_t>((u8(b, i) << 8) | u8(b, i + 1));
}
std::uint32_t be32(std::span<const std::byte> b, std::size_t i) noexcept {
  return (std::uint32_t{be16(b, i)} << 16) | be16(b, i + 2);
}
void put16(std::span<std::byte> b, std::size_t i, std::uint16_t v) noexcept {
  b[i] = static_cast<std::byte>(v >> 8);
  b[i + 1] = static_cast<std::byte>(v & 0xff);
}
void put32(std::span<std::byte> b, std::size_t i, std::uint32_t v) noexcept {
  put16(b, i, static_cast<std::uint16_t>(v >> 16));
  put16(b, i + 2, static_cast<std::uint16_t>(v & 0xffff));
}

}  // namespace

std::string_view to_string(Errc e) noexcept {
  switch (e) {
    case Errc::too_short:
      return "too short";
    case Errc::bad_version:
      return "version is not 2";
    case Errc::csrc_truncated:
      return "CSRC list truncated";
    case Errc::extension_truncated:
      return "header extension truncated";
    case Errc::bad_padding:
      return "bad padding count";
    case Errc::rtcp_bad_length:
      return "RTCP length past end of datagram";
    case Errc::rtcp_bad_type:
      return "RTCP packet type out of range";
    case Errc::rtcp_first_not_report:
      return "compound RTCP does not start with SR/RR";
    case Errc::rtcp_padding_not_last:
      return "RTCP padding before the last packet";
  }
  return "unknown";
}

bool operator==(const RtpHeader& a, const RtpHeader& b) noexcept {
  return a.padding == b.padding && a.marker == b.marker && a.payload_type == b.payload_type &&
         a.sequence == b.sequence && a.timestamp == b.timestamp && a.ssrc == b.ssrc &&
         a.csrc_count == b.csrc_count && a.csrc == b.csrc && a.extension == b.extension &&
         a.extension_profile == b.extension_profile &&
         std::ranges::equal(a.extension_data, b.extension_data) && a.header_size == b.header_size &&
         a.payload_size == b.payload_size && a.padding_size == b.padding_size;
}

Expected<RtpHeader, ParseError> parse_rtp_header(std::span<const std::byte> p) noexcept {
  if (p.size() < kFixedHeaderSize) return unexpected(ParseError{Errc::too_short, p.size()});
  const std::uint8_t b0 = u8(p, 0);
  // RFC 3550 §5.1: V is 2; A.1 validity check.
  if ((b0 >> 6) != 2) return unexpected(ParseError{Errc::bad_version, 0});
  RtpHeader h;
  h.padding = (b0 & 0x20) != 0;
  h.extension = (b0 & 0x10) != 0;
  h.csrc_count = b0 & 0x0f;
  h.marker = (u8(p, 1) & 0x80) != 0;
  h.payload_type = u8(p, 1) & 0x7f;
  h.sequence = be16(p, 2);
  h.timestamp = be32(p, 4);
  h.ssrc = be32(p, 8);
  std::size_t at = kFixedHeaderSize;
  if (p.size() < at + 4u * h.csrc_count) return unexpected(ParseError{Errc::csrc_truncated, at});
  for (std::size_t i = 0; i < h.csrc_count; ++i, at += 4) h.csrc[i] = be32(p, at);
  if (h.extension) {
    // RFC 3550 §5.3.1: 16-bit profile, 16-bit length in words, then the words.
    if (p.size() < at + 4) return unexpected(ParseError{Errc::extension_truncated, at});
    h.extension_profile = be16(p, at);
    const std::size_t words = be16(p, at + 2);
    if (p.size() < at + 4 + 4 * words) {
      return unexpected(ParseError{Errc::extension_truncated, at + 2});
    }
    h.extension_data = p.subspan(at + 4, 4 * words);
    at += 4 + 4 * words;
  }
  h.header_size = at;
  h.payload_size = p.size() - at;
  return h;
}

Expected<RtpHeader, ParseError> parse_rtp(std::span<const std::byte> p) noexcept {
  auto h = parse_rtp_header(p);
  if (!h || !h->padding) return h;
  // RFC 3550 §5.1: the last octet counts the padding octets, itself included.
  const std::uint8_t count = u8(p, p.size() - 1);
  if (count == 0 || count > h->payload_size) {
    return unexpected(ParseError{Errc::bad_padding, p.size() - 1});
  }
  h->padding_size = count;
  h->payload_size -= count;
  return h;
}

std::size_t rtp_header_size(const RtpHeader& h) noexcept {
  std::size_t n = kFixedHeaderSize + 4u * h.csrc_count;
  if (h.extension) n += 4 + h.extension_data.size();
  return n;
}

std::size_t write_rtp_header(const RtpHeader& h, std::span<std::byte> out) noexcept {
  if (h.csrc_count > kMaxCsrc || h.payload_type > 127) return 0;
  if (h.extension && (h.extension_data.size() % 4 != 0 || h.extension_data.size() / 4 > 0xffff)) {
    return 0;
  }
  if (!h.extension && !h.extension_data.empty()) return 0;
  const std::size_t n = rtp_header_size(h);
  if (out.size() < n) return 0;
  out[0] = static_cast<std::byte>(0x80 | (h.padding ? 0x20 : 0) | (h.extension ? 0x10 : 0) |
                                  h.csrc_count);
  out[1] = static_cast<std::byte>((h.marker ? 0x80 : 0) | h.payload_type);
  put16(out, 2, h.sequence);
  put32(out, 4, h.timestamp);
  put32(out, 8, h.ssrc);
  std::size_t at = kFixedHeaderSize;
  for (std::size_t i = 0; i < h.csrc_count; ++i, at += 4) put32(out, at, h.csrc[i]);
  if (h.extension) {
    put16(out, at, h.extension_profile);
    put16(out, at + 2, static_cast<std::uint16_t>(h.extension_data.size() / 4));
    std::ranges::copy(h.extension_data, out.begin() + static_cast<std::ptrdiff_t>(at + 4));
  }
  return n;
}

Expected<RtcpHeader, ParseError> parse_rtcp_header(std::span<const std::byte> p) noexcept {
  if (p.size() < 4) return unexpected(ParseError{Errc::too_short, p.size()});
  const std::uint8_t b0 = u8(p, 0);
  if ((b0 >> 6) != 2) return unexpected(ParseError{Errc::bad_version, 0});
  RtcpHeader h;
  h.padding = (b0 & 0x20) != 0;
  h.count = b0 & 0x1f;
  h.packet_type = u8(p, 1);
  if (h.packet_type < 192 || h.packet_type > 223) {
    return unexpected(ParseError{Errc::rtcp_bad_type, 1});
  }
  h.length = be16(p, 2);
  if (h.size() > p.size()) return unexpected(ParseError{Errc::rtcp_bad_length, 2});
  if (h.padding) {
    // RFC 3550 §6.4.1: the last octet of the padded packet counts the padding, itself included.
    const std::uint8_t count = u8(p, h.size() - 1);
    if (count == 0 || count > h.size() - 4) {
      return unexpected(ParseError{Errc::bad_padding, h.size() - 1});
    }
  }
  return h;
}

std::size_t write_rtcp_header(const RtcpHeader& h, std::span<std::byte> out) noexcept {
  if (out.size() < 4 || h.count > 31) return 0;
  out[0] = static_cast<std::byte>(0x80 | (h.padding ? 0x20 : 0) | h.count);
  out[1] = static_cast<std::byte>(h.packet_type);
  put16(out, 2, h.length);
  return 4;
}

Expected<RtcpCompoundInfo, ParseError> parse_rtcp_compound(std::span<const std::byte> datagram,
                                                           bool reduced_size) noexcept {
  return walk_rtcp_compound(datagram, reduced_size, [](std::size_t, const RtcpHeader&) {});
}

}  // namespace icegate::media::rtp
