#include "media/stunclient/turn_client.hpp"

#include <cerrno>
#include <cstring>

#include "media/stun/builder.hpp"
#include "media/stun/integrity.hpp"
#include "media/stunclient/messages.hpp"

namespace icegate::media::stunclient {
namespace {

std::string hex(const stun::TransactionId& tid) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  for (auto b : tid) {
    s += kDigits[std::to_integer<unsigned>(b) >> 4];
    s += kDigits[std::to_integer<unsigned>(b) & 15];
  }
  return s;
}

std::string describe_error(const Transaction& t) {
  if (t.outcome() == Outcome::error_response) {
    return std::to_string(t.error_code().code) + " " + t.error_code().reason;
  }
  return t.failure().empty() ? std::string(to_string(t.outcome())) : t.failure();
}

}  // namespace

TurnClient::TurnClient(Endpoint server, TurnCredentials credentials, Endpoint peer_local,
                       RetransmitPolicy policy, TimePoint now, TransactionIdSource ids,
                       Millis resend)
    : server_(server),
      creds_(std::move(credentials)),
      peer_local_(peer_local),
      policy_(policy),
      ids_(std::move(ids)),
      resend_(resend) {
  report_.server = server;
  const auto tag = hex(ids_());
  payload_ = "icegate turn-check " + tag;
  reply_ = "icegate turn-check reply " + tag;
  begin(Step::peer_probe, now);
}

std::vector<std::byte> TurnClient::request(std::uint16_t method, const stun::TransactionId& tid,
                                           bool auth) {
  stun::MessageBuilder b({method, stun::MessageClass::request}, tid);
  switch (method) {
    case stun::method::allocate:
      // RFC 8656 §7.1: REQUESTED-TRANSPORT is mandatory; UDP relaying.
      b.add_requested_transport(stun::kTransportUdp);
      break;
    case stun::method::create_permission:
      b.add_address(stun::attr::xor_peer_address, *report_.peer);
      break;
    case stun::method::refresh:
      b.add_u32(stun::attr::lifetime, 0);  // RFC 8656 §7.2: lifetime 0 deletes the allocation
      break;
    default:
      break;
  }
  if (auth) {
    // RFC 8656 §9.2 / RFC 5389 §10.2.2: USERNAME, REALM and NONCE from the 401, then
    // MESSAGE-INTEGRITY with the long-term key.
    b.add_text(stun::attr::username, creds_.username);
    b.add_text(stun::attr::realm, report_.realm);
    b.add_text(stun::attr::nonce, nonce_);
    b.add_message_integrity(key_);
  }
  b.add_fingerprint();
  return std::move(b).finish();
}

void TurnClient::begin(Step s, TimePoint now) {
  step_ = s;
  current_.reset();
  const auto tid = ids_();
  switch (s) {
    case Step::peer_probe:
      // Learn the peer's address as the server sees it (its server-reflexive address).
      current_socket_ = 1;
      current_.emplace(binding_request(tid), tid, stun::method::binding, server_, policy_, now);
      return;
    case Step::alloc1:
      current_socket_ = 0;
      current_.emplace(request(stun::method::allocate, tid, false), tid, stun::method::allocate,
                       server_, policy_, now);
      return;
    case Step::alloc2:
      current_socket_ = 0;
      current_.emplace(request(stun::method::allocate, tid, true), tid, stun::method::allocate,
                       server_, policy_, now);
      return;
    case Step::permission:
      current_socket_ = 0;
      current_.emplace(request(stun::method::create_permission, tid, true), tid,
                       stun::method::create_permission, server_, policy_, now);
      return;
    case Step::release:
      current_socket_ = 0;
      current_.emplace(request(stun::method::refresh, tid, true), tid, stun::method::refresh,
                       server_, policy_, now);
      return;
    case Step::send:
    case Step::data:
      phase_start_ = now;
      next_send_ = now;
      phase_deadline_ = now + transaction_timeout(policy_);
      return;
    case Step::done:
      report_.ok = !report_.steps.empty();
      for (const auto& st : report_.steps) report_.ok = report_.ok && st.ok;
      report_.ok = report_.ok && report_.steps.back().name.rfind("refresh", 0) == 0 &&
                   report_.steps.size() >= 7;
      return;
  }
}

void TurnClient::step(std::string name, bool ok, Duration elapsed, std::string detail) {
  report_.steps.push_back({std::move(name), ok, elapsed, std::move(detail)});
}

bool TurnClient::verify(const stun::Message& m, std::string& why) const {
  // RFC 5389 §10.2.3: a response to an authenticated request carrying MESSAGE-INTEGRITY must
  // verify with the same key.
  if (stun::verify_message_integrity(m, key_) == stun::Check::mismatch) {
    why = "the response's MESSAGE-INTEGRITY does not verify with our key";
    return false;
  }
  return true;
}

void TurnClient::finish_request(TimePoint now) {
  const Transaction t = *current_;
  const bool ok = t.outcome() == Outcome::success;
  const stun::Message* r = t.response();
  switch (step_) {
    case Step::peer_probe: {
      if (ok) {
        if (auto m = mapped_address(*r)) report_.peer = *m;
      }
      if (!report_.peer) report_.peer = peer_local_;
      step("peer address", true, t.elapsed(),
           "local peer " + peer_local_.to_string() + ", seen by the server as " +
               report_.peer->to_string() + (ok ? "" : " (no Binding answer: " + describe_error(t) + ")"));
      begin(Step::alloc1, now);
      return;
    }
    case Step::alloc1: {
      if (ok) {  // a server without authentication
        step("allocate (unauthenticated)", true, t.elapsed(),
             "allocated without credentials: the server does not authenticate");
        step_ = Step::alloc2;
        finish_request(now);
        return;
      }
      const auto realm = r ? text_attribute(*r, stun::attr::realm) : std::nullopt;
      const auto nonce = r ? text_attribute(*r, stun::attr::nonce) : std::nullopt;
      if (t.outcome() != Outcome::error_response || t.error_code().code != 401 || !realm || !nonce) {
        step("allocate (unauthenticated)", false, t.elapsed(),
             "expected 401 with REALM and NONCE, got: " + describe_error(t));
        begin(Step::done, now);
        return;
      }
      report_.realm = *realm;
      nonce_ = *nonce;
      if (r) report_.software = text_attribute(*r, stun::attr::software);
      const auto key = stun::long_term_key(creds_.username, report_.realm, creds_.password);
      key_.assign(key.begin(), key.end());
      step("allocate (unauthenticated)", true, t.elapsed(),
           "401 Unauthorized with realm \"" + report_.realm + "\" and a nonce, as expected");
      begin(Step::alloc2, now);
      return;
    }
    default:
      break;
  }
  // Authenticated requests: 438 Stale Nonce is answered once more with the new nonce
  // (RFC 8656 §9.2, RFC 5389 §10.2.3).
  if (t.outcome() == Outcome::error_response && t.error_code().code == 438 && r &&
      stale_retries_ < 2) {
    if (auto nonce = text_attribute(*r, stun::attr::nonce)) {
      ++stale_retries_;
      nonce_ = *nonce;
      begin(step_, now);
      return;
    }
  }
  std::string why;
  const bool verified = !r || key_.empty() || verify(*r, why);
  switch (step_) {
    case Step::alloc2: {
      if (ok && verified) {
        report_.relayed = address_attribute(*r, stun::attr::xor_relayed_address);
        report_.mapped = address_attribute(*r, stun::attr::xor_mapped_address);
        if (const auto* a = r->find(stun::attr::lifetime)) {
          if (auto v = stun::read_u32(*r, *a)) report_.lifetime = *v;
        }
      }
      if (!ok || !verified || !report_.relayed) {
        std::string detail = !verified ? why
                             : ok     ? "success without XOR-RELAYED-ADDRESS"
                                      : describe_error(t);
        if (t.outcome() == Outcome::error_response && t.error_code().code == 401)
          detail += ": wrong username or password for realm \"" + report_.realm + "\"";
        step("allocate (authenticated)", false, t.elapsed(), detail);
        begin(Step::done, now);
        return;
      }
      step("allocate (authenticated)", true, t.elapsed(),
           "relayed address " + report_.relayed->to_string() + ", mapped address " +
               (report_.mapped ? report_.mapped->to_string() : std::string("(none)")) +
               ", lifetime " + (report_.lifetime ? std::to_string(*report_.lifetime) + " s" : "?"));
      // The peer sends first so that a NAT in front of it lets the relay's packets in; the
      // server drops this datagram (no permission yet).
      punch_pending_ = true;
      begin(Step::permission, now);
      return;
    }
    case Step::permission: {
      const bool good = ok && verified;
      step("create permission", good, t.elapsed(),
           good ? "for the peer's IP " + report_.peer->address.to_string()
                : (!verified ? why : describe_error(t)));
      begin(good ? Step::send : Step::release, now);
      return;
    }
    case Step::release: {
      const bool good = ok && verified;
      step("refresh lifetime 0 (release)", good, t.elapsed(),
           good ? "allocation released" : (!verified ? why : describe_error(t)));
      begin(Step::done, now);
      return;
    }
    default:
      return;
  }
}

std::vector<Outgoing> TurnClient::poll(TimePoint now) {
  std::vector<Outgoing> out;
  if (punch_pending_ && report_.relayed) {
    punch_pending_ = false;
    const auto bytes = stun::as_bytes("icegate turn-check punch");
    out.push_back({1, *report_.relayed, {bytes.begin(), bytes.end()}});
  }
  for (int guard = 0; guard < 16 && step_ != Step::done; ++guard) {
    if (step_ == Step::send || step_ == Step::data) {
      const bool sending = step_ == Step::send;
      if (now >= phase_deadline_) {
        step(sending ? "send indication -> peer" : "data indication <- peer", false,
             now - phase_start_,
             sending ? "the peer received nothing from the relayed address"
                     : "no Data indication with the peer's reply arrived");
        begin(Step::release, now);
        continue;
      }
      if (now >= next_send_) {
        next_send_ = now + resend_;
        if (sending) {
          // RFC 8656 §10.1: Send indication with XOR-PEER-ADDRESS and DATA, no integrity.
          stun::MessageBuilder b({stun::method::send, stun::MessageClass::indication}, ids_());
          b.add_address(stun::attr::xor_peer_address, *report_.peer);
          b.add_text(stun::attr::data, payload_);
          b.add_fingerprint();
          out.push_back({0, server_, std::move(b).finish()});
        } else {
          const auto bytes = stun::as_bytes(reply_);
          out.push_back({1, peer_seen_from_, {bytes.begin(), bytes.end()}});
        }
      }
      break;
    }
    if (!current_) break;
    if (auto bytes = current_->due(now)) {
      out.push_back({current_socket_, server_, std::move(*bytes)});
      break;
    }
    if (!current_->finished()) break;
    finish_request(now);
  }
  return out;
}

void TurnClient::on_datagram(std::size_t socket, std::span<const std::byte> bytes,
                             const Endpoint& from, TimePoint now) {
  if (socket == 1 && step_ == Step::send && stun::as_text(bytes) == payload_) {
    peer_seen_from_ = from;
    const bool from_relay = report_.relayed && from == *report_.relayed;
    step("send indication -> peer", true, now - phase_start_,
         "the peer received " + std::to_string(bytes.size()) + " bytes from " + from.to_string() +
             (from_relay ? " (the relayed address)" : " (NOT the relayed address)"));
    begin(Step::data, now);
    return;
  }
  if (socket == 1 && step_ == Step::data && stun::as_text(bytes) == payload_) return;  // repeat
  auto m = parse_stun(bytes);
  if (!m) {
    ++dropped_;
    return;
  }
  if (socket == 0 && step_ == Step::data && m->type.method == stun::method::data &&
      m->type.cls == stun::MessageClass::indication) {
    const auto peer = address_attribute(*m, stun::attr::xor_peer_address);
    const auto* d = m->find(stun::attr::data);
    if (d && stun::as_text(d->value) == reply_) {
      step("data indication <- peer", true, now - phase_start_,
           std::to_string(d->value.size()) + " bytes from peer " +
               (peer ? peer->to_string() : std::string("(no XOR-PEER-ADDRESS)")));
      begin(Step::release, now);
      return;
    }
  }
  if (current_ && socket == current_socket_ && current_->matches(*m)) {
    current_->on_response(std::move(*m), from, now);
    return;
  }
  ++dropped_;
}

void TurnClient::on_socket_error(std::size_t socket, int error, TimePoint now) {
  if (current_ && socket == current_socket_) {
    current_->on_transport_error(error == ECONNREFUSED ? "port unreachable (ICMP)"
                                                       : std::strerror(error),
                                 now);
  }
}

std::optional<TimePoint> TurnClient::next_wakeup() const {
  if (step_ == Step::done) return std::nullopt;
  if (step_ == Step::send || step_ == Step::data) return std::min(next_send_, phase_deadline_);
  if (!current_ || current_->finished()) return TimePoint{};
  return current_->next_wakeup();
}

}  // namespace icegate::media::stunclient
