#include "media/stunclient/nat_detector.hpp"

#include <cerrno>
#include <cstring>

#include "media/stunclient/messages.hpp"

namespace icegate::media::stunclient {

NatDetector::NatDetector(Endpoint server, std::vector<Endpoint> locals, RetransmitPolicy policy,
                         TimePoint now, TransactionIdSource ids)
    : server_(server), policy_(policy), ids_(std::move(ids)) {
  report_.server = server;
  report_.locals = std::move(locals);
  report_.locals.resize(kSockets);
  begin(Step::map1, now);
}

void NatDetector::begin(Step step, TimePoint now) {
  step_ = step;
  current_.reset();
  if (step == Step::done) {
    conclude();
    return;
  }
  const auto tid = ids_();
  const Endpoint other = report_.other_address.value_or(server_);
  Endpoint to = server_;
  std::optional<stun::ChangeRequest> change;
  current_socket_ = 0;
  switch (step) {
    case Step::map1:
      break;
    case Step::map2:  // RFC 5780 §4.3 test II: alternate IP, primary port
      to = {other.address, server_.port};
      break;
    case Step::map3:  // test III: alternate IP and port
      to = other;
      break;
    case Step::filt1:
      current_socket_ = 1;
      break;
    case Step::filt2:  // RFC 5780 §4.4 test II: change IP and port
      current_socket_ = 1;
      change = stun::ChangeRequest{true, true};
      break;
    case Step::filt3:  // test III: change port only
      current_socket_ = 1;
      change = stun::ChangeRequest{false, true};
      break;
    case Step::hairpin:  // RFC 5780 §4.5: to our own mapped address, from another socket
      current_socket_ = 2;
      to = *report_.mapped;
      hairpin_seen_ = false;
      break;
    case Step::done:
      break;
  }
  current_.emplace(binding_request(tid, change), tid, stun::method::binding, to, policy_, now);
}

std::vector<Outgoing> NatDetector::poll(TimePoint now) {
  std::vector<Outgoing> out;
  // Bounded: every step either sends, waits or finishes; at most one finish per step.
  for (int guard = 0; guard < 16 && current_; ++guard) {
    if (auto bytes = current_->due(now)) {
      out.push_back({current_socket_, current_->destination(), std::move(*bytes)});
      break;
    }
    if (!current_->finished()) break;
    finish_step(now);
  }
  return out;
}

void NatDetector::on_datagram(std::size_t socket, std::span<const std::byte> bytes,
                              const Endpoint& from, TimePoint now) {
  auto m = parse_stun(bytes);
  if (!m || !current_) {
    ++dropped_;
    return;
  }
  if (step_ == Step::hairpin) {
    // Our own request, arriving on the socket whose mapping it was sent to.
    if (socket == 0 && m->type.cls == stun::MessageClass::request &&
        m->transaction_id == current_->id()) {
      hairpin_seen_ = true;
      current_->on_transport_error("", now);  // ends the wait; the step reads hairpin_seen_
      return;
    }
    ++dropped_;
    return;
  }
  if (socket != current_socket_ || !current_->matches(*m)) {
    ++dropped_;  // a late answer to an earlier test, or noise
    return;
  }
  current_->on_response(std::move(*m), from, now);
}

void NatDetector::on_socket_error(std::size_t socket, int error, TimePoint now) {
  if (current_ && socket == current_socket_) current_->on_transport_error(std::strerror(error), now);
}

std::optional<TimePoint> NatDetector::next_wakeup() const {
  if (!current_) return std::nullopt;
  if (current_->finished()) return TimePoint{};  // poll() at once to move on
  return current_->next_wakeup();
}

NatTest NatDetector::record(const Transaction& t, std::string name, std::size_t socket) const {
  NatTest r;
  r.name = std::move(name);
  r.socket = socket;
  r.to = t.destination();
  r.outcome = t.outcome();
  r.rtt = t.rtt();
  r.transmissions = t.transmissions();
  r.detail = t.failure();
  if (t.response()) {
    r.from = t.response_from();
    if (t.outcome() == Outcome::success) {
      if (auto m = mapped_address(*t.response())) {
        r.mapped = *m;
      } else {
        r.detail = "answer without a mapped address: " + m.error();
      }
    }
  }
  return r;
}

void NatDetector::finish_step(TimePoint now) {
  const Transaction t = *current_;
  const bool ok = t.outcome() == Outcome::success;
  switch (step_) {
    case Step::map1: {
      auto r = record(t, "mapping I (primary address)", 0);
      report_.tests.push_back(r);
      if (!ok || !r.mapped) {
        report_.notes.push_back("no usable answer from " + server_.to_string() + ": " +
                                (r.detail.empty() ? std::string(to_string(t.outcome())) : r.detail));
        begin(Step::done, now);
        return;
      }
      report_.answered = true;
      report_.mapped = r.mapped;
      report_.other_address = address_attribute(*t.response(), stun::attr::other_address);
      report_.response_origin = address_attribute(*t.response(), stun::attr::response_origin);
      report_.software = text_attribute(*t.response(), stun::attr::software);
      report_.nat = *r.mapped != report_.locals[0];
      report_.port_preserved = r.mapped->port == report_.locals[0].port;
      const auto& o = report_.other_address;
      report_.rfc5780 = o && o->address != server_.address && o->port != server_.port;
      if (!o) {
        report_.notes.push_back(
            "the server does not support RFC 5780 (no OTHER-ADDRESS in its answer): mapping and "
            "filtering behaviour cannot be tested with it, only whether there is a NAT");
      } else if (!report_.rfc5780) {
        report_.notes.push_back("the server's OTHER-ADDRESS " + o->to_string() +
                                " does not differ from its primary address in both IP and port: "
                                "mapping and filtering behaviour cannot be tested with it");
      }
      if (report_.rfc5780) {
        begin(report_.nat ? Step::map2 : Step::filt1, now);
      } else {
        begin(report_.nat ? Step::hairpin : Step::done, now);
      }
      return;
    }
    case Step::map2: {
      auto r = record(t, "mapping II (alternate IP, primary port)", 0);
      report_.tests.push_back(r);
      m2_ = r.mapped;
      if (!m2_) {
        report_.notes.push_back("no answer from the server's alternate address (mapping test II): "
                                "mapping behaviour unknown");
        begin(Step::filt1, now);
      } else {
        begin(*m2_ == *report_.mapped ? Step::filt1 : Step::map3, now);
      }
      return;
    }
    case Step::map3: {
      auto r = record(t, "mapping III (alternate IP and port)", 0);
      report_.tests.push_back(r);
      m3_ = r.mapped;
      if (!m3_) {
        report_.notes.push_back("no answer from the server's alternate address and port (mapping "
                                "test III): mapping behaviour unknown");
      }
      begin(Step::filt1, now);
      return;
    }
    case Step::filt1: {
      auto r = record(t, "filtering I (fresh mapping, primary address)", 1);
      report_.tests.push_back(r);
      if (!ok) {
        report_.notes.push_back("no answer to filtering test I: filtering behaviour unknown");
        begin(report_.nat ? Step::hairpin : Step::done, now);
      } else {
        begin(Step::filt2, now);
      }
      return;
    }
    case Step::filt2:
    case Step::filt3: {
      const bool both = step_ == Step::filt2;
      auto r = record(t, both ? "filtering II (CHANGE-REQUEST: change IP and port)"
                              : "filtering III (CHANGE-REQUEST: change port)",
                      1);
      std::optional<bool> answered;
      if (ok) {
        // RFC 5780 §4.4: the answer must come from the changed address, else the server ignored
        // CHANGE-REQUEST and the test proves nothing.
        const bool changed = both ? (r.from->address != server_.address)
                                  : (r.from->port != server_.port);
        if (changed) {
          answered = true;
        } else {
          r.detail = "the answer came from " + r.from->to_string() +
                     ": the server ignored CHANGE-REQUEST";
          report_.notes.push_back("the server ignored CHANGE-REQUEST: filtering behaviour unknown");
        }
      } else if (t.outcome() == Outcome::timeout) {
        answered = false;
        r.detail = "no answer: filtered (" + r.detail + ")";
      } else {
        report_.notes.push_back(std::string(both ? "filtering test II" : "filtering test III") +
                                " failed: " + r.detail + ": filtering behaviour unknown");
      }
      report_.tests.push_back(r);
      (both ? change_both_ : change_port_) = answered;
      if (both && answered == false) {
        begin(Step::filt3, now);
      } else {
        begin(report_.nat ? Step::hairpin : Step::done, now);
      }
      return;
    }
    case Step::hairpin: {
      auto r = record(t, "hairpinning (to our own mapped address)", 2);
      r.outcome = hairpin_seen_ ? Outcome::success : Outcome::timeout;
      r.detail = hairpin_seen_ ? "our request came back through the NAT"
                               : "our request did not come back: " + t.failure();
      report_.tests.push_back(r);
      report_.hairpinning = hairpin_seen_ ? Hairpinning::yes : Hairpinning::no;
      begin(Step::done, now);
      return;
    }
    case Step::done:
      return;
  }
}

void NatDetector::conclude() {
  report_.mapping = classify_mapping(report_.locals[0], report_.mapped, m2_, m3_);
  if (report_.answered && !report_.rfc5780) report_.mapping = report_.nat ? Mapping::unknown : Mapping::no_nat;
  report_.filtering = classify_filtering(change_both_, change_port_);
  report_.rfc3489 = classify_rfc3489(report_.answered, report_.mapping, report_.filtering);
}

}  // namespace icegate::media::stunclient
