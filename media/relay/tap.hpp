// An observer of one session's datagrams, for a per-call capture (docs/operations.md). The
// session calls it on its worker thread for every datagram it receives or sends, as follows:
//  - STUN, DTLS and anything it does not relay: the bytes as they were on the wire;
//  - RTP/RTCP: in the clear. A packet from an SRTP leg is shown once unprotected (a failed
//    unprotect shows the bytes as they arrived), a packet toward an SRTP leg before it is
//    protected: a capture then plays in Wireshark's RTP player without keys.
// `from` and `to` are the wire addresses (icegate's own socket on one side). An implementation
// must not block and must not throw: it copies what it keeps and returns.
#pragma once

#include <cstddef>
#include <span>

#include "media/endpoint.hpp"

namespace icegate::media::relay {

class PacketTap {
 public:
  virtual ~PacketTap() = default;
  virtual void on_packet(const Endpoint& from, const Endpoint& to,
                         std::span<const std::byte> bytes) noexcept = 0;
};

}  // namespace icegate::media::relay
