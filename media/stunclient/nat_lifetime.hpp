// Binding lifetime estimate (RFC 5780 §4.6), bounded: one probe per waiting time T, all run at
// once so the whole estimate takes about the longest T. Probe i creates a binding from its own
// socket X_i, waits T_i, then asks the server from socket Y (socket 0) to answer to X_i's mapped
// port with RESPONSE-PORT (RFC 5780 §7.5). The answer reaches X_i only while its binding lives.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "media/stunclient/engine.hpp"
#include "media/stunclient/transaction.hpp"

namespace icegate::media::stunclient {

struct LifetimeProbe {
  Duration wait{};
  enum class Result : std::uint8_t { pending, alive, expired, failed } result = Result::pending;
  std::string detail;
};

struct LifetimeEstimate {
  std::optional<Duration> at_least;  // the longest wait after which the binding still lived
  std::optional<Duration> at_most;   // the shortest wait after which it was gone
  bool unsupported = false;          // the server ignored or refused RESPONSE-PORT
  std::string detail;
};

// Waits 1, 2, 4, ... seconds up to `max` (and `max` itself).
std::vector<Duration> lifetime_waits(Duration max);

class LifetimeProber final : public Engine {
 public:
  // Socket 0 is Y; socket i (1..waits.size()) is X for waits[i-1].
  LifetimeProber(Endpoint server, std::vector<Duration> waits, RetransmitPolicy policy,
                 TimePoint now, TransactionIdSource ids = random_transaction_ids());

  std::size_t sockets() const noexcept { return probes_.size() + 1; }
  std::vector<Outgoing> poll(TimePoint now) override;
  void on_datagram(std::size_t socket, std::span<const std::byte> bytes, const Endpoint& from,
                   TimePoint now) override;
  void on_socket_error(std::size_t socket, int error, TimePoint now) override;
  std::optional<TimePoint> next_wakeup() const override;

  const std::vector<LifetimeProbe>& probes() const noexcept { return probes_; }
  LifetimeEstimate estimate() const;

 private:
  struct State {
    std::optional<Transaction> bind;   // X_i -> server
    std::optional<Transaction> check;  // Y -> server with RESPONSE-PORT
    std::optional<TimePoint> check_at;
  };
  Endpoint server_;
  RetransmitPolicy policy_;
  TransactionIdSource ids_;
  std::vector<LifetimeProbe> probes_;
  std::vector<State> states_;
};

}  // namespace icegate::media::stunclient
