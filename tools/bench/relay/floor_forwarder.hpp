// The floor: the least work a user-space UDP forwarder can do on this machine. One thread, one
// epoll loop, recvmmsg then sendmmsg with a fixed socket -> (socket, destination) map, nothing
// else. The relay's cost per packet is measured against it in the same run.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "acl/unique_fd.hpp"
#include "media/endpoint.hpp"
#include "media/ports/udp_socket.hpp"

namespace icegate::bench {

class FloorForwarder {
 public:
  // Creates `sessions` pairs of sockets on `address`: packets to a_in()[i] go to `to_b`
  // from socket b_in()[i], and packets to b_in()[i] go to `to_a` from a_in()[i].
  FloorForwarder(unsigned sessions, const acl::Address& address, const media::Endpoint& to_a,
                 const media::Endpoint& to_b, std::size_t batch = 32);
  ~FloorForwarder();

  const std::vector<media::Endpoint>& a_in() const { return a_in_; }
  const std::vector<media::Endpoint>& b_in() const { return b_in_; }
  std::chrono::nanoseconds cpu_time() const;

 private:
  struct Route {
    int in_fd;
    int out_fd;
    sockaddr_storage to;
    socklen_t to_len;
  };
  void run();

  std::vector<media::ports::UdpSocket> sockets_;
  std::vector<Route> routes_;
  std::vector<media::Endpoint> a_in_, b_in_;
  std::size_t batch_;
  UniqueFd epoll_fd_;
  UniqueFd stop_fd_;
  std::thread thread_;
};

}  // namespace icegate::bench
