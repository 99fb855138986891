#include "media/stunclient/discovery.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "media/stunclient/messages.hpp"

namespace icegate::media::stunclient {

DiscoveryRound::DiscoveryRound(std::vector<DiscoveryTarget> targets, RetransmitPolicy policy,
                               TimePoint now, TransactionIdSource ids)
    : targets_(std::move(targets)) {
  transactions_.reserve(targets_.size());
  for (const auto& t : targets_) {
    const auto tid = ids();
    transactions_.emplace_back(binding_request(tid), tid, stun::method::binding, t.server, policy,
                               now);
  }
}

std::vector<Outgoing> DiscoveryRound::poll(TimePoint now) {
  std::vector<Outgoing> out;
  for (std::size_t i = 0; i < transactions_.size(); ++i) {
    if (auto bytes = transactions_[i].due(now)) out.push_back({i, targets_[i].server, std::move(*bytes)});
  }
  return out;
}

void DiscoveryRound::on_datagram(std::size_t socket, std::span<const std::byte> bytes,
                                 const Endpoint& from, TimePoint now) {
  auto m = parse_stun(bytes);
  if (socket >= transactions_.size() || !m || !transactions_[socket].matches(*m)) {
    ++dropped_;
    return;
  }
  transactions_[socket].on_response(std::move(*m), from, now);
}

void DiscoveryRound::on_socket_error(std::size_t socket, int error, TimePoint now) {
  if (socket >= transactions_.size()) return;
  // An ICMP port unreachable (ECONNREFUSED on the connected socket) ends the transaction early:
  // nothing listens there, and waiting out the 39.5 s schedule would only delay the warning.
  transactions_[socket].on_transport_error(
      error == ECONNREFUSED ? "port unreachable (ICMP): nothing listens there" : std::strerror(error),
      now);
}

std::optional<TimePoint> DiscoveryRound::next_wakeup() const {
  std::optional<TimePoint> next;
  for (const auto& t : transactions_) {
    if (auto w = t.next_wakeup(); w && (!next || *w < *next)) next = w;
  }
  return next;
}

std::vector<DiscoveryAnswer> DiscoveryRound::answers() const {
  std::vector<DiscoveryAnswer> out;
  for (std::size_t i = 0; i < targets_.size(); ++i) {
    const auto& t = transactions_[i];
    DiscoveryAnswer a{targets_[i].name, targets_[i].label, targets_[i].server, std::nullopt,
                      t.rtt(), t.transmissions(), t.failure()};
    if (t.outcome() == Outcome::success) {
      auto mapped = mapped_address(*t.response());
      if (mapped) {
        a.mapped = *mapped;
      } else {
        a.failure = "answer without a usable mapped address: " + mapped.error();
      }
    } else if (t.outcome() == Outcome::pending) {
      a.failure = "not finished";
    }
    out.push_back(std::move(a));
  }
  return out;
}

DiscoveryOutcome evaluate(const std::vector<DiscoveryAnswer>& answers) {
  DiscoveryOutcome o;
  for (std::size_t i = 0; i < answers.size(); ++i) {
    if (!answers[i].mapped) continue;
    if (!o.chosen) {
      o.chosen = i;
    } else if (answers[i].mapped->address != answers[*o.chosen].mapped->address) {
      o.conflict = true;
    }
  }
  return o;
}

std::string conflict_message(const std::vector<DiscoveryAnswer>& answers,
                             const DiscoveryOutcome& outcome) {
  if (!outcome.conflict || !outcome.chosen) return {};
  std::string s = "several public IPs or NICs:";
  bool first = true;
  for (const auto& a : answers) {
    if (!a.mapped) continue;
    s += (first ? " " : ", ") + a.name + " says " + a.mapped->address.to_string();
    first = false;
  }
  s += "; using " + answers[*outcome.chosen].mapped->address.to_string() +
       " (the first configured server that answered)";
  return s;
}

Duration retry_delay(unsigned failed_rounds, Duration first, Duration max) {
  Duration d = first;
  for (unsigned i = 1; i < failed_rounds && d < max; ++i) d *= 2;
  return std::min(d, max);
}

}  // namespace icegate::media::stunclient
