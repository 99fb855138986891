// Latching (symmetric RTP, behaviour.md §1): which packets may teach a leg its remote address,
// and where RTCP goes while only RTP has latched. Pure functions over the parsed header or the
// packet bytes; the session (session.cpp) applies them to a leg that has not latched yet.
//
// Why a gate at all: without one, whoever sends first to a freshly allocated port takes the
// call's media ("RTP bleed" scanners do exactly that). A packet may latch only if it looks like
// this call's media: RTP version 2 with a payload type the SDP negotiated (any, when the leg was
// given none), or a valid RTCP compound that starts with a packet of an assigned type (200 SR ..
// 211 IDMS); optionally with the SSRC of the component that latched first. On an SRTP leg the
// packet must also authenticate, which a scanner cannot forge (the session latches after
// unprotect). rtpengine's `strict-source` + learning and Asterisk's `strictrtp` are the models.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "media/endpoint.hpp"
#include "media/rtp/rtp.hpp"

namespace icegate::media::relay {

// RTP (RFC 3550 §5.1; the header parser has checked version 2 and the header's length):
// the payload type is one of `payload_types`, or any when that list is empty.
bool rtp_may_latch(const rtp::RtpHeader& h, std::span<const std::uint8_t> payload_types) noexcept;

// The first RTCP packet's type is assigned (RFC 3550 200-204, RFC 4585 205-206, RFC 3611 207,
// ... RFC 7272 211). Checked before SRTCP is unprotected (its first 8 octets are clear).
constexpr bool rtcp_type_may_latch(std::uint8_t packet_type) noexcept {
  return packet_type >= 200 && packet_type <= 211;
}

// A plain (or unprotected) RTCP datagram: a valid compound (RFC 3550 A.2: version 2, lengths
// that add up; reduced-size allowed, RFC 5506 §3.4.2) whose first packet has an assigned type
// and is long enough to carry its sender's SSRC (later packets may be any RTCP type, e.g. an
// RFC 5450 IJ after an RR). Returns that SSRC, or nullopt when the datagram may not latch.
std::optional<std::uint32_t> rtcp_may_latch(std::span<const std::byte> datagram) noexcept;

// The RTCP address SDP gives: a=rtcp, else the RTP port + 1 (RFC 3550 §11).
std::optional<Endpoint> signalled_rtcp(const std::optional<Endpoint>& rtcp,
                                       const std::optional<Endpoint>& rtp) noexcept;

// Where RTCP goes on a leg without rtcp-mux once RTP latched at `latched_rtp` and RTCP has not
// latched yet (it latches by itself from the phone's first valid RTCP, then goes there):
//  - RTP latched at the SDP address (no NAT): the SDP's RTCP address;
//  - RTP latched at the SDP's port on another address (a NAT that keeps ports): that address
//    with the SDP's RTCP port, which such a NAT kept as well;
//  - otherwise (a NAT that picks ports): the latched address, RTP port + 1, the RFC 3550 §11
//    convention and what a NAT allocating ports in sequence gives the phone's next socket. A
//    guess: if it is wrong, RTCP toward the phone is lost until its own RTCP latches (a
//    phone sends RTCP every few seconds, RFC 3550 §6.2), never media.
std::optional<Endpoint> rtcp_after_rtp_latched(const std::optional<Endpoint>& sdp_rtp,
                                               const std::optional<Endpoint>& sdp_rtcp,
                                               const Endpoint& latched_rtp) noexcept;

}  // namespace icegate::media::relay
