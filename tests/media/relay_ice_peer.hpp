// The softphone's side of ICE in the relay tests: connectivity checks (RFC 8445 §7.2.2) signed
// with the relay leg's password, and waiting for their answers on a loopback Peer.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "media/ice/agent.hpp"
#include "media/stun/attributes.hpp"
#include "media/stun/builder.hpp"
#include "media/stun/integrity.hpp"
#include "relay_test_peer.hpp"

namespace icegate::media::testing {

inline const ice::Credentials kRelayIce{"relayufr", "relaypasswordrelaypassword"};
inline const ice::Credentials kPeerIce{"peerufrg", "peerpasswordpeerpassword"};

// Deterministic transaction ids for the agents under test.
class CountingRandom final : public ice::RandomSource {
 public:
  void fill(std::span<std::byte> out) override {
    for (auto& b : out) b = static_cast<std::byte>(++n_);
  }

 private:
  unsigned n_ = 0;
};

inline stun::TransactionId transaction(std::uint8_t n) {
  stun::TransactionId t{};
  t.fill(std::byte{n});
  return t;
}

// A Binding Request as the controlling peer sends it for `component` (RFC 8445 §5.1.2.1
// priority, §7.2.2 attributes).
inline std::vector<std::byte> ice_check(const stun::TransactionId& t, bool use_candidate,
                                        std::uint16_t component = 1,
                                        std::string_view pwd = kRelayIce.pwd) {
  namespace attr = stun::attr;
  stun::MessageBuilder b({stun::method::binding, stun::MessageClass::request}, t);
  b.add_text(attr::username, kRelayIce.ufrag + ":" + kPeerIce.ufrag);
  b.add_u32(attr::priority, (110u << 24) | (65535u << 8) | (256u - component));
  b.add_u64(attr::ice_controlling, 0x1234);
  if (use_candidate) b.add_flag(attr::use_candidate);
  b.add_message_integrity(stun::short_term_key(pwd));
  b.add_fingerprint();
  return std::move(b).finish();
}

inline std::optional<stun::Message> as_stun(const Datagram& d) {
  if (!is_stun(d)) return std::nullopt;
  auto m = stun::parse(d.bytes);
  if (!m) return std::nullopt;
  return std::move(*m);
}

// Sends a check from `peer` to `to` and returns the answer (nullopt: none within 5 s).
inline std::optional<stun::Message> run_check(const Peer& peer, const Endpoint& to, std::uint8_t n,
                                              bool use_candidate, std::uint16_t component = 1) {
  const auto t = transaction(n);
  if (!peer.send(to, ice_check(t, use_candidate, component))) return std::nullopt;
  auto d = peer.recv_until([&](const Datagram& d) {
    auto m = as_stun(d);
    return m && m->transaction_id == t && m->type.cls != stun::MessageClass::request;
  });
  if (!d || d->from != to) return std::nullopt;
  return as_stun(*d);
}

inline bool is_success(const std::optional<stun::Message>& m) {
  return m && m->type.cls == stun::MessageClass::success;
}

}  // namespace icegate::media::testing
