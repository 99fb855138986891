// The ICE-lite agent with the candidate ACL on the sources of checks (behaviour.md §3, §6): a
// phone that offered no usable candidate (only mDNS names, or none yet while it trickles) is
// learnt from its first authenticated check (peer-reflexive, RFC 8445 §7.3.1.3), and a check
// from an address the ACL denies is never answered, counted, and reported once per address.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ice_test_support.hpp"
#include "media/ice/agent.hpp"
#include "media/stun/attributes.hpp"
#include "media/stun/builder.hpp"
#include "media/stun/integrity.hpp"

namespace icegate::media::ice {
namespace {

namespace attr = stun::attr;
using namespace test;

std::vector<std::byte> check(std::uint8_t id, const std::string& key = kLocal.pwd,
                             bool use_candidate = true) {
  stun::TransactionId tid{};
  tid.fill(static_cast<std::byte>(id));
  stun::MessageBuilder b({stun::method::binding, stun::MessageClass::request}, tid);
  b.add_text(attr::username, kLocal.ufrag + ":" + kRemote.ufrag);
  b.add_u32(attr::priority, 0x6E0001FF);
  b.add_u64(attr::ice_controlling, 0x1111);
  if (use_candidate) b.add_flag(attr::use_candidate);
  b.add_message_integrity(stun::short_term_key(key));
  b.add_fingerprint();
  return std::move(b).finish();
}

std::shared_ptr<const acl::Acl> blacklist(const char* cidr) {
  acl::AclBuilder b("cands");
  b.add(acl::Cidr::parse(cidr).value(), acl::ListKind::blacklist, "icegate.xml:7");
  return std::move(b).build();
}

struct SourceAcl : ::testing::Test {
  CountingRandom rng;
  AgentConfig config = [] {
    AgentConfig c;
    c.consent_timeout = 2s;
    c.source_acl = blacklist("203.0.113.0/24");
    return c;
  }();
  LiteAgent agent{config, kLocal, rng};
  Output out;

  void feed(const std::vector<std::byte>& dgram, const Endpoint& from, TimePoint now) {
    out = {};
    agent.on_stun(dgram, from, now, out);
  }
};

TEST_F(SourceAcl, PhoneWithoutCandidatesIsLearntFromItsFirstCheck) {
  // An offer with only mDNS names: no candidate to punch, nothing sent before the phone checks.
  agent.set_remote(kRemote, {}, t0, out);
  EXPECT_TRUE(out.transmits.empty());
  EXPECT_TRUE(agent.stats().punches.empty());

  const auto prflx = ep("198.51.100.20", 53000);
  feed(check(1), prflx, t0 + 50ms);
  ASSERT_EQ(out.transmits.size(), 1u);
  EXPECT_EQ(out.transmits[0].to, prflx);
  auto r = stun::parse(out.transmits[0].bytes);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->type.cls, stun::MessageClass::success);
  const auto mapped = stun::read_address(*r, *r->find(attr::xor_mapped_address));
  ASSERT_TRUE(mapped);
  EXPECT_EQ(*mapped, prflx);
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].kind, EventKind::connected);
  EXPECT_EQ(agent.selected(), prflx);
  EXPECT_EQ(agent.stats().refused_by_acl, 0u);
}

TEST_F(SourceAcl, CheckFromDeniedAddressIsNeitherAnsweredNorSelectedAndReportedOnce) {
  agent.set_remote(kRemote, {}, t0, out);
  const auto blocked = ep("203.0.113.9", 40000);
  feed(check(1), blocked, t0 + 10ms);
  EXPECT_TRUE(out.transmits.empty()) << "nothing may go to a denied address";
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].kind, EventKind::check_refused);
  EXPECT_EQ(out.events[0].remote, blocked);
  EXPECT_EQ(out.events[0].detail,
            "check from 203.0.113.9:40000 not answered: rejected by acl \"cands\" (blacklist "
            "203.0.113.0/24 (icegate.xml:7))");
  EXPECT_FALSE(agent.selected());

  // Its retransmissions are counted, not reported again.
  feed(check(2), blocked, t0 + 60ms);
  EXPECT_TRUE(out.transmits.empty());
  EXPECT_TRUE(out.events.empty());
  EXPECT_EQ(agent.stats().refused_by_acl, 2u);
  EXPECT_EQ(agent.stats().checks_answered, 0u);
  ASSERT_EQ(agent.stats().refused_sources.size(), 1u);

  // An allowed source still connects afterwards.
  const auto good = ep("198.51.100.20", 53000);
  feed(check(3), good, t0 + 100ms);
  ASSERT_EQ(out.transmits.size(), 1u);
  EXPECT_EQ(agent.selected(), good);
}

TEST_F(SourceAcl, UnauthenticatedRequestFromDeniedAddressGetsNoErrorAndNoReport) {
  agent.set_remote(kRemote, {}, t0, out);
  feed(check(1, "not-the-password-at-all"), ep("203.0.113.9", 40000), t0);
  EXPECT_TRUE(out.transmits.empty()) << "not even a 401 goes to a denied address";
  EXPECT_TRUE(out.events.empty()) << "only the phone's own checks are worth a log line";
  EXPECT_EQ(agent.stats().refused_by_acl, 1u);
  EXPECT_EQ(agent.stats().bad_integrity, 0u);
  // The same from an allowed address is a 401, as before.
  feed(check(2, "not-the-password-at-all"), ep("198.51.100.20", 53000), t0);
  ASSERT_EQ(out.transmits.size(), 1u);
  EXPECT_EQ(agent.stats().bad_integrity, 1u);
}

TEST_F(SourceAcl, ReportsAreBoundedPerAgent) {
  agent.set_remote(kRemote, {}, t0, out);
  std::size_t reported = 0;
  for (std::uint16_t i = 0; i < kMaxRefusedSources + 4; ++i) {
    feed(check(static_cast<std::uint8_t>(i + 1)), ep("203.0.113.9", static_cast<std::uint16_t>(40000 + i)),
         t0);
    EXPECT_TRUE(out.transmits.empty());
    reported += out.events.size();
  }
  EXPECT_EQ(reported, kMaxRefusedSources);
  EXPECT_EQ(agent.stats().refused_by_acl, kMaxRefusedSources + 4);
}

TEST_F(SourceAcl, OnlyDeniedChecksEndInIceFailureThatSaysSo) {
  agent.set_remote(kRemote, {}, t0, out);
  feed(check(1), ep("203.0.113.9", 40000), t0 + 10ms);
  out = {};
  agent.on_timer(t0 + 2s, out);
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].kind, EventKind::consent_lost);
  const std::string& d = out.events[0].detail;
  EXPECT_NE(d.find("ICE failed: no valid connectivity check within 2000 ms"), std::string::npos) << d;
  EXPECT_NE(d.find("refused by the candidate acl 1"), std::string::npos) << d;
  EXPECT_NE(d.find("every check came from an address the candidate ACL denies"), std::string::npos)
      << d;
}

TEST_F(SourceAcl, SignalledCandidateThatTheAclDeniesIsNotAnsweredEither) {
  // The SIP side drops denied candidates; the agent holds the line when one checks anyway.
  agent.set_remote(kRemote, {ep("198.51.100.20", 53000)}, t0, out);
  feed(check(1), ep("203.0.113.50", 53000), t0 + 10ms);
  EXPECT_TRUE(out.transmits.empty());
  EXPECT_FALSE(agent.selected());
}

TEST(IceLiteAgentWithoutAcl, AnswersEverySource) {
  CountingRandom rng;
  LiteAgent agent(AgentConfig{}, kLocal, rng);
  Output out;
  agent.set_remote(kRemote, {}, t0, out);
  out = {};
  agent.on_stun(check(1), ep("203.0.113.9", 40000), t0, out);
  ASSERT_EQ(out.transmits.size(), 1u);
  EXPECT_EQ(agent.stats().refused_by_acl, 0u);
  EXPECT_EQ(to_string(EventKind::check_refused), "check-refused");
}

}  // namespace
}  // namespace icegate::media::ice
