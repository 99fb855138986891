#include "gateway/stunio/stun_io.hpp"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>

namespace icegate::gateway {
namespace sc = media::stunclient;

Expected<Endpoint, std::string> resolve(const std::string& host, std::uint16_t port,
                                        acl::Family family) {
  if (auto literal = acl::Address::parse(host)) {
    if (literal->family() != family) {
      return unexpected(host + " is an IPv" + (literal->is_v4() ? "4" : "6") +
                        " address but the media address is IPv" +
                        (family == acl::Family::v4 ? "4" : "6"));
    }
    return Endpoint{*literal, port};
  }
  addrinfo hints{};
  hints.ai_family = family == acl::Family::v4 ? AF_INET : AF_INET6;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0) {
    return unexpected("cannot resolve " + host + " to an IPv" +
                      (family == acl::Family::v4 ? "4" : "6") + " address: " + gai_strerror(rc));
  }
  std::optional<Endpoint> ep;
  for (auto* p = res; p && !ep; p = p->ai_next) ep = Endpoint::from_sockaddr(p->ai_addr, p->ai_addrlen);
  ::freeaddrinfo(res);
  if (!ep) return unexpected("cannot resolve " + host + ": no usable address");
  ep->port = port;
  return *ep;
}

Expected<HostPort, std::string> parse_host_port(std::string_view text, std::uint16_t default_port) {
  HostPort hp{std::string(text), default_port};
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return unexpected("\"" + std::string(text) + "\": missing ]");
    hp.host = std::string(text.substr(1, close - 1));
    const auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return unexpected("\"" + std::string(text) + "\": expected :port after ]");
      port_text = rest.substr(1);
    }
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    const auto colon = text.find(':');
    hp.host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  if (!port_text.empty()) {
    unsigned v = 0;
    const auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), v);
    if (ec != std::errc() || p != port_text.data() + port_text.size() || v == 0 || v > 65535) {
      return unexpected("\"" + std::string(text) + "\": bad port \"" + std::string(port_text) + "\"");
    }
    hp.port = static_cast<std::uint16_t>(v);
  }
  if (hp.host.empty()) return unexpected("\"" + std::string(text) + "\": no host");
  return hp;
}

Expected<std::vector<UdpSocket>, std::string> bind_sockets(const acl::Address& local,
                                                           std::size_t count) {
  std::vector<UdpSocket> out;
  for (std::size_t i = 0; i < count; ++i) {
    auto s = UdpSocket::bind(Endpoint{local, 0});
    if (!s) {
      return unexpected("cannot bind a UDP socket to " + local.to_string() + ": " +
                        std::strerror(s.error()));
    }
    out.push_back(std::move(*s));
  }
  return out;
}

bool connect_socket(const UdpSocket& s, const Endpoint& to) {
  sockaddr_storage ss;
  const socklen_t len = to.to_sockaddr(ss);
  return ::connect(s.fd(), reinterpret_cast<const sockaddr*>(&ss), len) == 0;
}

namespace {

void send_all(std::span<UdpSocket> sockets, std::vector<sc::Outgoing>& out,
              sc::Engine& engine, sc::TimePoint now) {
  for (auto& o : out) {
    if (o.socket >= sockets.size()) continue;
    sockaddr_storage ss;
    const socklen_t len = o.to.to_sockaddr(ss);
    if (::sendto(sockets[o.socket].fd(), o.bytes.data(), o.bytes.size(), MSG_NOSIGNAL,
                 reinterpret_cast<const sockaddr*>(&ss), len) < 0 &&
        errno != EAGAIN) {
      engine.on_socket_error(o.socket, errno, now);
    }
  }
}

void receive_all(UdpSocket& s, std::size_t index, sc::Engine& engine) {
  std::array<std::byte, 2048> buf;
  for (int budget = 0; budget < 64; ++budget) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    const ssize_t n =
        ::recvfrom(s.fd(), buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&ss), &len);
    const auto now = sc::Clock::now();
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EINTR) continue;
      engine.on_socket_error(index, errno, now);
      return;
    }
    auto from = Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), len);
    if (!from) continue;
    engine.on_datagram(index, std::span<const std::byte>(buf.data(), static_cast<std::size_t>(n)),
                       *from, now);
  }
}

}  // namespace

DriveResult drive(sc::Engine& engine, std::span<UdpSocket> sockets,
                  std::optional<sc::TimePoint> deadline, const std::atomic<bool>* stop,
                  int wake_fd) {
  std::vector<pollfd> fds;
  for (auto& s : sockets) fds.push_back({s.fd(), POLLIN, 0});
  if (wake_fd >= 0) fds.push_back({wake_fd, POLLIN, 0});
  for (;;) {
    if (stop && stop->load()) return DriveResult::stopped;
    auto now = sc::Clock::now();
    auto out = engine.poll(now);
    send_all(sockets, out, engine, now);
    const auto wake = engine.next_wakeup();
    if (!wake) return DriveResult::done;
    if (deadline && now >= *deadline) return DriveResult::deadline;
    auto until = *wake;
    if (deadline && *deadline < until) until = *deadline;
    int timeout_ms = 0;
    if (until > now) {
      timeout_ms = static_cast<int>(
          std::chrono::ceil<std::chrono::milliseconds>(until - now).count());
    }
    if (::poll(fds.data(), fds.size(), timeout_ms) < 0 && errno != EINTR) return DriveResult::stopped;
    for (std::size_t i = 0; i < sockets.size(); ++i) {
      if (fds[i].revents & (POLLIN | POLLERR)) receive_all(sockets[i], i, engine);
    }
    if (wake_fd >= 0 && (fds.back().revents & POLLIN)) return DriveResult::stopped;
  }
}

}  // namespace icegate::gateway
