#include "media/relay/worker.hpp"

#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <string>
#include <system_error>

namespace icegate::media::relay {

Worker::Worker(WorkerOptions options, Mailbox<MediaEvent>& events)
    : opts_(std::move(options)), events_out_(events) {
  if (opts_.batch == 0) opts_.batch = 1;
  epoll_fd_.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_fd_) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // the command mailbox
  if (::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, commands_.fd(), &ev) != 0) {
    throw std::system_error(errno, std::generic_category(), "epoll_ctl");  // epoll_fd_ closes
  }
  const std::size_t b = opts_.batch;
  slots_.resize(b * kSlot);
  recv_.resize(b);
  recv_iov_.resize(b);
  from_.resize(b);
  send_.resize(b);
  send_iov_.resize(b);
  send_fd_.resize(b);
  send_counters_.resize(b);
  for (std::size_t i = 0; i < b; ++i) {
    recv_iov_[i] = {slots_.data() + i * kSlot, kSlot - kTransformHeadroom};
    recv_[i].msg_hdr = {};
    recv_[i].msg_hdr.msg_iov = &recv_iov_[i];
    recv_[i].msg_hdr.msg_iovlen = 1;
    recv_[i].msg_hdr.msg_name = &from_[i];
  }
  thread_ = std::thread([this] { run(); });
  const std::string name = "icegate-mw" + std::to_string(opts_.index);
  pthread_setname_np(thread_.native_handle(), name.substr(0, 15).c_str());
}

Worker::~Worker() {
  post(StopCmd{});
  if (thread_.joinable()) thread_.join();
}

std::chrono::nanoseconds Worker::cpu_time() const {
  clockid_t cid;
  timespec ts{};
  if (pthread_getcpuclockid(const_cast<std::thread&>(thread_).native_handle(), &cid) != 0 ||
      ::clock_gettime(cid, &ts) != 0) {
    return {};
  }
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

int Worker::epoll_timeout_ms(Clock::time_point t) const {
  // Never longer than the heartbeat period: an idle worker must still show that it is alive.
  constexpr auto kIdle = static_cast<int>(kHeartbeatPeriod.count());
  if (timers_.empty()) return kIdle;
  const auto at = timers_.top().at;
  if (at <= t) return 0;
  // Round up: waking a millisecond early would only spin once more.
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(at - t).count();
  return ms > kIdle ? kIdle : static_cast<int>(ms);
}

void Worker::run() {
  constexpr int kMaxEvents = 256;
  epoll_event evs[kMaxEvents];
  while (!stop_) {
    heartbeat_.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                     std::memory_order_relaxed);
    const int n = ::epoll_wait(epoll_fd_.get(), evs, kMaxEvents, epoll_timeout_ms(now()));
    const auto t = now();
    bool commands = false;
    for (int i = 0; i < n; ++i) {
      if (evs[i].data.ptr == nullptr) {
        commands = true;
        continue;
      }
      on_readable(*static_cast<const Session::SocketTag*>(evs[i].data.ptr));
    }
    run_timers(t);
    // After the event batch: a destroyed session's tags must not be referenced any more.
    if (commands) process_commands(t);
    events_out_.push_all(pending_events_);
  }
  sessions_.clear();
}

void Worker::on_readable(const Session::SocketTag& tag) {
  const std::size_t b = opts_.batch;
  for (std::size_t i = 0; i < b; ++i) recv_[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
  const int n = ::recvmmsg(tag.fd, recv_.data(), static_cast<unsigned>(b), MSG_DONTWAIT, nullptr);
  if (n <= 0) return;  // EAGAIN (another reader took it) or a transient error: nothing to do
  // Arrival time per read, not per epoll round: the jitter estimate (RFC 3550 A.8) is only as
  // good as this timestamp, and a round can take long under load.
  const auto now = this->now();
  Session& s = *tag.session;
  std::size_t out = 0;
  for (int i = 0; i < n; ++i) {
    const auto& h = recv_[i].msg_hdr;
    if ((h.msg_flags & MSG_TRUNC) != 0) {
      s.count_drop(tag, Drop::truncated);
      continue;
    }
    Outgoing o;
    std::span<std::byte> slot(slots_.data() + static_cast<std::size_t>(i) * kSlot, kSlot);
    if (!s.on_datagram(tag, slot, recv_[i].msg_len, from_[i], h.msg_namelen, now, o,
                       pending_events_)) {
      continue;
    }
    send_iov_[out] = {slot.data(), o.len};
    auto& m = send_[out].msg_hdr;
    m = {};
    m.msg_name = const_cast<sockaddr*>(o.to);
    m.msg_namelen = o.to_len;
    m.msg_iov = &send_iov_[out];
    m.msg_iovlen = 1;
    send_fd_[out] = o.fd;
    send_counters_[out] = o.counters;
    ++out;
  }
  send_batch(out, tag);
  if (s.take_timers_dirty()) arm(s);
}

void Worker::send_batch(std::size_t n, const Session::SocketTag& tag) {
  std::size_t i = 0;
  while (i < n) {
    // One sendmmsg per run of datagrams leaving on the same socket.
    std::size_t end = i + 1;
    while (end < n && send_fd_[end] == send_fd_[i]) ++end;
    const int sent =
        ::sendmmsg(send_fd_[i], &send_[i], static_cast<unsigned>(end - i), MSG_DONTWAIT);
    if (sent <= 0) {
      // EAGAIN: the socket buffer is full and retrying now cannot help: drop the run. Any other
      // error belongs to the first datagram only (e.g. a destination of the wrong family).
      const bool full = sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
      const std::size_t lost = full ? end - i : 1;
      for (std::size_t k = 0; k < lost; ++k) tag.session->count_drop(tag, Drop::send_failed);
      i += lost;
      continue;
    }
    for (int k = 0; k < sent; ++k) {
      LegStats& c = *send_counters_[i + static_cast<std::size_t>(k)];
      ++c.packets_out;
      c.bytes_out += send_iov_[i + static_cast<std::size_t>(k)].iov_len;
    }
    i += static_cast<std::size_t>(sent);
  }
}

void Worker::process_commands(Clock::time_point now) {
  for (auto& cmd : commands_.drain()) {
    if (auto* c = std::get_if<CreateCmd>(&cmd)) {
      create(std::move(c->config), now);
    } else if (auto* u = std::get_if<UpdateCmd>(&cmd)) {
      if (auto it = sessions_.find(u->id); it != sessions_.end()) {
        it->second->update(u->leg, std::move(u->update), now, pending_events_);
        arm(*it->second);
      }
    } else if (auto* d = std::get_if<DestroyCmd>(&cmd)) {
      destroy(d->id);
    } else if (auto* st = std::get_if<StatsCmd>(&cmd)) {
      MediaEvent e{EventKind::stats, st->id, std::nullopt, std::nullopt, {}, std::nullopt};
      if (auto it = sessions_.find(st->id); it != sessions_.end()) {
        e.stats = it->second->stats();
      } else {
        e.detail = "no such session";
      }
      pending_events_.push_back(std::move(e));
    } else if (std::holds_alternative<StopCmd>(cmd)) {
      stop_ = true;
    }
  }
}

void Worker::create(SessionConfig config, Clock::time_point now) {
  const SessionId id = config.id;
  auto fail = [&](std::string why) {
    pending_events_.push_back(
        MediaEvent{EventKind::session_failed, id, std::nullopt, std::nullopt, std::move(why), {}});
  };
  if (sessions_.contains(id)) return fail("session id already in use");
  auto made = Session::create(std::move(config), now);
  if (!made) return fail(std::move(made).error());
  std::unique_ptr<Session> s = std::move(made).value();
  s->worker = opts_.index;
  int err = 0;
  std::vector<int> added;
  s->for_each_socket([&](Session::SocketTag& tag) {
    if (err != 0) return;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = &tag;
    if (::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, tag.fd, &ev) != 0) {
      err = errno;
    } else {
      added.push_back(tag.fd);
    }
  });
  if (err != 0) {
    for (int fd : added) ::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, fd, nullptr);
    return fail(std::string("epoll_ctl: ") + std::generic_category().message(err));
  }
  s->start(now, pending_events_);
  pending_events_.push_back(
      MediaEvent{EventKind::session_started, id, std::nullopt, std::nullopt, {}, std::nullopt});
  Session& ref = *s;
  sessions_.emplace(id, std::move(s));
  arm(ref);
}

void Worker::destroy(SessionId id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) {
    pending_events_.push_back(MediaEvent{EventKind::session_closed, id, std::nullopt, std::nullopt,
                                         "no such session", std::nullopt});
    return;
  }
  it->second->for_each_socket([&](Session::SocketTag& tag) {
    ::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, tag.fd, nullptr);
  });
  MediaEvent e{EventKind::session_closed, id, std::nullopt, std::nullopt, {}, it->second->stats()};
  // Dropping the session closes its sockets, then its ports go into quarantine.
  sessions_.erase(it);
  pending_events_.push_back(std::move(e));
}

void Worker::arm(Session& s, Clock::time_point floor) {
  auto next = s.next_deadline();
  if (!next) return;
  if (*next < floor) next = floor;
  if (*next >= s.armed) return;
  s.armed = *next;
  timers_.push(Timer{*next, s.id()});
}

void Worker::run_timers(Clock::time_point now) {
  // Entries are lazy: a session keeps one live entry (`armed`); others are stale and skipped.
  while (!timers_.empty() && timers_.top().at <= now) {
    const Timer t = timers_.top();
    timers_.pop();
    auto it = sessions_.find(t.id);
    if (it == sessions_.end() || it->second->armed != t.at) continue;
    Session& s = *it->second;
    s.armed = Clock::time_point::max();
    s.on_timer(now, pending_events_);
    s.take_timers_dirty();
    // A deadline that is still due is served on the next round, not in this loop.
    arm(s, now + std::chrono::milliseconds(1));
  }
}

}  // namespace icegate::media::relay
