// A transport address (IP + UDP port) and its conversion to and from the socket API.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "acl/address.hpp"

namespace icegate::media {

struct Endpoint {
  acl::Address address;
  std::uint16_t port = 0;

  // "192.0.2.1:5000" or "[2001:db8::1]:5000"
  std::string to_string() const;

  // Fills `ss` and returns the length to pass to sendto/bind.
  socklen_t to_sockaddr(sockaddr_storage& ss) const noexcept;
  // Reads an AF_INET/AF_INET6 sockaddr; IPv4-mapped IPv6 sources come back as IPv4.
  static std::optional<Endpoint> from_sockaddr(const sockaddr* sa, socklen_t len) noexcept;

  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

}  // namespace icegate::media

template <>
struct std::hash<icegate::media::Endpoint> {
  std::size_t operator()(const icegate::media::Endpoint& e) const noexcept {
    std::size_t h = e.port;
    for (auto b : e.address.bytes()) h = h * 131 + b;
    return h ^ static_cast<std::size_t>(e.address.family());
  }
};
