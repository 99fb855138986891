// Test helpers for the relay tests: a UDP peer on loopback and RTP packet builders. Waiting is
// always a poll() on the socket with a bounded deadline, never a sleep.
#pragma once

#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "media/endpoint.hpp"
#include "media/events.hpp"
#include "media/ports/udp_socket.hpp"
#include "media/relay/relay.hpp"

namespace icegate::media::testing {

inline Endpoint loopback(std::uint16_t port = 0, std::uint32_t addr = 0x7f000001) {
  return Endpoint{acl::Address::v4(addr), port};
}

struct Datagram {
  std::vector<std::byte> bytes;
  Endpoint from;
};

class Peer {
 public:
  explicit Peer(Endpoint at = loopback()) : sock_(std::move(ports::UdpSocket::bind(at).value())) {}
  const Endpoint& local() const { return sock_.local(); }
  int fd() const { return sock_.fd(); }

  bool send(const Endpoint& to, std::span<const std::byte> bytes) const {
    sockaddr_storage ss;
    const socklen_t len = to.to_sockaddr(ss);
    return ::sendto(sock_.fd(), bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&ss),
                    len) == static_cast<ssize_t>(bytes.size());
  }

  // The next datagram, or nullopt when none arrives within `timeout`.
  std::optional<Datagram> recv(std::chrono::milliseconds timeout = std::chrono::seconds(5)) const {
    pollfd p{sock_.fd(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
    std::vector<std::byte> buf(2048);
    sockaddr_storage ss{};
    socklen_t sl = sizeof ss;
    const auto n =
        ::recvfrom(sock_.fd(), buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&ss), &sl);
    if (n < 0) return std::nullopt;
    buf.resize(static_cast<std::size_t>(n));
    return Datagram{std::move(buf), *Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), sl)};
  }

  // The next datagram that satisfies `pred`, skipping others, within `timeout` overall.
  std::optional<Datagram> recv_until(
      const std::function<bool(const Datagram&)>& pred,
      std::chrono::milliseconds timeout = std::chrono::seconds(5)) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      auto d = recv(left);
      if (!d) return std::nullopt;
      if (pred(*d)) return d;
    }
  }

 private:
  ports::UdpSocket sock_;
};

// A plain RTP leg (rtcp-mux) on a fresh loopback socket toward `peer`; its local address
// goes to `local`.
inline void plain_leg(relay::LegConfig& leg, const Peer& peer, Endpoint& local) {
  auto socket = ports::UdpSocket::bind(loopback()).value();
  local = socket.local();
  leg.sockets = ports::PortLease::adopt(std::move(socket));
  leg.rtcp_mux = true;
  leg.remote_rtp = peer.local();
}

inline bool is_stun(const Datagram& d) {
  return !d.bytes.empty() && std::to_integer<std::uint8_t>(d.bytes[0]) <= 3;
}
inline bool is_media(const Datagram& d) {
  return !d.bytes.empty() && (std::to_integer<std::uint8_t>(d.bytes[0]) >> 6) == 2;
}

// A PCMU-like RTP packet: 12-byte header and `payload` bytes of value `fill`.
inline std::vector<std::byte> rtp_packet(std::uint16_t seq, std::uint32_t ssrc = 0x11223344,
                                         std::size_t payload = 160, std::uint8_t fill = 0xd5) {
  std::vector<std::byte> p(12 + payload, std::byte{fill});
  const std::uint32_t ts = seq * 160u;
  const std::uint8_t h[12] = {0x80,
                              0x00,
                              static_cast<std::uint8_t>(seq >> 8),
                              static_cast<std::uint8_t>(seq),
                              static_cast<std::uint8_t>(ts >> 24),
                              static_cast<std::uint8_t>(ts >> 16),
                              static_cast<std::uint8_t>(ts >> 8),
                              static_cast<std::uint8_t>(ts),
                              static_cast<std::uint8_t>(ssrc >> 24),
                              static_cast<std::uint8_t>(ssrc >> 16),
                              static_cast<std::uint8_t>(ssrc >> 8),
                              static_cast<std::uint8_t>(ssrc)};
  for (int i = 0; i < 12; ++i) p[static_cast<std::size_t>(i)] = std::byte{h[i]};
  return p;
}

// An RTCP receiver report without report blocks (8 bytes).
inline std::vector<std::byte> rtcp_rr(std::uint32_t ssrc = 0x55667788) {
  std::vector<std::byte> p = {std::byte{0x80}, std::byte{201}, std::byte{0}, std::byte{1}};
  for (int s = 24; s >= 0; s -= 8) p.push_back(static_cast<std::byte>((ssrc >> s) & 0xff));
  return p;
}

inline std::uint16_t seq_of(const Datagram& d) {
  return static_cast<std::uint16_t>((std::to_integer<unsigned>(d.bytes[2]) << 8) |
                                    std::to_integer<unsigned>(d.bytes[3]));
}

// Drains relay events until one of `kind` for `session` arrives (others are kept in `seen`).
inline std::optional<MediaEvent> wait_event(
    relay::Relay& r, EventKind kind, SessionId session, std::vector<MediaEvent>* seen = nullptr,
    std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    for (auto& e : r.drain_events()) {
      if (e.kind == kind && e.session == session) return std::move(e);
      if (seen) seen->push_back(std::move(e));
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    r.wait_events(left);
  }
}

inline std::optional<relay::SessionStats> stats_of(relay::Relay& r, SessionId id) {
  if (!r.request_stats(id)) return std::nullopt;
  auto e = wait_event(r, EventKind::stats, id);
  if (!e) return std::nullopt;
  return e->stats;
}

}  // namespace icegate::media::testing
