#include "media/stunclient/nat_lifetime.hpp"

#include <cstring>

#include "media/stunclient/messages.hpp"

namespace icegate::media::stunclient {

std::vector<Duration> lifetime_waits(Duration max) {
  std::vector<Duration> out;
  for (Duration d = std::chrono::seconds(1); d < max; d *= 2) out.push_back(d);
  out.push_back(max);
  return out;
}

LifetimeProber::LifetimeProber(Endpoint server, std::vector<Duration> waits,
                               RetransmitPolicy policy, TimePoint now, TransactionIdSource ids)
    : server_(server), policy_(policy), ids_(std::move(ids)) {
  for (auto w : waits) {
    probes_.push_back({w, LifetimeProbe::Result::pending, {}});
    State s;
    const auto tid = ids_();
    s.bind.emplace(binding_request(tid), tid, stun::method::binding, server_, policy_, now);
    states_.push_back(std::move(s));
  }
}

std::vector<Outgoing> LifetimeProber::poll(TimePoint now) {
  std::vector<Outgoing> out;
  for (std::size_t i = 0; i < states_.size(); ++i) {
    auto& s = states_[i];
    auto& p = probes_[i];
    if (p.result != LifetimeProbe::Result::pending) continue;
    if (s.bind && !s.bind->finished()) {
      if (auto b = s.bind->due(now)) out.push_back({i + 1, server_, std::move(*b)});
      if (!s.bind->finished()) continue;
    }
    if (!s.check_at) {
      const auto mapped = s.bind->outcome() == Outcome::success ? mapped_address(*s.bind->response())
                                                                 : Expected<Endpoint, std::string>(
                                                                       unexpected(s.bind->failure()));
      if (!mapped) {
        p.result = LifetimeProbe::Result::failed;
        p.detail = "no binding: " + mapped.error();
        continue;
      }
      s.check_at = now + p.wait;
      const auto tid = ids_();
      s.check.emplace(binding_request(tid, std::nullopt, mapped->port), tid, stun::method::binding,
                      server_, policy_, *s.check_at);
    }
    if (now < *s.check_at) continue;
    if (auto b = s.check->due(now)) out.push_back({0, server_, std::move(*b)});
    if (s.check->finished()) {
      if (s.check->outcome() == Outcome::timeout) {
        p.result = LifetimeProbe::Result::expired;
        p.detail = "no answer on the first socket: its binding is gone";
      } else if (s.check->outcome() == Outcome::success) {
        p.result = LifetimeProbe::Result::alive;
      } else {
        p.result = LifetimeProbe::Result::failed;
        p.detail = s.check->failure();
      }
    }
  }
  return out;
}

void LifetimeProber::on_datagram(std::size_t socket, std::span<const std::byte> bytes,
                                 const Endpoint& from, TimePoint now) {
  auto m = parse_stun(bytes);
  if (!m) {
    ++dropped_;
    return;
  }
  for (std::size_t i = 0; i < states_.size(); ++i) {
    auto& s = states_[i];
    if (socket == i + 1 && s.bind && s.bind->matches(*m) && !s.bind->finished()) {
      s.bind->on_response(std::move(*m), from, now);
      return;
    }
    if (s.check && s.check->matches(*m)) {
      if (socket == i + 1) {
        s.check->on_response(std::move(*m), from, now);
      } else if (socket == 0 && m->type.cls == stun::MessageClass::success) {
        // The answer came back to Y: the server ignored RESPONSE-PORT.
        s.check->on_transport_error("the server ignored RESPONSE-PORT (the answer came to the "
                                    "asking socket)",
                                    now);
      } else {
        s.check->on_response(std::move(*m), from, now);  // e.g. 420 Unknown Attribute
      }
      return;
    }
  }
  ++dropped_;
}

void LifetimeProber::on_socket_error(std::size_t socket, int error, TimePoint now) {
  if (socket == 0 || socket > states_.size()) return;
  auto& s = states_[socket - 1];
  if (s.bind) s.bind->on_transport_error(std::strerror(error), now);
}

std::optional<TimePoint> LifetimeProber::next_wakeup() const {
  std::optional<TimePoint> next;
  auto consider = [&next](std::optional<TimePoint> w) {
    if (w && (!next || *w < *next)) next = w;
  };
  for (std::size_t i = 0; i < states_.size(); ++i) {
    const auto& s = states_[i];
    if (probes_[i].result != LifetimeProbe::Result::pending) continue;
    if (!s.check_at) {
      consider(s.bind->finished() ? std::optional<TimePoint>(TimePoint{}) : s.bind->next_wakeup());
    } else if (s.check->finished()) {
      consider(TimePoint{});
    } else {
      consider(std::max(*s.check_at, s.check->next_wakeup().value_or(*s.check_at)));
    }
  }
  return next;
}

LifetimeEstimate LifetimeProber::estimate() const {
  LifetimeEstimate e;
  for (const auto& p : probes_) {
    if (p.result == LifetimeProbe::Result::alive && (!e.at_least || p.wait > *e.at_least))
      e.at_least = p.wait;
    if (p.result == LifetimeProbe::Result::expired && (!e.at_most || p.wait < *e.at_most))
      e.at_most = p.wait;
    if (p.result == LifetimeProbe::Result::failed) {
      e.unsupported = e.unsupported || p.detail.find("RESPONSE-PORT") != std::string::npos ||
                      p.detail.find("420") != std::string::npos;
      if (e.detail.empty()) e.detail = p.detail;
    }
  }
  return e;
}

}  // namespace icegate::media::stunclient
