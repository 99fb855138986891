// One media worker: a thread with its own epoll loop that owns the sessions pinned to it.
// Packets are read with recvmmsg and forwarded with sendmmsg in batches; commands arrive on a
// Mailbox (eventfd wake-up) and events leave on the owner's Mailbox. Nothing here is shared
// with other workers.
#pragma once

#include <sys/epoll.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <queue>
#include <thread>
#include <unordered_map>
#include <variant>
#include <vector>

#include "acl/unique_fd.hpp"
#include "media/events.hpp"
#include "media/relay/mailbox.hpp"
#include "media/relay/session.hpp"

namespace icegate::media::relay {

struct CreateCmd {
  SessionConfig config;
};
struct UpdateCmd {
  SessionId id;
  Leg leg;
  LegUpdate update;
};
struct DestroyCmd {
  SessionId id;
};
struct StatsCmd {
  SessionId id;
};
struct StopCmd {};
using Command = std::variant<CreateCmd, UpdateCmd, DestroyCmd, StatsCmd, StopCmd>;

struct WorkerOptions {
  unsigned index = 0;
  std::size_t batch = 32;  // datagrams per recvmmsg / sendmmsg
  std::function<Clock::time_point()> now;
};

class Worker {
 public:
  // Start-up: throws std::system_error when epoll or eventfd cannot be created.
  Worker(WorkerOptions options, Mailbox<MediaEvent>& events);
  ~Worker();  // stops the thread; the sessions still on it are destroyed there
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void post(Command c) { commands_.push(std::move(c)); }
  // CPU time the worker thread has used (CLOCK_THREAD_CPUTIME_ID of that thread).
  std::chrono::nanoseconds cpu_time() const;
  // When the worker's loop last turned, on the real steady clock (not the injected one). An idle
  // loop still turns every kHeartbeatPeriod, so a much older value means the worker is stuck
  // (the systemd watchdog stops its pings then). Thread-safe.
  static constexpr std::chrono::milliseconds kHeartbeatPeriod{500};
  std::chrono::steady_clock::time_point heartbeat() const noexcept {
    return std::chrono::steady_clock::time_point(
        std::chrono::steady_clock::duration(heartbeat_.load(std::memory_order_relaxed)));
  }

 private:
  // Room past the largest datagram accepted, for SRTP protect to grow a packet in place.
  static constexpr std::size_t kSlot = 2048;
  static constexpr std::size_t kTransformHeadroom = 128;

  struct Timer {
    Clock::time_point at;
    SessionId id;
    bool operator>(const Timer& o) const noexcept { return at > o.at; }
  };

  void run();
  Clock::time_point now() const { return opts_.now ? opts_.now() : Clock::now(); }
  int epoll_timeout_ms(Clock::time_point now) const;
  void on_readable(const Session::SocketTag& tag);
  void send_batch(std::size_t n, const Session::SocketTag& tag);
  void process_commands(Clock::time_point now);
  void create(SessionConfig config, Clock::time_point now);
  void destroy(SessionId id);
  void run_timers(Clock::time_point now);
  // Makes sure a timer entry exists for the session's next deadline (not before `floor`).
  void arm(Session& s, Clock::time_point floor = Clock::time_point::min());

  WorkerOptions opts_;
  Mailbox<MediaEvent>& events_out_;
  Mailbox<Command> commands_;
  UniqueFd epoll_fd_;
  bool stop_ = false;
  // Shared with the watchdog thread: written by this worker's loop only.
  std::atomic<std::chrono::steady_clock::rep> heartbeat_{
      std::chrono::steady_clock::now().time_since_epoch().count()};
  std::unordered_map<SessionId, std::unique_ptr<Session>> sessions_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  std::vector<MediaEvent> pending_events_;

  // Batch state, reused for every recvmmsg/sendmmsg.
  std::vector<std::byte> slots_;
  std::vector<mmsghdr> recv_;
  std::vector<iovec> recv_iov_;
  std::vector<sockaddr_storage> from_;
  std::vector<mmsghdr> send_;
  std::vector<iovec> send_iov_;
  std::vector<int> send_fd_;
  std::vector<LegStats*> send_counters_;

  std::thread thread_;
};

}  // namespace icegate::media::relay
