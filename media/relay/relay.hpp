// The RTP relay as the signalling side sees it (behaviour.md §5).
//
// N media workers (default one per core), each an epoll thread that owns the sessions pinned
// to it for their whole life. The owner (the SIP/gateway thread) never touches a session: it
// posts commands (create / update / destroy / request_stats) and drains events (ICE connected,
// nominated pair changed, consent lost, RTCP component state, DTLS connected / failed, media
// timeout, port exhaustion, stats snapshots, session closed) from one queue whose eventfd it can poll.
//
// Threading: a Relay object is used from one owner thread. Workers share nothing with each
// other; the only shared state is the two kinds of Mailbox, locked per hand-off, never per
// packet.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "acl/expected.hpp"
#include "media/events.hpp"
#include "media/ports/port_allocator.hpp"
#include "media/relay/mailbox.hpp"
#include "media/relay/session.hpp"

namespace icegate::media::relay {

class Worker;

struct RelayConfig {
  unsigned workers = 0;                    // 0: one per core
  std::size_t batch = 32;                  // datagrams per recvmmsg/sendmmsg call
  std::function<Clock::time_point()> now;  // injected clock; empty: steady_clock
};

class Relay {
 public:
  // Start-up: throws std::system_error when a worker cannot be started.
  explicit Relay(RelayConfig config = {});
  ~Relay();
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  unsigned worker_count() const noexcept { return static_cast<unsigned>(workers_.size()); }

  // Allocates the ports of one leg. On exhaustion also queues a port_exhausted event, so the
  // log sees it in the same stream as every other media event; the caller answers 503.
  Expected<ports::PortLease, ports::PortError> allocate(ports::PortAllocator& allocator,
                                                        SessionId session, ports::PortShape shape);

  // Pins the session to the least loaded worker and hands it over; the worker answers with
  // session_started or session_failed. Fails at once (leases released) if the id is in use.
  Expected<unsigned, std::string> create(SessionConfig config);
  // false when the session is unknown (never created, or already destroyed).
  bool update(SessionId id, Leg leg, LegUpdate update);
  // Closes the sockets and releases the ports into quarantine; answered by session_closed
  // with the final stats.
  bool destroy(SessionId id);
  // Answered by a `stats` event carrying a snapshot.
  bool request_stats(SessionId id);

  // Readable while events are waiting.
  int event_fd() const noexcept { return events_.fd(); }
  std::vector<MediaEvent> drain_events();
  // Waits at most `timeout` for the event fd to become readable (for tests and simple owners).
  bool wait_events(std::chrono::milliseconds timeout) const;

  // CPU time used by each worker thread so far.
  std::vector<std::chrono::nanoseconds> worker_cpu_times() const;
  // When each worker's loop last turned (Worker::heartbeat); thread-safe, for the watchdog.
  std::vector<std::chrono::steady_clock::time_point> worker_heartbeats() const;

 private:
  Mailbox<MediaEvent> events_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::size_t> load_;
  std::unordered_map<SessionId, unsigned> where_;  // owner-side routing table
};

}  // namespace icegate::media::relay
