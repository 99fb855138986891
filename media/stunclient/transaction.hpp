// One STUN client transaction over UDP with the RFC 5389 §7.2.1 retransmission schedule.
// Pure: it is told the time and the responses, and says when to (re)send.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "media/stun/attributes.hpp"
#include "media/stun/message.hpp"
#include "media/stunclient/engine.hpp"

namespace icegate::media::stunclient {

// RFC 5389 §7.2.1: "Rc SHOULD be configurable and SHOULD have a default of 7", "Rm ... default
// of 16", initial RTO 500 ms doubling after each transmission. With the defaults requests go out
// at 0, 500, 1500, 3500, 7500, 15500 and 31500 ms and the transaction fails at 39500 ms.
struct RetransmitPolicy {
  Millis rto{500};
  unsigned max_transmissions = 7;  // Rc
  unsigned last_wait_factor = 16;  // Rm: wait Rm * RTO after the last request
  // Interactive tools give up earlier than the RFC's 39.5 s; the schedule is kept up to here.
  std::optional<Millis> give_up_after;
};

// Offsets of every transmission from the first one, and when the transaction times out.
std::vector<Millis> transmission_offsets(const RetransmitPolicy& p);
Millis transaction_timeout(const RetransmitPolicy& p);

enum class Outcome : std::uint8_t {
  pending,
  success,          // a success response
  error_response,   // an error response (see error_code())
  timeout,          // no response within the schedule
  transport_error,  // the socket reported an error (ICMP unreachable, no route)
  bad_response,     // a matching response we must not use (RFC 5389 §7.3.3)
};
std::string_view to_string(Outcome o);

class Transaction {
 public:
  // `request` is the encoded request whose transaction id is `tid`, to be sent to `to`.
  Transaction(std::vector<std::byte> request, const stun::TransactionId& tid, std::uint16_t method,
              Endpoint to, RetransmitPolicy policy, TimePoint now);

  // The request when a (re)transmission is due at `now`; also turns a late transaction into a
  // timeout. Returns nullopt when nothing is due.
  std::optional<std::vector<std::byte>> due(TimePoint now);
  // When due() must be called next; nullopt once finished.
  std::optional<TimePoint> next_wakeup() const;

  // True when `m` is a response to this transaction (same id and method, response class).
  bool matches(const stun::Message& m) const noexcept;
  // Takes a response that matches(); the first one decides, later ones are ignored.
  void on_response(stun::Message m, const Endpoint& from, TimePoint now);
  void on_transport_error(std::string reason, TimePoint now);

  Outcome outcome() const noexcept { return outcome_; }
  bool finished() const noexcept { return outcome_ != Outcome::pending; }
  const stun::TransactionId& id() const noexcept { return tid_; }
  const Endpoint& destination() const noexcept { return to_; }
  // The response (success or error) once one was taken.
  const stun::Message* response() const noexcept { return response_ ? &*response_ : nullptr; }
  const Endpoint& response_from() const noexcept { return from_; }
  // ERROR-CODE of an error response (code 0 when it had none or an unreadable one).
  const stun::ErrorCode& error_code() const noexcept { return error_code_; }
  // Time from the first transmission to the response (or to the failure).
  Duration elapsed() const noexcept { return end_ - start_; }
  // Time from the most recent transmission to the response: the RTT when only one was sent.
  Duration rtt() const noexcept { return end_ - last_sent_; }
  unsigned transmissions() const noexcept { return sent_; }
  // Why it failed, for reports ("no response after 7 requests in 39.5 s", "420 Unknown ...").
  const std::string& failure() const noexcept { return failure_; }

 private:
  void finish(Outcome o, TimePoint now, std::string failure = {});

  std::vector<std::byte> request_;
  stun::TransactionId tid_;
  std::uint16_t method_;
  Endpoint to_;
  RetransmitPolicy policy_;
  std::vector<Millis> offsets_;
  TimePoint start_;
  TimePoint deadline_;
  TimePoint last_sent_;
  TimePoint end_;
  unsigned sent_ = 0;
  Outcome outcome_ = Outcome::pending;
  std::optional<stun::Message> response_;
  Endpoint from_;
  stun::ErrorCode error_code_;
  std::string failure_;
};

}  // namespace icegate::media::stunclient
