// The sans-I/O shape shared by the STUN client engines (transactions, public address discovery,
// RFC 5780 NAT behaviour discovery, TURN checks). An engine owns no socket and reads no clock:
// the I/O layer (gateway/stunio/stun_io.hpp) binds the sockets the engine asks for, calls poll(now)
// and sends what it returns, feeds every datagram and socket error back in, and calls poll()
// again no later than next_wakeup(). Tests drive the same engines in memory with a fake clock.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "media/endpoint.hpp"
#include "media/stun/message.hpp"

namespace icegate::media::stunclient {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = Clock::duration;
using Millis = std::chrono::milliseconds;

// A datagram to send from the engine's socket number `socket` to `to`.
struct Outgoing {
  std::size_t socket = 0;
  Endpoint to;
  std::vector<std::byte> bytes;
};

class Engine {
 public:
  virtual ~Engine() = default;
  // Advances the timers to `now` and returns what must be sent now.
  virtual std::vector<Outgoing> poll(TimePoint now) = 0;
  // A datagram that arrived on socket `socket` from `from`. Anything that is not for the
  // engine (not STUN, unknown transaction) is dropped and counted.
  virtual void on_datagram(std::size_t socket, std::span<const std::byte> bytes,
                           const Endpoint& from, TimePoint now) = 0;
  // A socket reported an error: an errno value (ECONNREFUSED after an ICMP port unreachable on
  // a connected socket, ENETUNREACH, ...).
  virtual void on_socket_error(std::size_t socket, int error, TimePoint now) = 0;
  // When poll() must be called again at the latest; nullopt once the engine has finished.
  virtual std::optional<TimePoint> next_wakeup() const = 0;
  bool done() const { return !next_wakeup(); }
  // Datagrams that were not for the engine (not STUN, wrong transaction, malformed).
  std::size_t dropped() const noexcept { return dropped_; }

 protected:
  std::size_t dropped_ = 0;
};

// Where transaction ids come from: a CSPRNG in production (RFC 5389 §6: "uniformly and randomly
// chosen"), a counter in tests.
using TransactionIdSource = std::function<stun::TransactionId()>;
TransactionIdSource random_transaction_ids();
// Deterministic ids for tests: 12 bytes counting up from `seed`.
TransactionIdSource counting_transaction_ids(std::uint32_t seed = 1);

// Milliseconds as a printable number ("12.5").
std::string format_millis(Duration d);

}  // namespace icegate::media::stunclient
