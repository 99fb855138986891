#include "media/ports/udp_socket.hpp"

#include <sys/socket.h>

#include <cerrno>

namespace icegate::media::ports {

Expected<UdpSocket, int> UdpSocket::bind(const Endpoint& local) noexcept {
  const int family = local.address.is_v4() ? AF_INET : AF_INET6;
  UdpSocket s;
  s.fd_.reset(::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!s.fd_) return unexpected(errno);
  sockaddr_storage ss;
  const socklen_t len = local.to_sockaddr(ss);
  if (::bind(s.fd_.get(), reinterpret_cast<const sockaddr*>(&ss), len) != 0)
    return unexpected(errno);
  sockaddr_storage bound{};
  socklen_t blen = sizeof bound;
  if (::getsockname(s.fd_.get(), reinterpret_cast<sockaddr*>(&bound), &blen) != 0) {
    return unexpected(errno);
  }
  auto ep = Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&bound), blen);
  if (!ep) return unexpected(EAFNOSUPPORT);
  s.local_ = *ep;
  return s;
}

}  // namespace icegate::media::ports
