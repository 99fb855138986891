#include "media/ports/port_allocator.hpp"

#include <cerrno>
#include <cstring>
#include <deque>
#include <mutex>

namespace icegate::media::ports {
namespace detail {

// The port table. Index i stands for port min + i. A free port is in exactly one list: `pairs_`
// (keyed by the even port, both ports free) or `singles_` (free, sibling busy or out of range).
class PortPool {
 public:
  explicit PortPool(AllocatorConfig c) : cfg_(std::move(c)) {
    const std::size_t n = std::size_t{cfg_.max_port} - cfg_.min_port + 1;
    state_.assign(n, State::in_use);
    next_.assign(n, -1);
    prev_.assign(n, -1);
    list_of_.assign(n, kNone);
    for (std::size_t i = 0; i < n; ++i) make_free(static_cast<int>(i));
  }

  Expected<PortLease, PortError> allocate(PortShape shape, const std::shared_ptr<PortPool>& self) {
    std::lock_guard lock(mu_);
    expire(now());
    for (;;) {
      if (shape == PortShape::pair) {
        if (lists_[kPairs].head < 0) return exhausted("port pair");
        const int even = pop_front(kPairs);
        state_[even] = state_[even + 1] = State::in_use;
        auto rtp = bind(even);
        if (!rtp) {
          if (!is_port_problem(rtp.error())) return bind_error(even, rtp.error(), {even, even + 1});
          make_free(even + 1);
          continue;
        }
        auto rtcp = bind(even + 1);
        if (!rtcp) {
          rtp->close();
          if (!is_port_problem(rtcp.error()))
            return bind_error(even + 1, rtcp.error(), {even, even + 1});
          make_free(even);
          continue;
        }
        return lease(self, std::move(*rtp), std::move(*rtcp));
      }
      int i = -1;
      if (lists_[kSingles].head >= 0) {
        i = pop_front(kSingles);
        state_[i] = State::in_use;
      } else if (lists_[kPairs].head >= 0) {
        i = pop_front(kPairs);
        state_[i] = State::in_use;
        make_free(i + 1);  // lands in singles: its sibling is now busy
      } else {
        return exhausted("port");
      }
      auto s = bind(i);
      if (!s) {
        if (!is_port_problem(s.error())) return bind_error(i, s.error(), {i});
        continue;
      }
      return lease(self, std::move(*s), std::nullopt);
    }
  }

  void release(std::uint16_t port) {
    std::lock_guard lock(mu_);
    const int i = port - cfg_.min_port;
    if (port < cfg_.min_port || port > cfg_.max_port || state_[i] != State::in_use) return;
    state_[i] = State::quarantined;
    quarantine_.push_back({i, now() + cfg_.quarantine});
  }

  AllocatorStats stats() {
    std::lock_guard lock(mu_);
    expire(now());
    AllocatorStats s = counters_;
    s.ports = state_.size();
    for (auto st : state_) {
      s.in_use += st == State::in_use;
      s.quarantined += st == State::quarantined;
      s.unbindable += st == State::bad;
    }
    s.free_pairs = lists_[kPairs].size;
    s.free_singles = lists_[kSingles].size;
    return s;
  }

  std::vector<BindFailure> take_failures() {
    std::lock_guard lock(mu_);
    return std::exchange(failures_, {});
  }

 private:
  enum class State : std::uint8_t { free, in_use, quarantined, bad };
  static constexpr std::uint8_t kPairs = 0, kSingles = 1, kNone = 2;
  struct List {
    int head = -1, tail = -1;
    std::size_t size = 0;
  };
  struct Hold {
    int index;
    Clock::time_point until;
  };

  Clock::time_point now() const { return cfg_.now ? cfg_.now() : Clock::now(); }
  std::uint16_t port_of(int i) const { return static_cast<std::uint16_t>(cfg_.min_port + i); }
  int sibling(int i) const {
    const int s = (port_of(i) % 2 == 0) ? i + 1 : i - 1;
    return (s < 0 || s >= static_cast<int>(state_.size())) ? -1 : s;
  }
  static bool is_port_problem(int err) { return err == EADDRINUSE || err == EACCES; }

  void push_back(std::uint8_t l, int i) {
    List& L = lists_[l];
    prev_[i] = L.tail;
    next_[i] = -1;
    if (L.tail >= 0)
      next_[L.tail] = i;
    else
      L.head = i;
    L.tail = i;
    list_of_[i] = l;
    ++L.size;
  }
  void unlink(int i) {
    List& L = lists_[list_of_[i]];
    if (prev_[i] >= 0)
      next_[prev_[i]] = next_[i];
    else
      L.head = next_[i];
    if (next_[i] >= 0)
      prev_[next_[i]] = prev_[i];
    else
      L.tail = prev_[i];
    prev_[i] = next_[i] = -1;
    list_of_[i] = kNone;
    --L.size;
  }
  int pop_front(std::uint8_t l) {
    const int i = lists_[l].head;
    unlink(i);
    return i;
  }

  // A port becomes free: it joins its free sibling as a pair, or waits as a single.
  void make_free(int i) {
    state_[i] = State::free;
    const int s = sibling(i);
    if (s >= 0 && state_[s] == State::free) {
      unlink(s);
      push_back(kPairs, std::min(i, s));
    } else {
      push_back(kSingles, i);
    }
  }

  void expire(Clock::time_point t) {
    // Both queues are FIFO with one fixed hold time each, so their fronts expire first.
    for (auto* q : {&quarantine_, &held_bad_}) {
      while (!q->empty() && q->front().until <= t) {
        make_free(q->front().index);
        q->pop_front();
      }
    }
  }

  Expected<UdpSocket, int> bind(int i) {
    auto s = UdpSocket::bind(Endpoint{cfg_.address, port_of(i)});
    if (!s && is_port_problem(s.error())) {
      state_[i] = State::bad;
      held_bad_.push_back({i, now() + cfg_.bad_port_retry});
      ++counters_.bind_failures;
      failures_.push_back({port_of(i), s.error()});
    }
    return s;
  }

  Expected<PortLease, PortError> exhausted(const char* what) {
    ++counters_.exhausted;
    std::size_t used = 0, quarantined = 0, bad = 0;
    for (auto st : state_) {
      used += st == State::in_use;
      quarantined += st == State::quarantined;
      bad += st == State::bad;
    }
    return unexpected(PortError{
        PortErrc::exhausted,
        "no free RTP " + std::string(what) + " in " + std::to_string(cfg_.min_port) + "-" +
            std::to_string(cfg_.max_port) + " (in use " + std::to_string(used) + ", quarantined " +
            std::to_string(quarantined) + ", unbindable " + std::to_string(bad) + ")"});
  }

  Expected<PortLease, PortError> bind_error(int i, int err, std::initializer_list<int> taken) {
    for (int t : taken) make_free(t);
    return unexpected(PortError{PortErrc::bind_error, "cannot bind " + cfg_.address.to_string() +
                                                          ":" + std::to_string(port_of(i)) + ": " +
                                                          std::strerror(err)});
  }

  PortLease lease(const std::shared_ptr<PortPool>& self, UdpSocket rtp,
                  std::optional<UdpSocket> rtcp) {
    ++counters_.allocations;
    PortLease l = PortLease::adopt(std::move(rtp), std::move(rtcp));
    l.pool_ = self;
    return l;
  }

  AllocatorConfig cfg_;
  std::mutex mu_;
  std::vector<State> state_;
  std::vector<int> next_, prev_;
  std::vector<std::uint8_t> list_of_;
  List lists_[2];
  std::deque<Hold> quarantine_, held_bad_;
  std::vector<BindFailure> failures_;
  AllocatorStats counters_;
};

}  // namespace detail

PortLease& PortLease::operator=(PortLease&& o) noexcept {
  if (this != &o) {
    reset();
    pool_ = std::move(o.pool_);
    rtp_ = std::move(o.rtp_);
    rtcp_ = std::move(o.rtcp_);
  }
  return *this;
}

PortLease PortLease::adopt(UdpSocket rtp, std::optional<UdpSocket> rtcp) {
  PortLease l;
  l.rtp_ = std::move(rtp);
  l.rtcp_ = std::move(rtcp);
  return l;
}

void PortLease::reset() noexcept {
  // Close before releasing: a port must never be bindable by us twice at the same time.
  const std::uint16_t rtp_port = rtp_.valid() ? rtp_.local().port : 0;
  const std::uint16_t rtcp_port = rtcp_ && rtcp_->valid() ? rtcp_->local().port : 0;
  rtp_.close();
  rtcp_.reset();
  if (auto pool = std::move(pool_)) {
    if (rtp_port != 0) pool->release(rtp_port);
    if (rtcp_port != 0) pool->release(rtcp_port);
  }
}

Expected<PortAllocator, std::string> PortAllocator::create(AllocatorConfig config) {
  if (config.min_port == 0 || config.min_port > config.max_port) {
    return unexpected("RTP port range " + std::to_string(config.min_port) + "-" +
                      std::to_string(config.max_port) + " is empty");
  }
  if (config.quarantine.count() < 0 || config.bad_port_retry.count() < 0) {
    return unexpected(std::string("port quarantine must not be negative"));
  }
  return PortAllocator(std::make_shared<detail::PortPool>(std::move(config)));
}

Expected<PortLease, PortError> PortAllocator::allocate(PortShape shape) {
  return pool_->allocate(shape, pool_);
}

AllocatorStats PortAllocator::stats() const {
  return pool_->stats();
}

std::vector<BindFailure> PortAllocator::take_bind_failures() {
  return pool_->take_failures();
}

}  // namespace icegate::media::ports
