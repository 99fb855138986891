// A STUN server on a loopback UDP socket for the gateway tests: answers every Binding request
// with a configured mapped address (so a test can play "two servers that disagree"), on its own
// thread, until destroyed.
#pragma once

#include <poll.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <optional>
#include <thread>

#include "media/ports/udp_socket.hpp"
#include "media/stun/builder.hpp"
#include "media/stun/message.hpp"

namespace icegate::gateway::testing {

class FakeStunServer {
 public:
  // Binds 127.0.0.1:`port` (0 = any); answers with `mapped_ip` and the request's source port.
  explicit FakeStunServer(std::string mapped_ip, std::uint16_t port = 0)
      : mapped_(acl::Address::parse(mapped_ip).value()) {
    auto s = media::ports::UdpSocket::bind({acl::Address::v4(0x7f000001), port});
    if (s) sock_ = std::move(*s);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeStunServer() {
    stop_ = true;
    thread_.join();
  }
  bool ok() const { return sock_.valid(); }
  std::uint16_t port() const { return sock_.local().port; }
  int requests() const { return requests_; }

 private:
  void serve() {
    while (!stop_ && sock_.valid()) {
      pollfd p{sock_.fd(), POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      std::array<std::byte, 1500> buf;
      sockaddr_storage ss{};
      socklen_t len = sizeof ss;
      const auto n = ::recvfrom(sock_.fd(), buf.data(), buf.size(), 0,
                                reinterpret_cast<sockaddr*>(&ss), &len);
      if (n <= 0) continue;
      auto m = media::stun::parse(std::span<const std::byte>(buf.data(), static_cast<std::size_t>(n)));
      auto from = media::Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
      if (!m || !from || m->type.method != media::stun::method::binding) continue;
      ++requests_;
      media::stun::MessageBuilder b({media::stun::method::binding, media::stun::MessageClass::success},
                                    m->transaction_id);
      b.add_address(media::stun::attr::xor_mapped_address, {mapped_, from->port});
      b.add_fingerprint();
      const auto out = std::move(b).finish();
      ::sendto(sock_.fd(), out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&ss), len);
    }
  }

  acl::Address mapped_;
  media::ports::UdpSocket sock_;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

// A loopback UDP port that nobody listens on (bound, noted, closed).
inline std::uint16_t unused_udp_port() {
  auto s = media::ports::UdpSocket::bind({acl::Address::v4(0x7f000001), 0});
  return s ? s->local().port : 9;
}

}  // namespace icegate::gateway::testing
