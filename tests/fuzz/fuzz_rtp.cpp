// Fuzz target for the RTP/RTCP parsers (media/rtp/rtp.hpp). Whatever parses must serialise back
// to the same bytes and parse again to the same value; nothing may crash or read out of bounds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "media/rtp/rtp.hpp"

namespace {

using namespace icegate::media::rtp;

void check(bool ok) {
  if (!ok) std::abort();
}

void rtp_round_trip(std::span<const std::byte> in) {
  const auto header_only = parse_rtp_header(in);
  const auto h = parse_rtp(in);
  if (!h) return;
  check(header_only.has_value() && header_only->header_size == h->header_size);
  check(h->header_size + h->payload_size + h->padding_size == in.size());
  std::vector<std::byte> out(in.size());
  check(write_rtp_header(*h, out) == h->header_size);
  for (std::size_t i = h->header_size; i < in.size(); ++i) out[i] = in[i];
  check(out == std::vector<std::byte>(in.begin(), in.end()));
  const auto again = parse_rtp(out);
  check(again.has_value() && *again == *h);
}

void rtcp_round_trip(std::span<const std::byte> in, bool reduced_size) {
  std::vector<std::pair<std::size_t, RtcpHeader>> packets;
  const auto info = walk_rtcp_compound(in, reduced_size, [&](std::size_t off, const RtcpHeader& h) {
    packets.emplace_back(off, h);
  });
  if (!info) return;
  std::vector<std::byte> out(in.size());
  std::size_t end = 0;
  for (const auto& [off, h] : packets) {
    check(off == end);
    check(write_rtcp_header(h, std::span(out).subspan(off)) == 4);
    for (std::size_t i = off + 4; i < off + h.size(); ++i) out[i] = in[i];
    end = off + h.size();
  }
  check(end == in.size());
  std::vector<std::pair<std::size_t, RtcpHeader>> again_packets;
  const auto again = walk_rtcp_compound(
      out, reduced_size,
      [&](std::size_t off, const RtcpHeader& h) { again_packets.emplace_back(off, h); });
  check(again.has_value() && again->packets == info->packets &&
        again->first_type == info->first_type && again->sender_ssrc == info->sender_ssrc &&
        again->has_bye == info->has_bye && again_packets == packets);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
  rtp_round_trip(in);
  rtcp_round_trip(in, false);
  rtcp_round_trip(in, true);
  return 0;
}
