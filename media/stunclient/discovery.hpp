// Public address discovery: one Binding transaction per configured STUN server, each from its own
// socket on the media address, all at once; then a pure evaluation of the answers (which address
// is used, whether the servers disagree) and the retry back-off when nobody answered.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "media/stunclient/engine.hpp"
#include "media/stunclient/transaction.hpp"

namespace icegate::media::stunclient {

struct DiscoveryTarget {
  std::string name;   // the configured server name
  std::string label;  // "host:port" as configured, for messages
  Endpoint server;    // resolved
};

struct DiscoveryAnswer {
  std::string name;
  std::string label;
  Endpoint server;
  std::optional<Endpoint> mapped;  // set when the server answered usefully
  Duration rtt{};                  // from the last transmission to the answer
  unsigned transmissions = 0;
  std::string failure;             // why there is no mapped address
};

// Socket i talks to target i only (the I/O layer may connect it to the server).
class DiscoveryRound final : public Engine {
 public:
  DiscoveryRound(std::vector<DiscoveryTarget> targets, RetransmitPolicy policy, TimePoint now,
                 TransactionIdSource ids = random_transaction_ids());

  std::vector<Outgoing> poll(TimePoint now) override;
  void on_datagram(std::size_t socket, std::span<const std::byte> bytes, const Endpoint& from,
                   TimePoint now) override;
  void on_socket_error(std::size_t socket, int error, TimePoint now) override;
  std::optional<TimePoint> next_wakeup() const override;

  std::size_t sockets() const noexcept { return targets_.size(); }
  // One answer per target, in the configured order; complete once done().
  std::vector<DiscoveryAnswer> answers() const;

 private:
  std::vector<DiscoveryTarget> targets_;
  std::vector<Transaction> transactions_;
};

struct DiscoveryOutcome {
  // Index (into the answers) of the address that is used: the first configured server that
  // answered. nullopt when nobody answered.
  std::optional<std::size_t> chosen;
  // The answering servers disagree on the public IP: several public IPs or several NICs
  // (behaviour.md §2, §9.3). Ports are not compared: every server is asked from its own socket.
  bool conflict = false;
};
DiscoveryOutcome evaluate(const std::vector<DiscoveryAnswer>& answers);

// "several public IPs or NICs: stun1 says A, stun2 says B; using A (the first configured server
// that answered)"; empty without a conflict.
std::string conflict_message(const std::vector<DiscoveryAnswer>& answers,
                             const DiscoveryOutcome& outcome);

// Delay before the next round after `failed_rounds` rounds in which no server answered:
// `first`, doubling, at most `max`.
Duration retry_delay(unsigned failed_rounds, Duration first, Duration max);

}  // namespace icegate::media::stunclient
