// A TURN check (RFC 8656) as a sans-I/O engine: Allocate with the 401 realm/nonce round and
// long-term credentials, CreatePermission for a local peer, a Send indication that the peer must
// receive from the relayed address, the peer's reply coming back as a Data indication, and a
// Refresh with LIFETIME 0 that releases the allocation. Sockets: 0 = client, 1 = the peer.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "media/stunclient/engine.hpp"
#include "media/stunclient/transaction.hpp"
#include "media/stunclient/turn_credentials.hpp"

namespace icegate::media::stunclient {

struct TurnStep {
  std::string name;
  bool ok = false;
  Duration elapsed{};
  std::string detail;
};

struct TurnReport {
  Endpoint server;
  std::vector<TurnStep> steps;
  bool ok = false;  // allocation, permission and the round trip all worked
  std::optional<Endpoint> relayed;
  std::optional<Endpoint> mapped;
  std::optional<Endpoint> peer;  // the peer's address as the server sees it
  std::optional<std::uint32_t> lifetime;
  std::string realm;
  std::optional<std::string> software;
};

class TurnClient final : public Engine {
 public:
  static constexpr std::size_t kSockets = 2;

  // `peer_local` is socket 1's bound address. Indications are repeated every `resend` until the
  // other side has them, for at most the policy's transaction timeout.
  TurnClient(Endpoint server, TurnCredentials credentials, Endpoint peer_local,
             RetransmitPolicy policy, TimePoint now,
             TransactionIdSource ids = random_transaction_ids(), Millis resend = Millis(500));

  std::vector<Outgoing> poll(TimePoint now) override;
  void on_datagram(std::size_t socket, std::span<const std::byte> bytes, const Endpoint& from,
                   TimePoint now) override;
  void on_socket_error(std::size_t socket, int error, TimePoint now) override;
  std::optional<TimePoint> next_wakeup() const override;

  const TurnReport& report() const noexcept { return report_; }

 private:
  enum class Step : std::uint8_t { peer_probe, alloc1, alloc2, permission, send, data, release, done };

  void begin(Step s, TimePoint now);
  void finish_request(TimePoint now);
  void step(std::string name, bool ok, Duration elapsed, std::string detail);
  std::vector<std::byte> request(std::uint16_t method, const stun::TransactionId& tid, bool auth);
  bool verify(const stun::Message& m, std::string& why) const;

  Endpoint server_;
  TurnCredentials creds_;
  Endpoint peer_local_;
  RetransmitPolicy policy_;
  TransactionIdSource ids_;
  Millis resend_;
  Step step_ = Step::peer_probe;
  std::optional<Transaction> current_;
  std::size_t current_socket_ = 0;
  unsigned stale_retries_ = 0;
  std::string nonce_;
  std::vector<std::byte> key_;
  // Indication phases
  TimePoint phase_start_{};
  TimePoint next_send_{};
  TimePoint phase_deadline_{};
  bool punch_pending_ = false;
  Endpoint peer_seen_from_;
  std::string payload_, reply_;
  TurnReport report_;
};

}  // namespace icegate::media::stunclient
