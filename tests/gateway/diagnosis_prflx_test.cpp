// Pattern 5 after the answer (issue 11): a phone that offered only mDNS names (or no candidates)
// checks from an address the candidate ACL denies; icegate answers none of its checks and the
// call ends at ice-timeout. The verdict names the refused sources and the ACL, not "unknown".
#include <gtest/gtest.h>

#include <string>

#include "gateway/diagnosis/diagnosis.hpp"

namespace icegate::diagnosis {
namespace {

using namespace std::chrono_literals;

media::Endpoint ep(const char* text, std::uint16_t port) {
  return {acl::Address::parse(text).value(), port};
}

bool has(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

// A browser (mDNS candidates only: none the relay knows) calls a PBX; its checks come from
// 203.0.113.9:50122, which acl "cands" denies; ICE timed out 10 s after the answer.
CallEvidence refused_browser() {
  CallEvidence c;
  c.media_address = acl::Address::parse("10.0.0.5").value();
  c.start = TimePoint{} + 1h;
  c.answered = c.start + 1s;
  c.end = c.start + 11s;
  c.final_status = 200;
  c.ice_timed_out = true;
  c.a.kind = LegKind::phone_ice;
  c.a.local_port = 31234;
  c.a.sip_source = acl::Address::parse("203.0.113.9").value();
  auto& ice = c.a.stats.ice.emplace();
  (void)ice;  // no check answered, no pin-hole target
  c.a.stats.stun_in = 9;
  c.a.blocked = {{"check from 203.0.113.9:50122 (peer-reflexive)", "cands",
                  "blacklist 203.0.113.0/24 (icegate.xml:7)"}};
  c.b.kind = LegKind::trunk;
  c.b.local_port = 31236;
  c.b.stats.signalled_rtp = ep("192.168.101.10", 4000);
  c.b.stats.remote_rtp = ep("192.168.101.10", 4000);
  return c;
}

TEST(DiagnosisPeerReflexive, RefusedChecksArePattern5) {
  const auto v = diagnose(refused_browser());
  EXPECT_EQ(v.finding, Finding::candidate_acl) << v.summary;
  EXPECT_EQ(v.pattern(), 5);
  EXPECT_TRUE(has(v.summary,
                  "pattern 5 (candidate ACL): leg A (phone with ICE): the phone's checks were not "
                  "answered: check from 203.0.113.9:50122 (peer-reflexive) rejected by acl "
                  "\"cands\"; 9 datagrams reached"))
      << v.summary;
  std::string evidence;
  for (const auto& e : v.evidence) evidence += e + "\n";
  EXPECT_TRUE(has(evidence, "candidate \"check from 203.0.113.9:50122 (peer-reflexive)\" rejected "
                            "by acl \"cands\" (blacklist 203.0.113.0/24 (icegate.xml:7))"))
      << evidence;
  EXPECT_TRUE(has(v.action, "in acl \"cands\"")) << v.action;
}

TEST(DiagnosisPeerReflexive, AnAnsweredCheckIsNotPattern5) {
  // One source refused, another allowed and answered: the ACL did not stop the call.
  auto c = refused_browser();
  c.a.stats.ice->checks_answered = 3;
  c.a.stats.ice->last_check_from = ep("198.51.100.20", 53000);
  EXPECT_NE(diagnose(c).finding, Finding::candidate_acl);
}

}  // namespace
}  // namespace icegate::diagnosis
