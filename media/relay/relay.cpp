#include "media/relay/relay.hpp"

#include <poll.h>

#include <algorithm>
#include <thread>

#include "media/relay/worker.hpp"

namespace icegate::media::relay {

Relay::Relay(RelayConfig config) {
  unsigned n = config.workers;
  if (n == 0) n = std::max(1u, std::thread::hardware_concurrency());
  workers_.reserve(n);
  for (unsigned i = 0; i < n; ++i) {
    workers_.push_back(
        std::make_unique<Worker>(WorkerOptions{i, config.batch, config.now}, events_));
  }
  load_.assign(n, 0);
}

Relay::~Relay() = default;  // each Worker stops and joins its thread

Expected<ports::PortLease, ports::PortError> Relay::allocate(ports::PortAllocator& allocator,
                                                             SessionId session,
                                                             ports::PortShape shape) {
  auto lease = allocator.allocate(shape);
  if (!lease && lease.error().code == ports::PortErrc::exhausted) {
    events_.push(MediaEvent{EventKind::port_exhausted, session, std::nullopt, std::nullopt,
                            lease.error().detail, std::nullopt});
  }
  return lease;
}

Expected<unsigned, std::string> Relay::create(SessionConfig config) {
  if (where_.contains(config.id)) {
    return unexpected("session " + std::to_string(config.id) + " already exists");
  }
  const auto w =
      static_cast<unsigned>(std::min_element(load_.begin(), load_.end()) - load_.begin());
  where_.emplace(config.id, w);
  ++load_[w];
  workers_[w]->post(CreateCmd{std::move(config)});
  return w;
}

bool Relay::update(SessionId id, Leg leg, LegUpdate update) {
  auto it = where_.find(id);
  if (it == where_.end()) return false;
  workers_[it->second]->post(UpdateCmd{id, leg, std::move(update)});
  return true;
}

bool Relay::destroy(SessionId id) {
  auto it = where_.find(id);
  if (it == where_.end()) return false;
  workers_[it->second]->post(DestroyCmd{id});
  --load_[it->second];
  where_.erase(it);
  return true;
}

bool Relay::request_stats(SessionId id) {
  auto it = where_.find(id);
  if (it == where_.end()) return false;
  workers_[it->second]->post(StatsCmd{id});
  return true;
}

std::vector<MediaEvent> Relay::drain_events() {
  auto events = events_.drain();
  for (const auto& e : events) {
    // A session its worker refused is gone: forget its routing entry.
    if (e.kind != EventKind::session_failed) continue;
    if (auto it = where_.find(e.session); it != where_.end()) {
      --load_[it->second];
      where_.erase(it);
    }
  }
  return events;
}

bool Relay::wait_events(std::chrono::milliseconds timeout) const {
  pollfd p{events_.fd(), POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(timeout.count())) > 0;
}

std::vector<std::chrono::nanoseconds> Relay::worker_cpu_times() const {
  std::vector<std::chrono::nanoseconds> out;
  out.reserve(workers_.size());
  for (const auto& w : workers_) out.push_back(w->cpu_time());
  return out;
}

std::vector<std::chrono::steady_clock::time_point> Relay::worker_heartbeats() const {
  std::vector<std::chrono::steady_clock::time_point> out;
  out.reserve(workers_.size());
  for (const auto& w : workers_) out.push_back(w->heartbeat());
  return out;
}

}  // namespace icegate::media::relay
