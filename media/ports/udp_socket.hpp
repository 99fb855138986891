// An owned, non-blocking UDP socket bound to a local endpoint (the fd is a UniqueFd).
#pragma once

#include <utility>

#include "acl/expected.hpp"
#include "acl/unique_fd.hpp"
#include "media/endpoint.hpp"

namespace icegate::media::ports {

class UdpSocket {
 public:
  UdpSocket() = default;
  UdpSocket(UdpSocket&& o) noexcept = default;
  UdpSocket& operator=(UdpSocket&& o) noexcept = default;
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  // Binds a new socket to `local` (port 0 = kernel's choice). SO_REUSEADDR is deliberately not
  // set: on Linux it would let two UDP sockets share a port, and then media of one call could
  // reach another. On error: the errno value (EADDRINUSE when someone holds the port).
  static Expected<UdpSocket, int> bind(const Endpoint& local) noexcept;

  int fd() const noexcept { return fd_.get(); }
  bool valid() const noexcept { return fd_.valid(); }
  // The bound address, with the real port when bound to port 0.
  const Endpoint& local() const noexcept { return local_; }
  void close() noexcept { fd_.reset(); }

 private:
  UniqueFd fd_;
  Endpoint local_;
};

}  // namespace icegate::media::ports
