// An owned, non-blocking UDP socket bound to a local endpoint (RAII over the fd).
#pragma once

#include <utility>

#include "acl/expected.hpp"
#include "media/endpoint.hpp"

namespace icegate::media::ports {

class UdpSocket {
 public:
  UdpSocket() = default;
  ~UdpSocket() { close(); }
  UdpSocket(UdpSocket&& o) noexcept : fd_(std::exchange(o.fd_, -1)), local_(o.local_) {}
  UdpSocket& operator=(UdpSocket&& o) noexcept {
    if (this != &o) {
      close();
      fd_ = std::exchange(o.fd_, -1);
      local_ = o.local_;
    }
    return *this;
  }
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  // Binds a new socket to `local` (port 0 = kernel's choice). SO_REUSEADDR is deliberately not
  // set: on Linux it would let two UDP sockets share a port, and then media of one call could
  // reach another. On error: the errno value (EADDRINUSE when someone holds the port).
  static Expected<UdpSocket, int> bind(const Endpoint& local) noexcept;

  int fd() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }
  // The bound address, with the real port when bound to port 0.
  const Endpoint& local() const noexcept { return local_; }
  void close() noexcept;

 private:
  int fd_ = -1;
  Endpoint local_;
};

}  // namespace icegate::media::ports
