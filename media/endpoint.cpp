#include "media/endpoint.hpp"

#include <cstring>

namespace icegate::media {

std::string Endpoint::to_string() const {
  // Appended piece by piece: `"[" + std::string` trips GCC 12's -Wrestrict false positive at
  // -O2 (GCC PR 105329), which breaks Release builds with ICEGATE_WERROR.
  const bool v6 = !address.is_v4();
  std::string out;
  if (v6) out += '[';
  out += address.to_string();
  if (v6) out += ']';
  out += ':';
  out += std::to_string(port);
  return out;
}

socklen_t Endpoint::to_sockaddr(sockaddr_storage& ss) const noexcept {
  std::memset(&ss, 0, sizeof ss);
  if (address.is_v4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    std::memcpy(&sin->sin_addr, address.bytes().data(), 4);
    return sizeof(sockaddr_in);
  }
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(port);
  std::memcpy(&sin6->sin6_addr, address.bytes().data(), 16);
  return sizeof(sockaddr_in6);
}

std::optional<Endpoint> Endpoint::from_sockaddr(const sockaddr* sa, socklen_t len) noexcept {
  if (sa == nullptr) return std::nullopt;
  if (sa->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    sockaddr_in sin;
    std::memcpy(&sin, sa, sizeof sin);
    std::array<std::uint8_t, 4> b{};
    std::memcpy(b.data(), &sin.sin_addr, 4);
    return Endpoint{acl::Address::v4(b), ntohs(sin.sin_port)};
  }
  if (sa->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    sockaddr_in6 sin6;
    std::memcpy(&sin6, sa, sizeof sin6);
    std::array<std::uint8_t, 16> b{};
    std::memcpy(b.data(), &sin6.sin6_addr, 16);
    return Endpoint{acl::Address::v6(b).unmapped(), ntohs(sin6.sin6_port)};
  }
  return std::nullopt;
}

}  // namespace icegate::media
