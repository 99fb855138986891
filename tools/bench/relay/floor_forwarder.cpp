#include "floor_forwarder.hpp"

#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <ctime>
#include <stdexcept>

namespace icegate::bench {

FloorForwarder::FloorForwarder(unsigned sessions, const acl::Address& address,
                               const media::Endpoint& to_a, const media::Endpoint& to_b,
                               std::size_t batch)
    : batch_(batch) {
  epoll_fd_.reset(::epoll_create1(EPOLL_CLOEXEC));
  stop_fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!epoll_fd_ || !stop_fd_) throw std::runtime_error("floor: epoll/eventfd failed");
  sockets_.reserve(2u * sessions);
  routes_.reserve(2u * sessions);
  for (unsigned i = 0; i < sessions; ++i) {
    auto a = media::ports::UdpSocket::bind(media::Endpoint{address, 0});
    auto b = media::ports::UdpSocket::bind(media::Endpoint{address, 0});
    if (!a || !b) throw std::runtime_error("floor: bind failed");
    a_in_.push_back(a->local());
    b_in_.push_back(b->local());
    Route ra{a->fd(), b->fd(), {}, 0};
    ra.to_len = to_b.to_sockaddr(ra.to);
    Route rb{b->fd(), a->fd(), {}, 0};
    rb.to_len = to_a.to_sockaddr(rb.to);
    routes_.push_back(ra);
    routes_.push_back(rb);
    sockets_.push_back(std::move(*a));
    sockets_.push_back(std::move(*b));
  }
  for (auto& r : routes_) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = &r;
    ::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, r.in_fd, &ev);
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;
  ::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, stop_fd_.get(), &ev);
  thread_ = std::thread([this] { run(); });
}

FloorForwarder::~FloorForwarder() {
  const std::uint64_t one = 1;
  [[maybe_unused]] auto r = ::write(stop_fd_.get(), &one, sizeof one);
  thread_.join();
}

std::chrono::nanoseconds FloorForwarder::cpu_time() const {
  clockid_t cid;
  timespec ts{};
  if (pthread_getcpuclockid(const_cast<std::thread&>(thread_).native_handle(), &cid) != 0 ||
      ::clock_gettime(cid, &ts) != 0) {
    return {};
  }
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

void FloorForwarder::run() {
  constexpr std::size_t kSlot = 2048;
  std::vector<std::byte> buf(batch_ * kSlot);
  std::vector<mmsghdr> msgs(batch_);
  std::vector<iovec> iov(batch_);
  epoll_event evs[256];
  for (;;) {
    const int n = ::epoll_wait(epoll_fd_.get(), evs, 256, -1);
    for (int e = 0; e < n; ++e) {
      const auto* r = static_cast<const Route*>(evs[e].data.ptr);
      if (r == nullptr) return;
      for (std::size_t i = 0; i < batch_; ++i) {
        iov[i] = {buf.data() + i * kSlot, kSlot};
        msgs[i].msg_hdr = {};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
      }
      const int got =
          ::recvmmsg(r->in_fd, msgs.data(), static_cast<unsigned>(batch_), MSG_DONTWAIT, nullptr);
      if (got <= 0) continue;
      for (int i = 0; i < got; ++i) {
        iov[static_cast<std::size_t>(i)].iov_len = msgs[static_cast<std::size_t>(i)].msg_len;
        auto& h = msgs[static_cast<std::size_t>(i)].msg_hdr;
        h.msg_name = const_cast<sockaddr_storage*>(&r->to);
        h.msg_namelen = r->to_len;
      }
      ::sendmmsg(r->out_fd, msgs.data(), static_cast<unsigned>(got), MSG_DONTWAIT);
    }
  }
}

}  // namespace icegate::bench
