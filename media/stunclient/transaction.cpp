#include "media/stunclient/transaction.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "media/stun/integrity.hpp"

namespace icegate::media::stunclient {

TransactionIdSource random_transaction_ids() {
  return [] {
    stun::TransactionId tid{};
    // RFC 5389 §6: the transaction id MUST be uniformly and randomly chosen. No fallback: a
    // predictable id would let an off-path attacker answer for the server.
    if (RAND_bytes(reinterpret_cast<unsigned char*>(tid.data()), static_cast<int>(tid.size())) != 1)
      std::abort();
    return tid;
  };
}

TransactionIdSource counting_transaction_ids(std::uint32_t seed) {
  return [n = seed]() mutable {
    stun::TransactionId tid{};
    const std::uint32_t v = n++;
    for (std::size_t i = 0; i < 4; ++i) tid[8 + i] = static_cast<std::byte>(v >> (24 - 8 * i));
    return tid;
  };
}

std::string format_millis(Duration d) {
  const double ms = std::chrono::duration<double, std::milli>(d).count();
  char buf[32];
  std::snprintf(buf, sizeof buf, ms < 10 ? "%.2f" : "%.1f", ms);
  return buf;
}

std::vector<Millis> transmission_offsets(const RetransmitPolicy& p) {
  std::vector<Millis> out;
  Millis at{0};
  Millis rto = p.rto;
  for (unsigned i = 0; i < std::max(1u, p.max_transmissions); ++i) {
    if (p.give_up_after && at >= *p.give_up_after && i > 0) break;
    out.push_back(at);
    at += rto;
    rto *= 2;  // RFC 5389 §7.2.1: the RTO doubles after each retransmission
  }
  return out;
}

Millis transaction_timeout(const RetransmitPolicy& p) {
  const auto offsets = transmission_offsets(p);
  // RFC 5389 §7.2.1: after the last request, wait Rm times the (initial) RTO.
  Millis end = offsets.back() + p.rto * p.last_wait_factor;
  if (p.give_up_after) end = std::min(end, *p.give_up_after);
  return end;
}

std::string_view to_string(Outcome o) {
  switch (o) {
    case Outcome::pending:
      return "pending";
    case Outcome::success:
      return "success";
    case Outcome::error_response:
      return "error response";
    case Outcome::timeout:
      return "timeout";
    case Outcome::transport_error:
      return "transport error";
    case Outcome::bad_response:
      return "bad response";
  }
  return "?";
}

Transaction::Transaction(std::vector<std::byte> request, const stun::TransactionId& tid,
                         std::uint16_t method, Endpoint to, RetransmitPolicy policy, TimePoint now)
    : request_(std::move(request)),
      tid_(tid),
      method_(method),
      to_(to),
      policy_(policy),
      offsets_(transmission_offsets(policy)),
      start_(now),
      deadline_(now + transaction_timeout(policy)),
      last_sent_(now),
      end_(now) {}

std::optional<std::vector<std::byte>> Transaction::due(TimePoint now) {
  if (finished()) return std::nullopt;
  if (sent_ < offsets_.size() && now >= start_ + offsets_[sent_]) {
    ++sent_;
    last_sent_ = now;
    return request_;
  }
  if (now >= deadline_) {
    finish(Outcome::timeout, now,
           "no response after " + std::to_string(sent_) + " request(s) in " +
               format_millis(deadline_ - start_) + " ms");
  }
  return std::nullopt;
}

std::optional<TimePoint> Transaction::next_wakeup() const {
  if (finished()) return std::nullopt;
  if (sent_ < offsets_.size()) return std::min(start_ + offsets_[sent_], deadline_);
  return deadline_;
}

bool Transaction::matches(const stun::Message& m) const noexcept {
  // RFC 5389 §7.3: a response is matched to its request by the transaction id (and method).
  return m.transaction_id == tid_ && m.type.method == method_ &&
         (m.type.cls == stun::MessageClass::success || m.type.cls == stun::MessageClass::error);
}

void Transaction::on_response(stun::Message m, const Endpoint& from, TimePoint now) {
  if (finished() || !matches(m)) return;
  from_ = from;
  // RFC 5389 §7.3.3/§7.3.4: unknown comprehension-required attributes in a success response
  // make the transaction fail; in an error response they are ignored.
  if (m.type.cls == stun::MessageClass::success) {
    const auto unknown = m.unknown_required();
    if (!unknown.empty()) {
      finish(Outcome::bad_response, now,
             "response carries unknown comprehension-required attribute " +
                 stun::attr::name(unknown.front()));
      return;
    }
  }
  // RFC 5389 §7.3: a FINGERPRINT that is present must be right.
  if (stun::verify_fingerprint(m) == stun::Check::mismatch) {
    finish(Outcome::bad_response, now, "response FINGERPRINT does not match");
    return;
  }
  if (m.type.cls == stun::MessageClass::error) {
    if (const auto* a = m.find(stun::attr::error_code)) {
      if (auto ec = stun::read_error_code(m, *a)) error_code_ = *ec;
    }
    response_ = std::move(m);
    finish(Outcome::error_response, now,
           "error response " + std::to_string(error_code_.code) + " " + error_code_.reason);
    return;
  }
  response_ = std::move(m);
  finish(Outcome::success, now);
}

void Transaction::on_transport_error(std::string reason, TimePoint now) {
  if (!finished()) finish(Outcome::transport_error, now, std::move(reason));
}

void Transaction::finish(Outcome o, TimePoint now, std::string failure) {
  outcome_ = o;
  end_ = now;
  failure_ = std::move(failure);
}

}  // namespace icegate::media::stunclient
