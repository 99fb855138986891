#include "traffic.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <thread>

namespace icegate::bench {
namespace {

using Clock = std::chrono::steady_clock;

std::uint64_t now_ns() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
          .count());
}

void set_buffers(int fd) {
  const int size = 16 << 20;
  // FORCE needs CAP_NET_ADMIN; without it the plain option is capped at rmem_max.
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  }
  if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) != 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  }
}

// RTP header (SSRC = session * 2 + direction) and the send time in the first payload bytes.
void stamp(std::byte* p, std::size_t size, std::uint32_t ssrc, std::uint16_t seq) {
  std::memset(p, 0xd5, size);
  p[0] = std::byte{0x80};
  p[1] = std::byte{0};
  p[2] = static_cast<std::byte>(seq >> 8);
  p[3] = static_cast<std::byte>(seq);
  const std::uint32_t ts = seq * 160u;
  for (int i = 0; i < 4; ++i) p[4 + i] = static_cast<std::byte>(ts >> (24 - 8 * i));
  for (int i = 0; i < 4; ++i) p[8 + i] = static_cast<std::byte>(ssrc >> (24 - 8 * i));
  const std::uint64_t t = now_ns();
  std::memcpy(p + 12, &t, sizeof t);
}

class Sender {
 public:
  static constexpr std::size_t kTagRoom = 64;  // SRTP tag (and SRTCP index) room per slot

  Sender(int fd, std::size_t size, std::size_t capacity,
         std::function<std::size_t(std::span<std::byte>, std::size_t)> protect = {})
      : fd_(fd), size_(size), slot_(size + kTagRoom), protect_(std::move(protect)) {
    buf_.resize(capacity * slot_);
    iov_.resize(capacity);
    msgs_.resize(capacity);
    to_.resize(capacity);
  }
  void add(const media::Endpoint& to, std::uint32_t ssrc, std::uint16_t seq) {
    const std::size_t i = n_++;
    std::byte* p = buf_.data() + i * slot_;
    stamp(p, size_, ssrc, seq);
    const std::size_t len = protect_ ? protect_(std::span<std::byte>(p, slot_), size_) : size_;
    iov_[i] = {p, len};
    msgs_[i].msg_hdr = {};
    msgs_[i].msg_hdr.msg_iov = &iov_[i];
    msgs_[i].msg_hdr.msg_iovlen = 1;
    msgs_[i].msg_hdr.msg_name = &to_[i];
    msgs_[i].msg_hdr.msg_namelen = to.to_sockaddr(to_[i]);
  }
  bool full() const { return n_ == msgs_.size(); }
  std::uint64_t flush() {
    std::uint64_t sent = 0;
    std::size_t off = 0;
    while (off < n_) {
      const int r = ::sendmmsg(fd_, msgs_.data() + off, static_cast<unsigned>(n_ - off), 0);
      if (r <= 0) break;
      sent += static_cast<std::uint64_t>(r);
      off += static_cast<std::size_t>(r);
    }
    n_ = 0;
    return sent;
  }

 private:
  int fd_;
  std::size_t size_, slot_;
  std::function<std::size_t(std::span<std::byte>, std::size_t)> protect_;
  std::size_t n_ = 0;
  std::vector<std::byte> buf_;
  std::vector<iovec> iov_;
  std::vector<mmsghdr> msgs_;
  std::vector<sockaddr_storage> to_;
};

struct Receiver {
  std::atomic<std::uint64_t> received{0};
  std::atomic<std::uint64_t> last_ns{0};
  std::atomic<bool> stop{false};
  std::vector<std::uint32_t> latency_ns;
  std::function<std::size_t(std::span<std::byte>, std::size_t)> unprotect_a;

  void run(int fd_a, int fd_b) {
    constexpr std::size_t kBatch = 64, kSlot = 2048;
    std::vector<std::byte> buf(kBatch * kSlot);
    std::vector<mmsghdr> msgs(kBatch);
    std::vector<iovec> iov(kBatch);
    latency_ns.reserve(1 << 20);
    pollfd p[2] = {{fd_a, POLLIN, 0}, {fd_b, POLLIN, 0}};
    while (!stop.load(std::memory_order_relaxed)) {
      if (::poll(p, 2, 20) <= 0) continue;
      for (auto& pf : p) {
        if ((pf.revents & POLLIN) == 0) continue;
        for (std::size_t i = 0; i < kBatch; ++i) {
          iov[i] = {buf.data() + i * kSlot, kSlot};
          msgs[i].msg_hdr = {};
          msgs[i].msg_hdr.msg_iov = &iov[i];
          msgs[i].msg_hdr.msg_iovlen = 1;
        }
        const int n = ::recvmmsg(pf.fd, msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
        if (n <= 0) continue;
        const std::uint64_t t = now_ns();
        std::uint64_t bad = 0;  // SRTP that did not verify: not delivered
        for (int i = 0; i < n; ++i) {
          if (msgs[static_cast<std::size_t>(i)].msg_len < 20) continue;
          if (pf.fd == fd_a && unprotect_a) {
            const std::span<std::byte> pkt(buf.data() + static_cast<std::size_t>(i) * kSlot, kSlot);
            if (unprotect_a(pkt, msgs[static_cast<std::size_t>(i)].msg_len) < 20) {
              ++bad;
              continue;
            }
          }
          std::uint64_t sent;
          std::memcpy(&sent, buf.data() + static_cast<std::size_t>(i) * kSlot + 12, sizeof sent);
          if (latency_ns.size() < latency_ns.capacity()) {
            latency_ns.push_back(
                static_cast<std::uint32_t>(std::min<std::uint64_t>(t - sent, UINT32_MAX)));
          }
        }
        received.fetch_add(static_cast<std::uint64_t>(n) - bad, std::memory_order_relaxed);
        last_ns.store(t, std::memory_order_relaxed);
      }
    }
  }
};

}  // namespace

Peers Peers::make(const acl::Address& address) {
  auto a = media::ports::UdpSocket::bind(media::Endpoint{address, 0});
  auto b = media::ports::UdpSocket::bind(media::Endpoint{address, 0});
  if (!a || !b) throw std::runtime_error("peer bind failed");
  // Blocking sends: the generator should wait for buffer room, not lose packets itself.
  for (int fd : {a->fd(), b->fd()}) {
    const int fl = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    set_buffers(fd);
  }
  return Peers{std::move(*a), std::move(*b)};
}

double percentile(std::vector<std::uint32_t>& s, double p) {
  if (s.empty()) return 0;
  const auto k = static_cast<std::size_t>(p * static_cast<double>(s.size() - 1));
  std::nth_element(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(k), s.end());
  return s[k] / 1000.0;
}

TrafficResult run_traffic(const Peers& peers, const TrafficConfig& c) {
  const std::size_t n = c.a_in.size();
  Receiver rx;
  rx.unprotect_a = c.unprotect_a;
  std::thread rx_thread([&] { rx.run(peers.a.fd(), peers.b.fd()); });
  constexpr std::size_t kSlots = 10;
  const std::size_t per_slot = c.flood ? 64 : (n + kSlots - 1) / kSlots;
  Sender to_a(peers.a.fd(), c.size, std::max<std::size_t>(per_slot, 1), c.protect_a);
  Sender to_b(peers.b.fd(), c.size, std::max<std::size_t>(per_slot, 1));
  std::vector<std::uint16_t> seq(2 * n, 0);
  TrafficResult r;
  const auto start = Clock::now();
  const auto end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(c.seconds));
  if (c.flood) {
    std::size_t next = 0;
    while (Clock::now() < end) {
      for (std::size_t k = 0; k < per_slot; ++k, ++next) {
        const std::size_t i = next % n;
        to_a.add(c.a_in[i], static_cast<std::uint32_t>(2 * i), seq[2 * i]++);
        to_b.add(c.b_in[i], static_cast<std::uint32_t>(2 * i + 1), seq[2 * i + 1]++);
      }
      r.sent += to_a.flush() + to_b.flush();
    }
  } else {
    const auto slot = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(1.0 / c.rate / kSlots));
    auto at = start;
    for (std::size_t k = 0; at < end; ++k, at += slot) {
      std::this_thread::sleep_until(at);  // pacing the load generator, not waiting on a result
      for (std::size_t i = k % kSlots; i < n; i += kSlots) {
        to_a.add(c.a_in[i], static_cast<std::uint32_t>(2 * i), seq[2 * i]++);
        to_b.add(c.b_in[i], static_cast<std::uint32_t>(2 * i + 1), seq[2 * i + 1]++);
      }
      r.sent += to_a.flush() + to_b.flush();
    }
  }
  r.send_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  // Drain: wait until nothing more arrives for 200 ms (bounded to 3 s).
  const auto drain_deadline = Clock::now() + std::chrono::seconds(3);
  std::uint64_t seen = rx.received.load();
  while (Clock::now() < drain_deadline && seen < r.sent) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const std::uint64_t now_seen = rx.received.load();
    if (now_seen == seen) break;
    seen = now_seen;
  }
  rx.stop = true;
  rx_thread.join();
  r.received = rx.received.load();
  const auto start_ns = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(start.time_since_epoch()).count());
  r.seconds = static_cast<double>(rx.last_ns.load() - std::min(rx.last_ns.load(), start_ns)) / 1e9;
  r.latency_p50_us = percentile(rx.latency_ns, 0.50);
  r.latency_p99_us = percentile(rx.latency_ns, 0.99);
  return r;
}

}  // namespace icegate::bench
