// Pin-hole punching (behaviour.md §4), ICE restart and credential generation (RFC 8445 §5.3),
// in memory with an injected clock.
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>

#include "ice_test_support.hpp"
#include "media/ice/agent.hpp"
#include "media/stun/attributes.hpp"
#include "media/stun/builder.hpp"
#include "media/stun/integrity.hpp"

namespace icegate::media::ice {
namespace {

namespace stun = media::stun;
namespace attr = stun::attr;
using namespace std::chrono_literals;

using namespace test;

const Endpoint kHost = ep("192.168.178.28", 65268);
const Endpoint kSrflx = ep("93.228.1.2", 65268);
const Endpoint kRelay = ep("203.0.113.9", 3478);

// A Binding Success from the peer to one of our requests, signed with the peer's password.
std::vector<std::byte> answer(const stun::Message& request, const Endpoint& seen_as,
                              const std::string& key = kRemote.pwd) {
  stun::MessageBuilder b({stun::method::binding, stun::MessageClass::success},
                         request.transaction_id);
  b.add_address(attr::xor_mapped_address, seen_as);
  b.add_message_integrity(stun::short_term_key(key)).add_fingerprint();
  return std::move(b).finish();
}

std::vector<std::byte> peer_check(const Credentials& local, std::uint8_t id,
                                  bool nominate = false) {
  stun::TransactionId tid{};
  tid.fill(static_cast<std::byte>(id));
  stun::MessageBuilder b({stun::method::binding, stun::MessageClass::request}, tid);
  b.add_text(attr::username, local.ufrag + ":" + kRemote.ufrag).add_u32(attr::priority, 1);
  b.add_u64(attr::ice_controlling, 42);
  if (nominate) b.add_flag(attr::use_candidate);
  b.add_message_integrity(stun::short_term_key(local.pwd)).add_fingerprint();
  return std::move(b).finish();
}

struct IcePunch : ::testing::Test {
  CountingRandom rng;
  AgentConfig config;
  Output out;

  std::vector<stun::Message> sent_to(const Endpoint& to) const {
    std::vector<stun::Message> r;
    for (const auto& t : out.transmits) {
      if (t.to == to) r.push_back(*stun::parse(t.bytes));
    }
    return r;
  }
};

TEST_F(IcePunch, SendsOneSignedRequestToTheFirstCandidate) {
  LiteAgent agent(config, kLocal, rng);
  agent.set_remote(kRemote, {kHost, kSrflx, kRelay}, t0, out);
  ASSERT_EQ(out.transmits.size(), 1u);
  EXPECT_EQ(out.transmits[0].to, kHost);
  const auto req = *stun::parse(out.transmits[0].bytes);
  EXPECT_EQ(req.type, (stun::MessageType{stun::method::binding, stun::MessageClass::request}));
  // RFC 8445 §7.2.2: USERNAME "their:our", keyed with THEIR password, FINGERPRINT.
  EXPECT_EQ(*stun::read_text(req, *req.find(attr::username)), "ReMo:LoCa");
  EXPECT_EQ(stun::verify_message_integrity(req, stun::short_term_key(kRemote.pwd)),
            stun::Check::ok);
  EXPECT_EQ(stun::verify_fingerprint(req), stun::Check::ok);
  ASSERT_TRUE(req.has(attr::priority));
  // Peer-reflexive priority, RFC 8445 §5.1.2.1: type 110, local 65535, component 1.
  EXPECT_EQ(*stun::read_u32(req, *req.find(attr::priority)), (110u << 24) | (65535u << 8) | 255u);
  EXPECT_EQ(*stun::read_u64(req, *req.find(attr::ice_controlled)), 0u);  // see agent.hpp: Roles
  EXPECT_FALSE(req.has(attr::ice_controlling));
  EXPECT_FALSE(req.has(attr::use_candidate));  // never nominates
  EXPECT_TRUE(out.events.empty());
  EXPECT_EQ(agent.stats().punches_sent, 1u);
  ASSERT_EQ(agent.stats().punches.size(), 1u);
  EXPECT_EQ(agent.stats().punches[0].target, kHost);
}

TEST_F(IcePunch, PunchAllSendsToEveryDistinctCandidate) {
  config.punch_all = true;
  LiteAgent agent(config, kLocal, rng);
  agent.set_remote(kRemote, {kHost, kSrflx, kHost, kRelay}, t0, out);
  ASSERT_EQ(out.transmits.size(), 3u);
  EXPECT_EQ(sent_to(kHost).size(), 1u);
  EXPECT_EQ(sent_to(kSrflx).size(), 1u);
  EXPECT_EQ(sent_to(kRelay).size(), 1u);
  std::set<stun::TransactionId> tids;
  for (const auto& t : out.transmits) tids.insert(stun::parse(t.bytes)->transaction_id);
  EXPECT_EQ(tids.size(), 3u);  // one transaction per candidate
}

TEST_F(IcePunch, RetransmitsWithDoublingIntervalThenStops) {
  config.punch_attempts = 3;
  config.punch_initial_interval = 100ms;
  LiteAgent agent(config, kLocal, rng);
  agent.set_remote(kRemote, {kHost}, t0, out);
  const auto first = stun::parse(out.transmits.at(0).bytes)->transaction_id;
  EXPECT_EQ(agent.next_timer(), t0 + 100ms);

  out = {};
  agent.on_timer(t0 + 99ms, out);
  EXPECT_TRUE(out.transmits.empty());
  agent.on_timer(t0 + 100ms, out);
  ASSERT_EQ(out.transmits.size(), 1u);
  // RFC 5389 §7.2.1: a retransmission keeps the transaction id.
  EXPECT_EQ(stun::parse(out.transmits[0].bytes)->transaction_id, first);
  EXPECT_EQ(agent.next_timer(), t0 + 300ms);

  out = {};
  agent.on_timer(t0 + 300ms, out);
  EXPECT_EQ(out.transmits.size(), 1u);
  // Three attempts done: only the consent deadline is left.
  EXPECT_EQ(agent.next_timer(), t0 + config.consent_timeout);
  out = {};
  agent.on_timer(t0 + 10s, out);
  EXPECT_TRUE(out.transmits.empty());
  EXPECT_EQ(agent.stats().punches_sent, 3u);
  EXPECT_EQ(agent.stats().punches[0].sent, 3);
}

TEST_F(IcePunch, ZeroAttemptsDisablesPunching) {
  config.punch_attempts = 0;
  LiteAgent agent(config, kLocal, rng);
  agent.set_remote(kRemote, {kHost, kSrflx}, t0, out);
  EXPECT_TRUE(out.transmits.empty());
  EXPECT_EQ(agent.next_timer(), t0 + config.consent_timeout);
}

TEST_F(IcePunch, AnswersAreDiagnosticsAndNeverSelectThePath) {
  config.punch_all = true;
  LiteAgent agent(config, kLocal, rng);
  agent.set_remote(kRemote, {kHost, kSrflx}, t0, out);
  const auto to_srflx = sent_to(kSrflx).at(0);
  const auto us = ep("203.0.113.7", 30124);

  out = {};
  agent.on_stun(answer(to_srflx, us), kSrflx, t0 + 40ms, out);
  EXPECT_TRUE(out.transmits.empty());
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].kind, EventKind::pinhole_answered);
  EXPECT_EQ(out.events[0].remote, kSrflx);
  EXPECT_NE(out.events[0].detail.find("203.0.113.7:30124"), std::string::npos);
  EXPECT_FALSE(agent.selected());  // behaviour.md §4: NOT used to pick the media path
  const auto& s = agent.stats();
  EXPECT_EQ(s.punches_answered, 1u);
  EXPECT_TRUE(s.punches[1].answered);
  EXPECT_EQ(s.punches[1].answered_at, t0 + 40ms);
  EXPECT_EQ(s.punches[1].mapped, us);
  EXPECT_FALSE(s.punches[0].answered);

  // A duplicate answer is not counted twice, and the answered target is not retransmitted to.
  agent.on_stun(answer(to_srflx, us), kSrflx, t0 + 50ms, out);
  EXPECT_EQ(agent.stats().punches_answered, 1u);
  out = {};
  agent.on_timer(t0 + 100ms, out);
  ASSERT_EQ(out.transmits.size(), 1u);
  EXPECT_EQ(out.transmits[0].to, kHost);

  // The path is chosen by the peer's own check, even on the answered candidate.
  out = {};
  agent.on_stun(peer_check(kLocal, 1), kHost, t0 + 200ms, out);
  EXPECT_EQ(agent.selected(), kHost);
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].kind, EventKind::connected);
}

TEST_F(IcePunch, ForgedOrStrayAnswersAreRejected) {
  LiteAgent agent(config, kLocal, rng);
  agent.set_remote(kRemote, {kHost}, t0, out);
  const auto req = sent_to(kHost).at(0);
  out = {};
  // Signed with the wrong password: rejected.
  agent.on_stun(answer(req, kHost, "attacker-password-123456"), kHost, t0, out);
  // Unknown transaction id: ignored.
  auto other = req;
  other.transaction_id[0] ^= std::byte{1};
  agent.on_stun(answer(other, kHost), kHost, t0, out);
  EXPECT_TRUE(out.events.empty());
  EXPECT_EQ(agent.stats().punches_answered, 0u);
  EXPECT_EQ(agent.stats().punch_responses_rejected, 1u);
  EXPECT_EQ(agent.stats().ignored, 1u);
  EXPECT_FALSE(agent.stats().punches[0].answered);
  EXPECT_NE(summary(agent.stats()).find("never answered"), std::string::npos);
}

TEST_F(IcePunch, ErrorAnswersAreRecordedAndA487ChangesNothing) {
  LiteAgent agent(config, kLocal, rng);
  agent.set_remote(kRemote, {kHost}, t0, out);
  const auto req = sent_to(kHost).at(0);
  stun::MessageBuilder b({stun::method::binding, stun::MessageClass::error}, req.transaction_id);
  b.add_error_code(487).add_message_integrity(stun::short_term_key(kRemote.pwd)).add_fingerprint();
  out = {};
  agent.on_stun(b.bytes(), kHost, t0 + 10ms, out);
  EXPECT_EQ(agent.stats().punches[0].error_code, 487);
  EXPECT_FALSE(agent.selected());
  // The finished transaction is not retransmitted.
  agent.on_timer(t0 + 100ms, out);
  EXPECT_TRUE(out.transmits.empty());
}

TEST_F(IcePunch, RequestsCarryIceControlledWithTieBreakerZero) {
  // A full peer that wrongly thinks it is controlled compares its tie-breaker with ours
  // (RFC 8445 §7.3.1.1): with 0 it always switches to controlling, as §6.1.1 wants.
  LiteAgent agent(config, kLocal, rng);
  stun::TransactionId tid{};
  stun::MessageBuilder b({stun::method::binding, stun::MessageClass::request}, tid);
  b.add_text(attr::username, "LoCa:ReMo").add_u32(attr::priority, 1);
  b.add_u64(attr::ice_controlled, 1);  // a conflicting peer: 487, and we stay controlled
  b.add_message_integrity(stun::short_term_key(kLocal.pwd)).add_fingerprint();
  agent.on_stun(b.bytes(), kHost, t0, out);
  out = {};
  agent.set_remote(kRemote, {kHost}, t0, out);
  const auto req = sent_to(kHost).at(0);
  ASSERT_TRUE(req.has(attr::ice_controlled));
  EXPECT_FALSE(req.has(attr::ice_controlling));
  const auto* a = req.find(attr::ice_controlled);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(stun::read_u64(req, *a).value(), 0u);
}

TEST_F(IcePunch, RestartChangesCredentialsAndReselectsThePath) {
  LiteAgent agent(config, kLocal, rng);
  agent.set_remote(kRemote, {kHost}, t0, out);
  agent.on_stun(peer_check(kLocal, 1), kHost, t0, out);
  ASSERT_EQ(agent.selected(), kHost);

  const Credentials fresh = Credentials::generate(rng);
  ASSERT_NE(fresh, kLocal);
  agent.restart(fresh);
  EXPECT_EQ(agent.local(), fresh);
  EXPECT_FALSE(agent.remote());
  EXPECT_EQ(agent.selected(), kHost);  // media keeps flowing until the new session picks a path

  // Checks with the old credentials now fail.
  out = {};
  agent.on_stun(peer_check(kLocal, 2), kSrflx, t0 + 1s, out);
  auto r = stun::parse(out.transmits.at(0).bytes);
  EXPECT_EQ(r->type.cls, stun::MessageClass::error);
  EXPECT_EQ(agent.stats().bad_username, 1u);

  // The first check with the new credentials picks the path afresh.
  out = {};
  agent.set_remote(kRemote, {kSrflx}, t0 + 1s, out);
  const auto punch = sent_to(kSrflx).at(0);
  EXPECT_EQ(*stun::read_text(punch, *punch.find(attr::username)), "ReMo:" + fresh.ufrag);
  out = {};
  agent.on_stun(peer_check(fresh, 3), kSrflx, t0 + 2s, out);
  EXPECT_EQ(stun::parse(out.transmits.at(0).bytes)->type.cls, stun::MessageClass::success);
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].kind, EventKind::selected_pair_changed);
  EXPECT_EQ(agent.selected(), kSrflx);
}

TEST(IceCredentials, GeneratedOnesFollowRfc8445) {
  CountingRandom rng;
  const auto a = Credentials::generate(rng);
  const auto b = Credentials::generate(rng);
  EXPECT_GE(a.ufrag.size(), 4u);
  EXPECT_GE(a.pwd.size(), 22u);
  EXPECT_TRUE(is_ice_chars(a.ufrag));
  EXPECT_TRUE(is_ice_chars(a.pwd));
  EXPECT_TRUE(a.valid());
  EXPECT_NE(a, b);
  // The default source is OpenSSL's CSPRNG.
  const auto c = Credentials::generate();
  const auto d = Credentials::generate();
  EXPECT_TRUE(c.valid());
  EXPECT_NE(c.pwd, d.pwd);
}

TEST(IceCredentials, Validation) {
  EXPECT_FALSE((Credentials{"abc", "0123456789012345678901"}).valid());   // ufrag too short
  EXPECT_FALSE((Credentials{"abcd", "012345678901234567890"}).valid());   // pwd too short
  EXPECT_FALSE((Credentials{"ab:d", "0123456789012345678901"}).valid());  // ':' not an ice-char
  EXPECT_TRUE((Credentials{"a+/d", "0123456789012345678901"}).valid());
}

}  // namespace
}  // namespace icegate::media::ice
