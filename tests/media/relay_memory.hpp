// A relay Session driven in memory: datagrams go straight into Session::on_datagram with any
// source address and an injected clock, and what the session would send comes back as a value.
// No worker thread, no waiting. The legs still own real (loopback) sockets, because a Session
// is built from port leases; only ICE and DTLS transmits ever use them.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "media/endpoint.hpp"
#include "media/events.hpp"
#include "media/relay/session.hpp"
#include "relay_test_peer.hpp"

namespace icegate::media::testing {

using relay::Clock;
using Component = relay::Session::Component;

inline Endpoint at(const char* address, std::uint16_t port) {
  return Endpoint{*acl::Address::parse(address), port};
}

// A leg on one loopback socket (rtcp-mux) or two (RTP and RTCP) toward `remote`.
inline relay::LegConfig memory_leg(std::optional<Endpoint> remote, bool mux = true) {
  relay::LegConfig l;
  auto rtp = ports::UdpSocket::bind(loopback()).value();
  if (mux) {
    l.sockets = ports::PortLease::adopt(std::move(rtp));
  } else {
    l.sockets = ports::PortLease::adopt(std::move(rtp), ports::UdpSocket::bind(loopback()).value());
  }
  l.rtcp_mux = mux;
  l.remote_rtp = remote;
  return l;
}

// RTP with payload type `pt` (rtp_packet() is PCMU, type 0).
inline std::vector<std::byte> rtp_with_type(std::uint8_t pt, std::uint16_t seq = 1,
                                            std::uint32_t ssrc = 0x11223344) {
  auto p = rtp_packet(seq, ssrc);
  p[1] = static_cast<std::byte>(pt & 0x7f);
  return p;
}

class MemorySession {
 public:
  struct Sent {
    Endpoint to;
    std::vector<std::byte> bytes;
    int fd = -1;  // the socket it leaves from
  };

  MemorySession(relay::SessionConfig config, Clock::time_point now) {
    auto made = relay::Session::create(std::move(config), now);
    if (!made) {
      ADD_FAILURE() << "Session::create: " << made.error();
      return;
    }
    session_ = std::move(made).value();
    session_->for_each_socket([this](relay::Session::SocketTag& t) { tags_.push_back(t); });
    session_->start(now, events);
  }
  bool ok() const { return session_ != nullptr; }
  relay::Session& session() { return *session_; }

  // The socket of `leg`'s component `c` (-1 when the leg has none).
  int fd(Leg leg, Component c) const {
    for (const auto& t : tags_) {
      if (t.leg == static_cast<std::uint8_t>(leg) && t.component == c) return t.fd;
    }
    return -1;
  }

  // One datagram arriving on `leg`'s socket for `c` from `from`: what the relay sends on, or
  // nullopt when it dropped the datagram (or handled it itself: STUN, DTLS).
  std::optional<Sent> receive(Leg leg, Component c, const std::vector<std::byte>& bytes,
                              const Endpoint& from, Clock::time_point now) {
    const relay::Session::SocketTag* tag = nullptr;
    for (const auto& t : tags_) {
      if (t.leg == static_cast<std::uint8_t>(leg) && t.component == c) tag = &t;
    }
    if (tag == nullptr) {
      ADD_FAILURE() << "leg " << to_string(leg) << " has no such socket";
      return std::nullopt;
    }
    std::vector<std::byte> buf(2048);
    std::copy(bytes.begin(), bytes.end(), buf.begin());
    sockaddr_storage ss{};
    const socklen_t sl = from.to_sockaddr(ss);
    relay::Outgoing out;
    if (!session_->on_datagram(*tag, buf, bytes.size(), ss, sl, now, out, events)) {
      return std::nullopt;
    }
    buf.resize(out.len);
    return Sent{*Endpoint::from_sockaddr(out.to, out.to_len), std::move(buf), out.fd};
  }

  void tick(Clock::time_point now) { session_->on_timer(now, events); }
  relay::LegStats stats(Leg leg) const {
    return session_->stats().legs[static_cast<std::size_t>(leg)];
  }
  // Events of `kind` seen so far (and forgets them, so the next call sees only newer ones).
  std::vector<MediaEvent> take(EventKind kind) {
    std::vector<MediaEvent> out, rest;
    for (auto& e : events) (e.kind == kind ? out : rest).push_back(std::move(e));
    events = std::move(rest);
    return out;
  }

  std::vector<MediaEvent> events;

 private:
  std::unique_ptr<relay::Session> session_;
  std::vector<relay::Session::SocketTag> tags_;
};

}  // namespace icegate::media::testing
