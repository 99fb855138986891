#include "gateway/daemon/notify.hpp"

#include <pthread.h>
#include <systemd/sd-daemon.h>

#include <algorithm>
#include <ctime>

#include "gateway/daemon/log.hpp"
#include "media/relay/worker.hpp"

namespace icegate::gateway::notify {
namespace {

using namespace std::chrono_literals;

// sd_notify returns 0 (nothing sent) without NOTIFY_SOCKET; a send error is not worth stopping
// for: systemd then sees no READY (start-up times out) or no pings (restart), and says so.
void send(const char* text) {
  sd_notify(0, text);
}

std::string plural(std::size_t n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

}  // namespace

void ready() {
  send("READY=1");
}

void reloading() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  const auto usec = static_cast<unsigned long long>(ts.tv_sec) * 1000000ULL +
                    static_cast<unsigned long long>(ts.tv_nsec) / 1000ULL;
  const std::string text = "RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec);
  send(text.c_str());
}

void stopping() {
  send("STOPPING=1");
}

void status(const std::string& text) {
  send(("STATUS=" + text).c_str());
}

std::optional<std::chrono::microseconds> watchdog_interval() {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
  return std::chrono::microseconds(usec);
}

std::string status_text(const Counts& c) {
  return plural(c.calls, "call") + ", " + plural(c.registrations, "registration");
}

Liveness judge(bool signalling_answered, std::chrono::milliseconds signalling_wait,
               const std::vector<std::chrono::steady_clock::time_point>& worker_heartbeats,
               std::chrono::steady_clock::time_point now, std::chrono::milliseconds stale) {
  if (!signalling_answered) {
    return {false, "the signalling thread did not run a probe within " +
                       std::to_string(signalling_wait.count()) + " ms"};
  }
  for (std::size_t i = 0; i < worker_heartbeats.size(); ++i) {
    const auto age =
        std::chrono::duration_cast<std::chrono::milliseconds>(now - worker_heartbeats[i]);
    if (age > stale) {
      return {false, "media worker " + std::to_string(i) + " has not turned its loop for " +
                         std::to_string(age.count()) + " ms"};
    }
  }
  return {};
}

struct Watchdog::Shared {
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  std::uint64_t answered = 0;  // the last probe the signalling thread ran
  Counts counts;
};

Watchdog::Watchdog(Probes probes, std::optional<std::chrono::microseconds> interval)
    : probes_(std::move(probes)),
      interval_(interval),
      // sd_watchdog_enabled(3): ping at half the interval.
      period_(interval
                  ? std::max(std::chrono::milliseconds(1),
                             std::chrono::duration_cast<std::chrono::milliseconds>(*interval) / 2)
                  : std::chrono::milliseconds(kStatusPeriod)),
      shared_(std::make_shared<Shared>()) {
  thread_ = std::thread([this] { run(); });
  pthread_setname_np(thread_.native_handle(), "icegate-wd");
}

Watchdog::~Watchdog() {
  {
    std::lock_guard lock(shared_->mu);
    shared_->stop = true;
  }
  shared_->cv.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Watchdog::run() {
  auto log = logger("gateway");
  // An idle worker's loop turns every kHeartbeatPeriod: three missed turns, or one period of
  // ours when that is longer, mean stuck.
  const auto stale = std::max(period_, 3 * std::chrono::duration_cast<std::chrono::milliseconds>(
                                               media::relay::Worker::kHeartbeatPeriod));
  std::uint64_t posted = 0;
  std::string last_status;
  bool was_alive = true;
  std::unique_lock lock(shared_->mu);
  while (!shared_->stop) {
    const auto tick = std::chrono::steady_clock::now();
    const std::uint64_t seq = ++posted;
    lock.unlock();
    probes_.post([s = shared_, seq, counts = probes_.counts] {
      const Counts c = counts();
      std::lock_guard g(s->mu);
      s->answered = std::max(s->answered, seq);
      s->counts = c;
      s->cv.notify_all();
    });
    lock.lock();
    shared_->cv.wait_for(lock, period_, [&] { return shared_->stop || shared_->answered >= seq; });
    if (shared_->stop) break;
    const bool answered = shared_->answered >= seq;
    const Counts counts = shared_->counts;
    lock.unlock();

    const auto verdict = judge(answered, period_, probes_.worker_heartbeats(),
                               std::chrono::steady_clock::now(), stale);
    if (verdict.alive) {
      if (interval_) send("WATCHDOG=1");
      if (!was_alive) log->warn("watchdog: alive again, systemd watchdog pings resume");
    } else if (was_alive && interval_) {
      log->error(
          "watchdog: {}: no more systemd watchdog pings (systemd restarts icegate {} ms "
          "after the last one)",
          verdict.why, std::chrono::duration_cast<std::chrono::milliseconds>(*interval_).count());
    } else if (was_alive) {
      log->error("watchdog: {}", verdict.why);
    }
    was_alive = verdict.alive;
    if (answered) {
      auto text = status_text(counts);
      if (text != last_status) {
        status(text);
        last_status = std::move(text);
      }
    }
    lock.lock();
    shared_->cv.wait_until(lock, tick + period_, [&] { return shared_->stop; });
  }
}

}  // namespace icegate::gateway::notify
