#include "media/relay/latch.hpp"

#include <algorithm>

namespace icegate::media::relay {

bool rtp_may_latch(const rtp::RtpHeader& h, std::span<const std::uint8_t> payload_types) noexcept {
  return payload_types.empty() || std::find(payload_types.begin(), payload_types.end(),
                                            h.payload_type) != payload_types.end();
}

std::optional<std::uint32_t> rtcp_may_latch(std::span<const std::byte> datagram) noexcept {
  bool first_ok = false;
  const auto info =
      rtp::walk_rtcp_compound(datagram, true, [&](std::size_t offset, const rtp::RtcpHeader& h) {
        if (offset == 0) first_ok = rtcp_type_may_latch(h.packet_type) && h.size() >= 8;
      });
  if (!info || !first_ok) return std::nullopt;
  return info->sender_ssrc;
}

std::optional<Endpoint> signalled_rtcp(const std::optional<Endpoint>& rtcp,
                                       const std::optional<Endpoint>& rtp) noexcept {
  if (rtcp) return rtcp;
  // RFC 3550 §11: without a=rtcp, RTCP uses the next higher (odd) port.
  if (rtp && rtp->port != 0 && rtp->port != 0xffff) {
    return Endpoint{rtp->address, static_cast<std::uint16_t>(rtp->port + 1)};
  }
  return std::nullopt;
}

std::optional<Endpoint> rtcp_after_rtp_latched(const std::optional<Endpoint>& sdp_rtp,
                                               const std::optional<Endpoint>& sdp_rtcp,
                                               const Endpoint& latched_rtp) noexcept {
  const auto signalled = signalled_rtcp(sdp_rtcp, sdp_rtp);
  if (sdp_rtp && *sdp_rtp == latched_rtp) return signalled;
  if (sdp_rtp && signalled && sdp_rtp->port == latched_rtp.port) {
    return Endpoint{latched_rtp.address, signalled->port};
  }
  if (latched_rtp.port == 0xffff) return signalled;
  return Endpoint{latched_rtp.address, static_cast<std::uint16_t>(latched_rtp.port + 1)};
}

}  // namespace icegate::media::relay
