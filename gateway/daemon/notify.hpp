// systemd's service notification protocol (sd_notify(3)) for `Type=notify` units: READY=1 once
// every listener is up, RELOADING=1 ... READY=1 around a reload, STOPPING=1, STATUS= with the
// call and registration counts, and WATCHDOG=1 only while the signalling loop and every relay
// worker are alive. Nothing is sent when NOTIFY_SOCKET is unset (not started by systemd).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace icegate::gateway::notify {

void ready();
// RELOADING=1 with MONOTONIC_USEC (what systemd 253's Type=notify-reload asks for); the reload
// ends with ready().
void reloading();
void stopping();
void status(const std::string& text);

// WATCHDOG_USEC for this process (sd_watchdog_enabled); nullopt when systemd watches nothing.
std::optional<std::chrono::microseconds> watchdog_interval();

struct Counts {
  std::size_t calls = 0;
  std::size_t registrations = 0;
};
std::string status_text(const Counts& c);  // "2 calls, 1 registration"

// The watchdog's verdict for one tick, a pure function: alive when the signalling thread ran
// the probe posted this tick and every worker's loop turned within `stale` of `now`. `why`
// names what is stuck otherwise.
struct Liveness {
  bool alive = true;
  std::string why;
};
Liveness judge(bool signalling_answered, std::chrono::milliseconds signalling_wait,
               const std::vector<std::chrono::steady_clock::time_point>& worker_heartbeats,
               std::chrono::steady_clock::time_point now, std::chrono::milliseconds stale);

// A thread that, every period (half of WATCHDOG_USEC, or kStatusPeriod without a watchdog),
// posts a probe to the signalling thread, which reads the counts there, waits for it at most
// one period, checks the workers' heartbeats and then sends WATCHDOG=1 (only when all are
// alive) and STATUS= (when it changed). Created only when NOTIFY_SOCKET is set.
class Watchdog {
 public:
  struct Probes {
    // Runs a function on the signalling thread (sip::Stack::post).
    std::function<void(std::function<void()>)> post;
    // On the signalling thread: the calls and registrations now.
    std::function<Counts()> counts;
    // Thread-safe: when each relay worker's loop last turned.
    std::function<std::vector<std::chrono::steady_clock::time_point>()> worker_heartbeats;
  };
  static constexpr std::chrono::seconds kStatusPeriod{5};

  // `interval`: WATCHDOG_USEC, or nullopt (STATUS= only).
  Watchdog(Probes probes, std::optional<std::chrono::microseconds> interval);
  ~Watchdog();  // stops and joins the thread; a probe still queued runs harmlessly later
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  struct Shared;  // what the probe writes on the signalling thread (outlives this object)
  void run();

  Probes probes_;
  std::optional<std::chrono::microseconds> interval_;
  std::chrono::milliseconds period_;
  std::shared_ptr<Shared> shared_;
  std::thread thread_;
};

}  // namespace icegate::gateway::notify
