// RFC 5780 NAT behaviour discovery as a sans-I/O engine. Sockets (all bound by the I/O layer to
// the same local address, each to its own port):
//   0  mapping tests I-III (RFC 5780 §4.3) and the hairpinning target
//   1  filtering tests I-III (RFC 5780 §4.4) on a fresh mapping, so that the mapping tests,
//      which talk to the server's alternate address, cannot open the filter for them
//   2  the hairpinning sender (RFC 5780 §4.5)
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "media/stunclient/engine.hpp"
#include "media/stunclient/nat_behaviour.hpp"
#include "media/stunclient/transaction.hpp"

namespace icegate::media::stunclient {

struct NatTest {
  std::string name;  // "mapping I", "filtering II (change IP and port)", "hairpinning"
  std::size_t socket = 0;
  Endpoint to;
  Outcome outcome = Outcome::pending;
  std::optional<Endpoint> mapped;
  std::optional<Endpoint> from;  // where the answer came from
  Duration rtt{};
  unsigned transmissions = 0;
  std::string detail;  // failure reason or remark
};

struct NatReport {
  Endpoint server;                  // the primary address asked
  std::vector<Endpoint> locals;     // the sockets' local addresses
  bool answered = false;            // test I got a success response
  std::optional<Endpoint> mapped;   // test I's mapped address (the public address)
  std::optional<Endpoint> other_address;    // RFC 5780 §7.4 OTHER-ADDRESS
  std::optional<Endpoint> response_origin;  // RFC 5780 §7.3 RESPONSE-ORIGIN
  std::optional<std::string> software;
  bool rfc5780 = false;             // OTHER-ADDRESS present and usable
  bool nat = false;                 // mapped != local
  bool port_preserved = false;      // the NAT kept the local port
  Mapping mapping = Mapping::unknown;
  Filtering filtering = Filtering::unknown;
  Hairpinning hairpinning = Hairpinning::unknown;
  Rfc3489Class rfc3489 = Rfc3489Class::unknown;
  std::vector<NatTest> tests;
  std::vector<std::string> notes;   // what could not be determined, and why
};

class NatDetector final : public Engine {
 public:
  static constexpr std::size_t kSockets = 3;

  // `locals` are the bound addresses of the kSockets sockets.
  NatDetector(Endpoint server, std::vector<Endpoint> locals, RetransmitPolicy policy,
              TimePoint now, TransactionIdSource ids = random_transaction_ids());

  std::vector<Outgoing> poll(TimePoint now) override;
  void on_datagram(std::size_t socket, std::span<const std::byte> bytes, const Endpoint& from,
                   TimePoint now) override;
  void on_socket_error(std::size_t socket, int error, TimePoint now) override;
  std::optional<TimePoint> next_wakeup() const override;

  // Complete once done(); partial (with what is known so far) before.
  const NatReport& report() const noexcept { return report_; }

 private:
  enum class Step : std::uint8_t { map1, map2, map3, filt1, filt2, filt3, hairpin, done };

  void begin(Step step, TimePoint now);
  void finish_step(TimePoint now);
  void conclude();
  NatTest record(const Transaction& t, std::string name, std::size_t socket) const;

  Endpoint server_;
  RetransmitPolicy policy_;
  TransactionIdSource ids_;
  Step step_ = Step::map1;
  std::optional<Transaction> current_;
  std::size_t current_socket_ = 0;
  bool hairpin_seen_ = false;
  std::optional<Endpoint> m2_, m3_;
  std::optional<bool> change_both_, change_port_;
  NatReport report_;
};

}  // namespace icegate::media::stunclient
