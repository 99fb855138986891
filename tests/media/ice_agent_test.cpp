// ICE-lite agent, fully in memory with an injected clock: answering checks (RFC 8445 §7.3),
// error answers (RFC 5389 §10.1.2), path selection and nomination, consent freshness
// (RFC 7675) and role conflicts (RFC 8445 §7.3.1.1). Every response is checked with our own
// STUN parser.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
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

struct CheckOptions {
  std::string username = kLocal.ufrag + ":" + kRemote.ufrag;
  std::string key = kLocal.pwd;
  bool with_username = true;
  bool with_integrity = true;
  bool use_candidate = false;
  std::optional<std::uint64_t> controlling = 0x1111;  // the usual full-agent peer
  std::optional<std::uint64_t> controlled;
  std::optional<std::uint16_t> extra_attribute;
};

std::vector<std::byte> check(std::uint8_t id, const CheckOptions& o = {}) {
  stun::TransactionId tid{};
  tid.fill(static_cast<std::byte>(id));
  stun::MessageBuilder b({stun::method::binding, stun::MessageClass::request}, tid);
  if (o.with_username) b.add_text(attr::username, o.username);
  b.add_u32(attr::priority, 0x6E0001FF);
  if (o.controlling) b.add_u64(attr::ice_controlling, *o.controlling);
  if (o.controlled) b.add_u64(attr::ice_controlled, *o.controlled);
  if (o.use_candidate) b.add_flag(attr::use_candidate);
  if (o.extra_attribute) b.add_text(*o.extra_attribute, "?");
  if (o.with_integrity) b.add_message_integrity(stun::short_term_key(o.key));
  b.add_fingerprint();
  return std::move(b).finish();
}

struct IceLiteAgent : ::testing::Test {
  CountingRandom rng;
  AgentConfig config;
  LiteAgent agent{config, kLocal, rng};
  Output out;

  // Feeds one datagram and returns the single response it produced.
  stun::Message feed(const std::vector<std::byte>& dgram, const Endpoint& from, TimePoint now) {
    out = {};
    agent.on_stun(dgram, from, now, out);
    EXPECT_EQ(out.transmits.size(), 1u);
    if (out.transmits.empty()) return {};
    EXPECT_EQ(out.transmits[0].to, from);
    auto m = stun::parse(out.transmits[0].bytes);
    EXPECT_TRUE(m);
    EXPECT_EQ(stun::verify_fingerprint(*m), stun::Check::ok);  // RFC 8445 §7.3
    EXPECT_EQ(m->transaction_id, stun::parse(dgram)->transaction_id);
    return *m;
  }
  int error_code(const stun::Message& m) {
    if (m.type.cls != stun::MessageClass::error) return 0;
    return stun::read_error_code(m, *m.find(attr::error_code))->code;
  }
};

TEST_F(IceLiteAgent, ValidCheckIsAnsweredWithMappedAddressIntegrityAndFingerprint) {
  const auto from = ep("198.51.100.20", 50000);
  const auto r = feed(check(1), from, t0);
  ASSERT_EQ(r.type, (stun::MessageType{stun::method::binding, stun::MessageClass::success}));
  auto mapped = stun::read_address(r, *r.find(attr::xor_mapped_address));
  ASSERT_TRUE(mapped);
  EXPECT_EQ(*mapped, from);
  EXPECT_EQ(stun::verify_message_integrity(r, stun::short_term_key(kLocal.pwd)), stun::Check::ok);
  EXPECT_EQ(stun::verify_message_integrity(r, stun::short_term_key(kRemote.pwd)),
            stun::Check::mismatch);
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].kind, EventKind::connected);
  EXPECT_EQ(out.events[0].remote, from);
  EXPECT_EQ(agent.selected(), from);
  EXPECT_EQ(agent.stats().checks_answered, 1u);
  EXPECT_EQ(agent.stats().last_check, t0);
}

TEST_F(IceLiteAgent, Ipv6SourceIsMappedAsIpv6) {
  const auto from = ep("2001:db8::7", 40000);
  const auto r = feed(check(1), from, t0);
  EXPECT_EQ(*stun::read_address(r, *r.find(attr::xor_mapped_address)), from);
}

TEST_F(IceLiteAgent, WrongPasswordGets401AndNeverASuccessOrAPath) {
  CheckOptions o;
  o.key = "not-the-password-at-all";
  const auto r = feed(check(1, o), ep("198.51.100.20", 50000), t0);
  EXPECT_EQ(error_code(r), 401);
  EXPECT_FALSE(r.has(attr::message_integrity));  // RFC 5389 §10.1.2
  EXPECT_FALSE(r.has(attr::xor_mapped_address));
  EXPECT_TRUE(out.events.empty());
  EXPECT_FALSE(agent.selected());
  EXPECT_EQ(agent.stats().bad_integrity, 1u);
  EXPECT_EQ(agent.stats().checks_answered, 0u);
  // Keyed with the REMOTE password (a confused peer) is just as wrong.
  o.key = kRemote.pwd;
  EXPECT_EQ(error_code(feed(check(2, o), ep("198.51.100.20", 50000), t0)), 401);
  EXPECT_FALSE(agent.selected());
}

TEST_F(IceLiteAgent, WrongUsernameGets401) {
  CheckOptions o;
  o.username = "XXXX:" + kRemote.ufrag;  // not our ufrag
  EXPECT_EQ(error_code(feed(check(1, o), ep("198.51.100.20", 50000), t0)), 401);
  o.username = kLocal.ufrag;  // no colon
  EXPECT_EQ(error_code(feed(check(2, o), ep("198.51.100.20", 50000), t0)), 401);
  EXPECT_EQ(agent.stats().bad_username, 2u);
  EXPECT_EQ(agent.stats().bad_integrity, 0u);
  EXPECT_FALSE(agent.selected());

  // Once the peer's ufrag is known, the second half must match it too.
  agent.set_remote(kRemote, {}, t0, out);
  o.username = kLocal.ufrag + ":Other";
  EXPECT_EQ(error_code(feed(check(3, o), ep("198.51.100.20", 50000), t0)), 401);
  EXPECT_EQ(agent.stats().bad_username, 3u);
}

TEST_F(IceLiteAgent, ChecksBeforeTheRemoteCredentialsAreKnownAreAnswered) {
  // RFC 8445 §7.3: checks can beat the SDP answer; the remote ufrag cannot be checked yet.
  CheckOptions o;
  o.username = kLocal.ufrag + ":WhoEver";
  const auto r = feed(check(1, o), ep("198.51.100.20", 50000), t0);
  EXPECT_EQ(r.type.cls, stun::MessageClass::success);
}

TEST_F(IceLiteAgent, MissingUsernameOrIntegrityGets400) {
  CheckOptions no_user;
  no_user.with_username = false;
  EXPECT_EQ(error_code(feed(check(1, no_user), ep("198.51.100.20", 50000), t0)), 400);
  CheckOptions no_mi;
  no_mi.with_integrity = false;
  const auto r = feed(check(2, no_mi), ep("198.51.100.20", 50000), t0);
  EXPECT_EQ(error_code(r), 400);
  EXPECT_FALSE(r.has(attr::message_integrity));
  EXPECT_EQ(agent.stats().bad_request, 2u);
  EXPECT_FALSE(agent.selected());
}

TEST_F(IceLiteAgent, MalformedDatagramsAreDroppedSilentlyAndCounted) {
  auto bad_fp = check(1);
  bad_fp.back() ^= std::byte{1};
  auto truncated = check(2);
  truncated.resize(truncated.size() - 4);
  std::vector<std::byte> garbage(7, std::byte{0x01});
  for (const auto* d : {&bad_fp, &truncated, &garbage}) {
    agent.on_stun(*d, ep("198.51.100.20", 50000), t0, out);
  }
  EXPECT_TRUE(out.transmits.empty());
  EXPECT_TRUE(out.events.empty());
  EXPECT_EQ(agent.stats().malformed, 3u);
  EXPECT_FALSE(agent.selected());
}

TEST_F(IceLiteAgent, UnknownComprehensionRequiredAttributeGets420) {
  CheckOptions o;
  o.extra_attribute = 0x7F33;
  const auto r = feed(check(1, o), ep("198.51.100.20", 50000), t0);
  EXPECT_EQ(error_code(r), 420);
  EXPECT_EQ(*stun::read_unknown_attributes(r, *r.find(attr::unknown_attributes)),
            std::vector<std::uint16_t>{0x7F33});
  EXPECT_EQ(stun::verify_message_integrity(r, stun::short_term_key(kLocal.pwd)), stun::Check::ok);
  EXPECT_FALSE(agent.selected());
  // Comprehension-optional unknowns are ignored: the check succeeds.
  o.extra_attribute = 0xC033;
  EXPECT_EQ(feed(check(2, o), ep("198.51.100.20", 50000), t0).type.cls,
            stun::MessageClass::success);
}

TEST_F(IceLiteAgent, FirstAnsweredCheckSelectsAndUseCandidateTakesOver) {
  const auto a = ep("198.51.100.20", 50000);
  const auto b = ep("192.168.178.28", 65268);
  feed(check(1), a, t0);
  EXPECT_EQ(agent.selected(), a);
  EXPECT_FALSE(agent.stats().nominated);

  // A plain check on another pair is answered but does not move the media path.
  EXPECT_EQ(feed(check(2), b, t0 + 1s).type.cls, stun::MessageClass::success);
  EXPECT_TRUE(out.events.empty());
  EXPECT_EQ(agent.selected(), a);

  // USE-CANDIDATE on the other pair takes over.
  CheckOptions nominate;
  nominate.use_candidate = true;
  feed(check(3, nominate), b, t0 + 2s);
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].kind, EventKind::selected_pair_changed);
  EXPECT_EQ(out.events[0].remote, b);
  EXPECT_EQ(agent.selected(), b);
  EXPECT_TRUE(agent.stats().nominated);

  // Nominating the current path again changes nothing; a renomination moves it back.
  feed(check(4, nominate), b, t0 + 3s);
  EXPECT_TRUE(out.events.empty());
  feed(check(5, nominate), a, t0 + 4s);
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].kind, EventKind::selected_pair_changed);
  EXPECT_EQ(agent.selected(), a);
  EXPECT_EQ(agent.stats().nominations, 3u);
}

TEST_F(IceLiteAgent, NominationOnTheFirstCheckIsJustConnected) {
  CheckOptions nominate;
  nominate.use_candidate = true;
  feed(check(1, nominate), ep("198.51.100.20", 50000), t0);
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].kind, EventKind::connected);
  EXPECT_TRUE(agent.stats().nominated);
}

TEST_F(IceLiteAgent, UseCandidateAfterIntegrityIsNotHonoured) {
  // An attacker appending USE-CANDIDATE after MESSAGE-INTEGRITY must not steer the path.
  const auto a = ep("198.51.100.20", 50000);
  const auto b = ep("203.0.113.66", 1234);
  feed(check(1), a, t0);
  stun::TransactionId tid{};
  tid.fill(std::byte{9});
  stun::MessageBuilder m({stun::method::binding, stun::MessageClass::request}, tid);
  m.add_text(attr::username, kLocal.ufrag + ":" + kRemote.ufrag).add_u32(attr::priority, 1);
  m.add_u64(attr::ice_controlling, 1).add_message_integrity(stun::short_term_key(kLocal.pwd));
  m.add_flag(attr::use_candidate).add_fingerprint();
  feed(m.bytes(), b, t0 + 1s);
  EXPECT_EQ(agent.selected(), a);
  EXPECT_EQ(agent.stats().nominations, 0u);
}

TEST_F(IceLiteAgent, ConsentExpiresThirtySecondsAfterTheLastCheck) {
  const auto a = ep("198.51.100.20", 50000);
  feed(check(1), a, t0);
  EXPECT_EQ(agent.next_timer(), t0 + 30s);
  out = {};
  agent.on_timer(t0 + 30s - 1ms, out);
  EXPECT_TRUE(out.events.empty());
  agent.on_timer(t0 + 30s, out);
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].kind, EventKind::consent_lost);
  EXPECT_EQ(out.events[0].remote, a);
  EXPECT_TRUE(agent.consent_lost());
  // Reported once only.
  out = {};
  agent.on_timer(t0 + 60s, out);
  EXPECT_TRUE(out.events.empty());
  EXPECT_FALSE(agent.next_timer());
}

TEST_F(IceLiteAgent, ConsentIsKeptAliveByChecksOnTheMediaPath) {
  const auto a = ep("198.51.100.20", 50000);
  const auto other = ep("192.168.178.28", 65268);
  TimePoint now = t0;
  feed(check(1), a, now);
  for (int i = 0; i < 24; ++i) {  // two minutes of checks every 5 s
    now += 5s;
    out = {};
    agent.on_timer(now, out);
    EXPECT_TRUE(out.events.empty());
    feed(check(static_cast<std::uint8_t>(2 + i)), a, now);
  }
  EXPECT_EQ(agent.next_timer(), now + 30s);
  // Checks on another pair do not count for the media path's consent.
  feed(check(100), other, now + 20s);
  out = {};
  agent.on_timer(now + 30s, out);
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].kind, EventKind::consent_lost);
}

TEST_F(IceLiteAgent, FailedChecksDoNotKeepConsent) {
  const auto a = ep("198.51.100.20", 50000);
  feed(check(1), a, t0);
  CheckOptions bad;
  bad.key = "wrong-password-wrong-password";
  feed(check(2, bad), a, t0 + 20s);
  out = {};
  agent.on_timer(t0 + 30s, out);
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].kind, EventKind::consent_lost);
}

TEST_F(IceLiteAgent, IceThatNeverSucceedsIsReported) {
  agent.set_remote(kRemote, {ep("192.168.178.28", 65268)}, t0, out);
  out = {};
  agent.on_timer(t0 + 30s, out);
  const auto lost = std::find_if(out.events.begin(), out.events.end(),
                                 [](const Event& e) { return e.kind == EventKind::consent_lost; });
  ASSERT_NE(lost, out.events.end());
  EXPECT_NE(lost->detail.find("ICE failed"), std::string::npos) << lost->detail;
  EXPECT_NE(lost->detail.find("never answered"), std::string::npos) << lost->detail;
}

TEST_F(IceLiteAgent, PeerClaimingControlledGets487WhateverTheTieBreakers) {
  // RFC 8445 §6.1.1: the full peer must control a lite agent. Whether its tie-breaker is the
  // smallest or the largest possible, a check with ICE-CONTROLLED gets 487 (signed), selects
  // nothing, and the peer's next check as controlling succeeds.
  for (std::uint64_t tb : {0ull, 0xFFFF'FFFF'FFFF'FFFFull}) {
    CheckOptions o;
    o.controlling.reset();
    o.controlled = tb;
    const auto r = feed(check(1, o), ep("198.51.100.20", 50000), t0);
    EXPECT_EQ(error_code(r), 487) << tb;
    EXPECT_EQ(stun::verify_message_integrity(r, stun::short_term_key(kLocal.pwd)),
              stun::Check::ok);
    EXPECT_FALSE(agent.selected());
  }
  EXPECT_EQ(agent.stats().role_conflicts, 2u);
  EXPECT_TRUE(out.events.empty());
  CheckOptions switched;  // ICE-CONTROLLING, as after the peer's switch
  EXPECT_EQ(feed(check(2, switched), ep("198.51.100.20", 50000), t0).type.cls,
            stun::MessageClass::success);
  EXPECT_TRUE(agent.selected());
}

TEST_F(IceLiteAgent, BothRoleAttributesOrBadValuesGet400) {
  CheckOptions both;
  both.controlled = 5;
  EXPECT_EQ(error_code(feed(check(1, both), ep("198.51.100.20", 50000), t0)), 400);
  EXPECT_FALSE(agent.selected());
}

TEST_F(IceLiteAgent, OtherStunTrafficIsIgnored) {
  stun::TransactionId tid{};
  stun::MessageBuilder ind({stun::method::binding, stun::MessageClass::indication}, tid);
  ind.add_fingerprint();
  stun::MessageBuilder alloc({stun::method::allocate, stun::MessageClass::request}, tid);
  alloc.add_fingerprint();
  stun::MessageBuilder stray({stun::method::binding, stun::MessageClass::success}, tid);
  stray.add_fingerprint();
  for (const auto* b : {&ind, &alloc, &stray}) {
    agent.on_stun(b->bytes(), ep("198.51.100.20", 50000), t0, out);
  }
  EXPECT_TRUE(out.transmits.empty());
  EXPECT_EQ(agent.stats().ignored, 3u);
}

std::vector<std::byte> indication(std::uint8_t id) {
  stun::TransactionId tid{};
  tid.fill(static_cast<std::byte>(id));
  stun::MessageBuilder b({stun::method::binding, stun::MessageClass::indication}, tid);
  b.add_fingerprint();  // RFC 8445 §11
  return std::move(b).finish();
}

TEST_F(IceLiteAgent, BindingIndicationsFromTheMediaPathKeepConsent) {
  const auto a = ep("198.51.100.20", 50000);
  feed(check(1), a, t0);
  TimePoint now = t0;
  for (int i = 0; i < 8; ++i) {  // baresip: one indication every 15 s, no checks
    now += 15s;
    out = {};
    agent.on_timer(now - 1ms, out);
    EXPECT_TRUE(out.events.empty());
    agent.on_stun(indication(static_cast<std::uint8_t>(10 + i)), a, now, out);
    EXPECT_TRUE(out.transmits.empty()) << "an indication is never answered";
  }
  EXPECT_EQ(agent.stats().indications, 8u);
  EXPECT_EQ(agent.stats().last_indication, now);
  EXPECT_EQ(agent.next_timer(), now + 30s);
  // From another address they count for nothing.
  agent.on_stun(indication(30), ep("192.168.178.28", 65268), now + 20s, out);
  EXPECT_EQ(agent.stats().indications, 8u);
  out = {};
  agent.on_timer(now + 30s, out);
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].kind, EventKind::consent_lost);
}

TEST_F(IceLiteAgent, IndicationsNeitherSelectAPathNorExtendTheIceDeadline) {
  const auto a = ep("198.51.100.20", 50000);
  agent.set_remote(kRemote, {a}, t0, out);
  agent.on_stun(indication(1), a, t0 + 20s, out);
  EXPECT_FALSE(agent.selected());
  EXPECT_EQ(agent.stats().indications, 0u);
  out = {};
  agent.on_timer(t0 + 30s, out);  // ICE never succeeded: reported on time all the same
  const auto lost = std::find_if(out.events.begin(), out.events.end(),
                                 [](const Event& e) { return e.kind == EventKind::consent_lost; });
  ASSERT_NE(lost, out.events.end());
  EXPECT_NE(lost->detail.find("ICE failed"), std::string::npos) << lost->detail;
}

TEST_F(IceLiteAgent, AuthenticatedMediaKeepsConsentOnceAPathIsSelected) {
  const auto a = ep("198.51.100.20", 50000);
  agent.on_authenticated_media(t0);  // no path yet: ignored
  EXPECT_FALSE(agent.stats().last_media);
  feed(check(1), a, t0);
  agent.on_authenticated_media(t0 + 29s);
  EXPECT_EQ(agent.stats().last_media, t0 + 29s);
  EXPECT_EQ(agent.next_timer(), t0 + 59s);
  out = {};
  agent.on_timer(t0 + 59s - 1ms, out);
  EXPECT_TRUE(out.events.empty());
  agent.on_timer(t0 + 59s, out);
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_NE(out.events[0].detail.find("authenticated media"), std::string::npos);
  // Lost is lost: late media neither revives consent nor re-arms a timer.
  agent.on_authenticated_media(t0 + 60s);
  EXPECT_TRUE(agent.consent_lost());
  EXPECT_FALSE(agent.next_timer());
}

TEST(IceEvents, Names) {
  EXPECT_EQ(to_string(EventKind::consent_lost), "consent-lost");
  EXPECT_EQ(to_string(EventKind::pinhole_answered), "pinhole-answered");
}

}  // namespace
}  // namespace icegate::media::ice
