// Per-call diagnosis (behaviour.md §9): each failure pattern, the healthy calls that must get no
// verdict, and the edge cases, from the figures the relay reports for real calls.
#include <gtest/gtest.h>

#include <string>

#include "gateway/diagnosis/diagnosis.hpp"

namespace icegate::diagnosis {
namespace {

using media::relay::Drop;
using namespace std::chrono_literals;

acl::Address ip(const char* text) {
  return acl::Address::parse(text).value();
}
media::Endpoint ep(const char* text, std::uint16_t port) {
  return {ip(text), port};
}

const TimePoint t0 = TimePoint{} + 1h;

void drop(media::relay::LegStats& s, Drop d, std::uint64_t n) {
  s.dropped[static_cast<std::size_t>(d)] = n;
}

// A softphone behind NAT (srflx 203.0.113.9) calls through icegate (10.0.0.5, public
// 198.51.100.7) to a PBX on the LAN; answered 3 s after the INVITE, 15 s of call.
CallEvidence phone_to_trunk() {
  CallEvidence c;
  c.media_address = ip("10.0.0.5");
  c.public_address = ip("198.51.100.7");
  c.start = t0;
  c.answered = t0 + 3s;
  c.end = t0 + 18s;
  c.final_status = 200;

  c.a.kind = LegKind::phone_ice;
  c.a.local_port = 31234;
  c.a.sip_source = ip("203.0.113.9");
  c.a.candidates = {{ep("192.168.178.28", 50122), CandidateType::host, 1},
                    {ep("203.0.113.9", 50122), CandidateType::srflx, 1}};
  c.a.public_candidate = PublicCandidate::offered;
  auto& ice = c.a.stats.ice.emplace();
  ice.punches_sent = 3;
  auto& dtls = c.a.stats.dtls.emplace();
  dtls.state = "idle";
  dtls.role = "server";

  c.b.kind = LegKind::trunk;
  c.b.local_port = 31236;
  c.b.sip_source = ip("192.168.101.10");
  c.b.stats.signalled_rtp = ep("192.168.101.10", 4000);
  c.b.stats.remote_rtp = ep("192.168.101.10", 4000);
  c.b.stats.remote_rtcp = ep("192.168.101.10", 4001);
  return c;
}

// The phone's ICE passed and DTLS-SRTP is up (what baresip shows after 15 s).
void phone_connected(LegEvidence& a) {
  auto& ice = *a.stats.ice;
  ice.checks_answered = 9;
  ice.nominated = true;
  ice.selected = ep("203.0.113.9", 50122);
  ice.last_check_from = ep("203.0.113.9", 50122);
  ice.punches_answered = 1;
  a.stats.stun_in = 10;
  a.stats.stun_out = 12;
  a.stats.rtp_source = media::relay::Source::ice;
  a.stats.remote_rtp = ep("203.0.113.9", 50122);
  auto& dtls = *a.stats.dtls;
  dtls.state = "connected";
  dtls.profile = "SRTP_AES128_CM_SHA1_80";
  dtls.datagrams_in = 4;
  dtls.datagrams_out = 3;
}

void media_flows(media::relay::LegStats& s, std::uint64_t in, std::uint64_t out) {
  s.packets_in = in;
  s.bytes_in = in * 172;
  s.packets_out = out;
  s.bytes_out = out * 172;
  s.first_packet = t0 + 3100ms;
  s.last_packet = t0 + 18s;
}

// The PBX's 700 packets arrive on leg B and go out on leg A toward the phone's path / address.
void pbx_sends(CallEvidence& c) {
  media_flows(c.b.stats, 700, 0);
  c.a.stats.packets_out = 700;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string all_evidence(const Verdict& v) {
  std::string s;
  for (const auto& e : v.evidence) s += e + "\n";
  return s;
}

TEST(Diagnosis, HealthyPhoneToTrunkGetsNoVerdict) {
  auto c = phone_to_trunk();
  phone_connected(c.a);
  media_flows(c.a.stats, 748, 750);
  media_flows(c.b.stats, 750, 748);
  const auto v = diagnose(c);
  EXPECT_EQ(v.finding, Finding::media_ok) << v.summary;
  EXPECT_TRUE(v.media_both_ways());
  EXPECT_EQ(v.pattern(), 0);
  EXPECT_FALSE(v.leg);
  EXPECT_EQ(log_line(v),
            "diagnosis: media both ways: A->B 748 in / 748 out, B->A 750 in / 750 out");
}

TEST(Diagnosis, HealthyLatchingPhoneGetsNoVerdict) {
  auto c = phone_to_trunk();
  c.a.kind = LegKind::phone_latching;
  c.a.stats.ice.reset();
  c.a.stats.dtls.reset();
  c.a.stats.latched = true;
  c.a.stats.rtp_source = media::relay::Source::latched;
  c.a.stats.latched_rtp = ep("203.0.113.9", 41234);
  c.a.stats.signalled_rtp = ep("192.168.178.28", 4000);
  media_flows(c.a.stats, 740, 745);
  media_flows(c.b.stats, 745, 740);
  EXPECT_EQ(diagnose(c).finding, Finding::media_ok);
}

TEST(Diagnosis, MediaOnlyOneWayIsNotHealthy) {
  auto c = phone_to_trunk();
  phone_connected(c.a);
  media_flows(c.a.stats, 748, 0);
  EXPECT_NE(diagnose(c).finding, Finding::media_ok);
}

// Pattern 1: the phone's checks reach icegate and are answered, but the answers never get back:
// no DTLS, no media from it, icegate's own binding requests unanswered; ICE times out.
TEST(Diagnosis, Pattern1ChecksAnsweredButThePhoneNeverCompletes) {
  auto c = phone_to_trunk();
  auto& ice = *c.a.stats.ice;
  ice.checks_answered = 14;
  ice.last_check_from = ep("203.0.113.9", 50122);
  ice.selected = ep("203.0.113.9", 50122);
  c.a.stats.stun_in = 14;
  pbx_sends(c);  // out on the path the checks chose
  c.ice_timed_out = true;
  c.end = t0 + 3s + 15s;
  const auto v = diagnose(c);
  EXPECT_EQ(v.finding, Finding::binding_unanswered) << v.summary;
  EXPECT_EQ(v.pattern(), 1);
  ASSERT_TRUE(v.leg);
  EXPECT_EQ(*v.leg, media::Leg::a);
  EXPECT_TRUE(has(v.summary, "pattern 1 (")) << v.summary;
  EXPECT_TRUE(has(v.summary, "14 checks from 203.0.113.9:50122 were answered")) << v.summary;
  // SDP order: the host candidate first, so the one pin-hole target is private.
  EXPECT_TRUE(has(v.summary, "3 binding requests sent to 192.168.178.28:50122, 0 answered"))
      << v.summary;
  EXPECT_TRUE(has(all_evidence(v), "went only to 192.168.178.28:50122, a private address"));
  EXPECT_TRUE(has(v.summary, "in 15 s")) << v.summary;
  EXPECT_TRUE(has(v.action, "pin-hole puncher")) << v.action;
  EXPECT_TRUE(has(all_evidence(v), "ICE did not succeed within ice-timeout"));
  EXPECT_TRUE(has(all_evidence(v),
                  "phone candidates: 192.168.178.28:50122 host, "
                  "203.0.113.9:50122 srflx"));
}

// Pattern 2: STUN is on but never answered, so icegate offered only its private host address
// to a phone on the Internet: nothing at all arrives.
TEST(Diagnosis, Pattern2NoPublicCandidateForAPhoneOutside) {
  auto c = phone_to_trunk();
  c.public_address.reset();
  c.a.public_candidate = PublicCandidate::stun_unanswered;
  media_flows(c.b.stats, 700, 0);
  c.ice_timed_out = true;
  const auto v = diagnose(c);
  EXPECT_EQ(v.finding, Finding::missing_candidates) << v.summary;
  EXPECT_EQ(v.pattern(), 2);
  EXPECT_TRUE(has(v.summary, "no STUN server answered")) << v.summary;
  EXPECT_TRUE(has(v.summary, "private 10.0.0.5")) << v.summary;
  EXPECT_TRUE(has(v.action, "stun-check")) << v.action;
  EXPECT_TRUE(has(all_evidence(v),
                  "icegate offered host 10.0.0.5 only (STUN on, no server "
                  "answered)"));
}

TEST(Diagnosis, Pattern2WhenThePhoneAnswersButItsChecksGoToAPrivateAddress) {
  auto c = phone_to_trunk();
  c.public_address.reset();
  c.a.public_candidate = PublicCandidate::withheld_by_acl;
  c.a.stats.ice->punches_answered = 1;
  c.a.stats.stun_in = 1;
  c.ice_timed_out = true;
  const auto v = diagnose(c);
  EXPECT_EQ(v.pattern(), 2) << v.summary;
  EXPECT_TRUE(has(v.summary, "public-candidate ACL")) << v.summary;
  EXPECT_TRUE(has(v.action, "public-candidate ACL")) << v.action;
}

// STUN unreachable, icegate behind a NAT that forwards its range: the phone answers icegate's
// binding request and says it came from 198.51.100.7, an address icegate never offered. That is
// icegate's own NAT (pattern 2, with the address to configure), not several public addresses.
// natlab.stun-patterns produces it for real.
TEST(Diagnosis, Pattern2NamesThePublicAddressThePhoneSawButIcegateDidNotOffer) {
  auto c = phone_to_trunk();
  c.public_address.reset();
  c.a.public_candidate = PublicCandidate::stun_unanswered;
  c.a.stats.ice->punches_sent = 6;
  c.a.stats.ice->punches_answered = 1;
  c.a.stats.stun_in = 1;
  media::ice::PunchTarget host;
  host.target = ep("192.168.178.28", 50122);
  host.sent = 3;
  media::ice::PunchTarget srflx;
  srflx.target = ep("203.0.113.9", 50122);
  srflx.sent = 3;
  srflx.answered = true;
  srflx.answered_from = srflx.target;
  srflx.mapped = ep("198.51.100.7", 31234);
  c.a.punches = {host, srflx};
  c.ice_timed_out = true;
  const auto v = diagnose(c);
  EXPECT_EQ(v.finding, Finding::missing_candidates) << v.summary;
  EXPECT_EQ(v.pattern(), 2);
  EXPECT_TRUE(has(v.summary, "the phone answered 1 of icegate's 6 binding requests")) << v.summary;
  EXPECT_TRUE(has(all_evidence(v),
                  "the phone saw icegate's binding request to 203.0.113.9:50122 come from "
                  "198.51.100.7 (icegate's public address, not offered)"))
      << all_evidence(v);
  EXPECT_TRUE(has(all_evidence(v),
                  "leg A binding requests per candidate: 192.168.178.28:50122 3 sent, "
                  "unanswered; 203.0.113.9:50122 3 sent, answered from 203.0.113.9:50122, it saw "
                  "icegate as 198.51.100.7:31234"))
      << all_evidence(v);
  EXPECT_TRUE(has(v.action,
                  "public-address> to the address the RTP range is forwarded from (the "
                  "phone saw icegate as 198.51.100.7)"))
      << v.action;
  // The same with the phone's checks answered too: still pattern 2 is not guessed from a
  // mismatch with the private host; with the public address offered it is pattern 3.
  c.public_address = ip("203.0.113.1");
  c.a.public_candidate = PublicCandidate::offered;
  c.a.stats.ice->checks_answered = 5;
  c.a.stats.ice->last_check_from = ep("203.0.113.9", 50122);
  c.a.stats.stun_in = 6;
  const auto w = diagnose(c);
  EXPECT_EQ(w.pattern(), 3) << w.summary;
  EXPECT_TRUE(has(w.summary,
                  "come from 198.51.100.7 but icegate's srflx candidate says "
                  "203.0.113.1"))
      << w.summary;
}

// A private host address seen under another one by a phone that is not outside (no public
// address anywhere): no several-public-addresses verdict from that alone.
TEST(Diagnosis, PrivateHostSeenThroughANatOnTheLanIsNotPattern3) {
  auto c = phone_to_trunk();
  c.public_address.reset();
  c.a.public_candidate = PublicCandidate::not_configured;
  c.a.sip_source = ip("192.168.178.28");
  c.a.candidates = {{ep("192.168.178.28", 50122), CandidateType::host, 1}};
  c.a.stats.ice->punches_answered = 1;
  c.a.stats.stun_in = 1;
  media::ice::PunchTarget p;
  p.target = ep("192.168.178.28", 50122);
  p.sent = 1;
  p.answered = true;
  p.answered_from = p.target;
  p.mapped = ep("192.168.1.1", 31234);
  c.a.punches = {p};
  c.ice_timed_out = true;
  const auto v = diagnose(c);
  EXPECT_NE(v.pattern(), 3) << v.summary;
  EXPECT_NE(v.pattern(), 2) << v.summary;
}

// The same silence on a LAN (phone and icegate in private networks) is not a missing public
// candidate: the range is not reachable.
TEST(Diagnosis, NoPublicCandidateOnALanIsNotPattern2) {
  auto c = phone_to_trunk();
  c.public_address.reset();
  c.a.public_candidate = PublicCandidate::stun_unanswered;
  c.a.sip_source = ip("192.168.178.28");
  c.a.candidates = {{ep("192.168.178.28", 50122), CandidateType::host, 1}};
  c.ice_timed_out = true;
  EXPECT_EQ(diagnose(c).pattern(), 6);
  // Nor when icegate's own address is public (no NAT in front of it).
  auto d = phone_to_trunk();
  d.media_address = ip("198.51.100.7");
  d.public_address.reset();
  d.a.public_candidate = PublicCandidate::no_nat;
  d.ice_timed_out = true;
  EXPECT_EQ(diagnose(d).pattern(), 6);
}

// Pattern 3, icegate's side: the phone answered icegate's binding request and says it came from
// 203.0.113.1, while icegate offered 198.51.100.7 as its srflx.
TEST(Diagnosis, Pattern3IcegateSeenUnderAnotherPublicAddress) {
  auto c = phone_to_trunk();
  auto& ice = *c.a.stats.ice;
  ice.checks_answered = 8;
  ice.last_check_from = ep("203.0.113.9", 50122);
  ice.selected = ep("203.0.113.9", 50122);
  ice.punches_answered = 1;
  c.a.stats.stun_in = 9;
  media::ice::PunchTarget p;
  p.target = ep("203.0.113.9", 50122);
  p.sent = 1;
  p.answered = true;
  p.answered_from = p.target;
  p.mapped = ep("203.0.113.1", 31234);
  c.a.punches = {p};
  c.ice_timed_out = true;
  const auto v = diagnose(c);
  EXPECT_EQ(v.finding, Finding::address_mismatch) << v.summary;
  EXPECT_EQ(v.pattern(), 3);
  EXPECT_TRUE(has(v.summary,
                  "come from 203.0.113.1 but icegate's srflx candidate says "
                  "198.51.100.7"))
      << v.summary;
  EXPECT_TRUE(has(v.summary, "several public addresses")) << v.summary;
  EXPECT_TRUE(has(all_evidence(v),
                  "leg A binding requests per candidate: 203.0.113.9:50122 1 sent, answered from "
                  "203.0.113.9:50122, it saw icegate as 203.0.113.1:31234"))
      << all_evidence(v);
  // The same figures with a matching mapped address are pattern 1.
  c.a.punches.front().mapped = ep("198.51.100.7", 31234);
  EXPECT_EQ(diagnose(c).pattern(), 1);
}

// Pattern 3, icegate's side, with nothing back from the phone: two STUN servers see icegate's
// media address under two public addresses; the phone's checks (to the srflx offered) were
// answered, but it never completed ICE: the answers left from the other address, which the
// phone's NAT drops. natlab.stun-patterns produces it for real.
TEST(Diagnosis, Pattern3StunServersSeeIcegateUnderTwoPublicAddresses) {
  auto c = phone_to_trunk();
  auto& ice = *c.a.stats.ice;
  ice.checks_answered = 4;
  ice.last_check_from = ep("203.0.113.9", 50122);
  ice.selected = ep("203.0.113.9", 50122);
  c.a.stats.stun_in = 4;
  c.stun_answers = {{"stun-a", ip("198.51.100.7")}, {"stun-b", ip("192.0.2.44")}};
  c.ice_timed_out = true;
  const auto v = diagnose(c);
  EXPECT_EQ(v.finding, Finding::address_mismatch) << v.summary;
  EXPECT_EQ(v.pattern(), 3);
  EXPECT_TRUE(has(v.summary,
                  "the phone checked icegate's srflx 198.51.100.7, but STUN also sees icegate as "
                  "192.0.2.44 (stun-b): its answers can leave from there; the phone's 4 checks "
                  "from 203.0.113.9:50122 were answered"))
      << v.summary;
  EXPECT_TRUE(has(v.summary, "several public addresses")) << v.summary;
  EXPECT_TRUE(has(all_evidence(v),
                  "STUN servers see icegate's media address 10.0.0.5 as: stun-a 198.51.100.7, "
                  "stun-b 192.0.2.44"))
      << all_evidence(v);
  // Servers that agree are no evidence: pattern 1.
  c.stun_answers = {{"stun-a", ip("198.51.100.7")}, {"stun-b", ip("198.51.100.7")}};
  const auto w = diagnose(c);
  EXPECT_EQ(w.pattern(), 1) << w.summary;
  EXPECT_FALSE(has(all_evidence(w), "STUN servers see")) << all_evidence(w);
}

// Pattern 3, the phone's side: its checks come from a public address none of its candidates has.
TEST(Diagnosis, Pattern3PhoneChecksFromAnotherPublicAddressThanItsSrflx) {
  auto c = phone_to_trunk();
  auto& ice = *c.a.stats.ice;
  ice.checks_answered = 11;
  ice.last_check_from = ep("198.51.100.200", 61000);
  c.a.stats.stun_in = 11;
  c.ice_timed_out = true;
  const auto v = diagnose(c);
  EXPECT_EQ(v.pattern(), 3) << v.summary;
  EXPECT_TRUE(has(v.summary,
                  "checks come from 198.51.100.200:61000 but its srflx candidate says "
                  "203.0.113.9"))
      << v.summary;
  // Without a srflx candidate, a peer-reflexive source is what NAT does: pattern 1.
  c.a.candidates = {{ep("192.168.178.28", 50122), CandidateType::host, 1}};
  EXPECT_EQ(diagnose(c).pattern(), 1);
}

// Pattern 3, media from another address than the ICE path: dropped as wrong-source.
TEST(Diagnosis, Pattern3MediaFromAnotherAddressThanTheChecks) {
  auto c = phone_to_trunk();
  phone_connected(c.a);
  drop(c.a.stats, Drop::wrong_source, 640);
  pbx_sends(c);
  const auto v = diagnose(c);
  EXPECT_EQ(v.pattern(), 3) << v.summary;
  EXPECT_TRUE(has(v.summary, "640 media packets came from another address")) << v.summary;
  EXPECT_TRUE(has(all_evidence(v), "wrong-source=640"));
}

TEST(Diagnosis, Pattern3TrunkSendsFromAnotherAddressThanItsSdp) {
  auto c = phone_to_trunk();
  phone_connected(c.a);
  media_flows(c.a.stats, 748, 0);
  drop(c.b.stats, Drop::wrong_source, 750);
  c.b.stats.packets_out = 748;
  const auto v = diagnose(c);
  EXPECT_EQ(v.pattern(), 3) << v.summary;
  ASSERT_TRUE(v.leg);
  EXPECT_EQ(*v.leg, media::Leg::b);
  EXPECT_TRUE(has(v.summary, "750 RTP packets from the PBX")) << v.summary;
  EXPECT_TRUE(has(v.summary, "192.168.101.10:4000")) << v.summary;
}

TEST(Diagnosis, Pattern4SipAclRendersTheSipSideLine) {
  acl::AclBuilder b("sip-inbound");
  b.add(acl::Cidr::parse("192.168.101.0/24").value(), acl::ListKind::whitelist, "icegate.xml:40");
  b.add(acl::Cidr::parse("10.0.50.0/24").value(), acl::ListKind::blacklist, "icegate.xml:41");
  const auto acl = std::move(b).build();
  {
    const auto src = ip("10.0.50.118");
    const auto v = sip_acl_rejected(acl->name(), src, acl->check(src));
    EXPECT_EQ(v.pattern(), 4);
    EXPECT_EQ(v.summary,
              "pattern 4 (SIP ACL: 403): IP 10.0.50.118 Rejected by acl \"sip-inbound\" "
              "(blacklist 10.0.50.0/24 (icegate.xml:41)): INVITE answered 403 Forbidden");
    EXPECT_TRUE(has(v.action, "remove or narrow the blacklist entry 10.0.50.0/24")) << v.action;
    EXPECT_TRUE(has(v.action, "acl-check -c FILE --acl sip-inbound 10.0.50.118")) << v.action;
  }
  {
    acl::AclBuilder w("sip-inbound");
    w.add(acl::Cidr::parse("127.0.0.0/8").value(), acl::ListKind::whitelist);
    const auto only_local = std::move(w).build();
    const auto src = ip("10.0.0.5");
    const auto v = sip_acl_rejected("sip-inbound", src, only_local->check(src), "REGISTER");
    EXPECT_TRUE(has(v.summary, "(default deny: not in any whitelist entry): REGISTER answered 403"))
        << v.summary;
    EXPECT_TRUE(has(v.action, "add a whitelist entry")) << v.action;
  }
}

TEST(Diagnosis, Pattern5CandidateAclNamesEachBlockedCandidate) {
  const std::vector<BlockedCandidate> blocked = {
      {"1 1 udp 2122260223 10.20.0.7 50000 typ host", "remote-candidates",
       "blacklist 10.0.0.0/8 (icegate.xml:52)"},
      {"2 1 udp 1686052607 100.64.3.4 50000 typ srflx raddr 10.20.0.7 rport 50000",
       "remote-candidates", "blacklist 100.64.0.0/10 (icegate.xml:53)"},
  };
  const std::vector<std::string> others = {
      "candidate \"3 1 tcp 1518280447 10.20.0.7 9 typ host tcptype active\" not UDP: tcp"};
  const auto v = candidate_acl_rejected(blocked, others);
  EXPECT_EQ(v.pattern(), 5);
  EXPECT_EQ(v.summary,
            "pattern 5 (candidate ACL): 2 candidates of the phone removed by acl "
            "\"remote-candidates\" (1 more unusable), none left: 488 Not Acceptable Here");
  ASSERT_EQ(v.evidence.size(), 3u);
  EXPECT_EQ(v.evidence[0],
            "candidate \"1 1 udp 2122260223 10.20.0.7 50000 typ host\" rejected by acl "
            "\"remote-candidates\" (blacklist 10.0.0.0/8 (icegate.xml:52))");
  // A 488 without any candidate removed by the ACL (mDNS names only) is not pattern 5.
  EXPECT_EQ(candidate_acl_rejected({}, others).pattern(), 0);
}

// Pattern 6: not a single datagram from the phone on icegate's port, although its SIP arrived.
TEST(Diagnosis, Pattern6NothingReachesTheRange) {
  auto c = phone_to_trunk();
  media_flows(c.b.stats, 700, 0);
  c.ice_timed_out = true;
  const auto v = diagnose(c);
  EXPECT_EQ(v.finding, Finding::port_range_blocked) << v.summary;
  EXPECT_EQ(v.pattern(), 6);
  EXPECT_TRUE(has(v.summary, "nothing reached icegate's port 31234 in 15 s")) << v.summary;
  EXPECT_TRUE(has(v.summary, "its SIP from 203.0.113.9 did arrive")) << v.summary;
  EXPECT_TRUE(has(v.summary, "UDP to 30000-33000 is not getting through")) << v.summary;
  EXPECT_TRUE(has(v.action, "nat-detect")) << v.action;
  EXPECT_TRUE(has(v.action, "49152-65535")) << v.action;
  const auto line = log_line(v);
  EXPECT_TRUE(line.starts_with("diagnosis: pattern 6 (RTP port range blocked): leg A")) << line;
  EXPECT_TRUE(has(line, " | evidence: leg A (phone with ICE): media in 0 packets")) << line;
  EXPECT_TRUE(has(line, " | do: open UDP 30000-33000")) << line;
  const auto f = to_fields(v);
  EXPECT_EQ(f.finding, "port-range-blocked");
  EXPECT_EQ(f.pattern, 6);
  EXPECT_EQ(f.leg, "A");
  EXPECT_FALSE(f.media_both_ways);
  EXPECT_EQ(f.title, "pattern 6 (RTP port range blocked)");
  EXPECT_EQ(f.evidence, v.evidence);
  EXPECT_DOUBLE_EQ(f.seconds, 15.0);
}

// icegate's own sends that the kernel refused (a Binding Request to a private candidate it has no
// route to: ENETUNREACH, counted as send-failed on the phone leg) are not traffic from the phone
// (found in natlab.patterns, where the public side first had no default route).
TEST(Diagnosis, FailedSendsOfIcegateDoNotHideAPattern) {
  auto blocked = phone_to_trunk();
  media_flows(blocked.b.stats, 700, 0);
  blocked.a.stats.dropped[static_cast<std::size_t>(media::relay::Drop::send_failed)] = 3;
  blocked.ice_timed_out = true;
  const auto six = diagnose(blocked);
  EXPECT_EQ(six.finding, Finding::port_range_blocked) << six.summary;
  EXPECT_TRUE(has(six.summary, "nothing reached icegate's port")) << six.summary;

  auto answered = phone_to_trunk();
  auto& ice = *answered.a.stats.ice;
  ice.checks_answered = 4;
  ice.last_check_from = ep("203.0.113.9", 50122);
  ice.selected = ep("203.0.113.9", 50122);
  answered.a.stats.stun_in = 4;
  answered.a.stats.dropped[static_cast<std::size_t>(media::relay::Drop::send_failed)] = 3;
  pbx_sends(answered);
  answered.ice_timed_out = true;
  answered.end = t0 + 3s + 15s;
  EXPECT_EQ(diagnose(answered).finding, Finding::binding_unanswered) << diagnose(answered).summary;
}

TEST(Diagnosis, Pattern6ForAPhoneWithoutIce) {
  auto c = phone_to_trunk();
  c.a.kind = LegKind::phone_latching;
  c.a.stats.ice.reset();
  c.a.stats.dtls.reset();
  c.a.stats.rtp_source = media::relay::Source::learning;
  c.a.stats.signalled_rtp = ep("192.168.178.28", 4000);
  pbx_sends(c);
  const auto v = diagnose(c);
  EXPECT_EQ(v.pattern(), 6) << v.summary;
  EXPECT_TRUE(has(v.summary, "(no RTP)")) << v.summary;
}

// The trunk leg silent because the PBX sent nothing, while the phone's media arrives: not a
// network pattern of the phone.
TEST(Diagnosis, TrunkSilentIsNotAPhonePattern) {
  auto c = phone_to_trunk();
  phone_connected(c.a);
  media_flows(c.a.stats, 748, 0);
  c.b.stats.packets_out = 748;
  const auto v = diagnose(c);
  EXPECT_EQ(v.finding, Finding::trunk_silent) << v.summary;
  EXPECT_EQ(v.pattern(), 0);
  ASSERT_TRUE(v.leg);
  EXPECT_EQ(*v.leg, media::Leg::b);
  EXPECT_TRUE(has(v.summary, "0 RTP packets from the PBX / trunk (SDP 192.168.101.10:4000)"))
      << v.summary;
}

// A blocked phone is judged before a silent trunk, whichever side called.
TEST(Diagnosis, BlockedPhoneIsJudgedBeforeASilentTrunk) {
  auto c = phone_to_trunk();
  c.ice_timed_out = true;
  EXPECT_EQ(diagnose(c).pattern(), 6);
  std::swap(c.a, c.b);  // the PBX calls the phone
  const auto v = diagnose(c);
  EXPECT_EQ(v.pattern(), 6) << v.summary;
  ASSERT_TRUE(v.leg);
  EXPECT_EQ(*v.leg, media::Leg::b);
}

TEST(Diagnosis, DtlsFailureIsNotOneOfTheSix) {
  auto c = phone_to_trunk();
  phone_connected(c.a);
  auto& dtls = *c.a.stats.dtls;
  dtls.state = "failed";
  dtls.profile = "";
  dtls.failure = "peer certificate does not match a=fingerprint (sha-256)";
  c.end = *c.answered + 800ms;  // fails fast: still judged
  media_flows(c.b.stats, 40, 0);
  drop(c.a.stats, Drop::srtp_not_ready, 30);
  const auto v = diagnose(c);
  EXPECT_EQ(v.finding, Finding::dtls_failed) << v.summary;
  EXPECT_EQ(v.pattern(), 0);
  EXPECT_TRUE(has(v.summary, "not one of the six")) << v.summary;
  EXPECT_TRUE(has(v.summary, "peer certificate does not match a=fingerprint")) << v.summary;
}

// DTLS that never started (no datagram from the phone) is the phone not completing ICE.
TEST(Diagnosis, DtlsTimeoutWithoutAnyDatagramFromThePhoneIsIce) {
  auto c = phone_to_trunk();
  auto& ice = *c.a.stats.ice;
  ice.checks_answered = 6;
  ice.last_check_from = ep("203.0.113.9", 50122);
  c.a.stats.stun_in = 6;
  auto& dtls = *c.a.stats.dtls;
  dtls.state = "failed";
  dtls.role = "client";
  dtls.datagrams_out = 7;
  dtls.failure = "handshake timed out";
  EXPECT_EQ(diagnose(c).pattern(), 1);
}

TEST(Diagnosis, ShortCallWithoutMediaIsTooShortToJudge) {
  auto c = phone_to_trunk();
  c.end = *c.answered + 1200ms;
  const auto v = diagnose(c);
  EXPECT_EQ(v.finding, Finding::too_short) << v.summary;
  EXPECT_EQ(v.pattern(), 0);
  EXPECT_EQ(v.summary,
            "too short to judge: 1.2 s since the answer (A->B 0 in / 0 out, B->A 0 in / 0 out)");
  // The same silence after 2 s is judged.
  c.end = *c.answered + 2s;
  EXPECT_EQ(diagnose(c).pattern(), 6);
}

TEST(Diagnosis, UnansweredCallExpectsNoMedia) {
  auto c = phone_to_trunk();
  c.answered.reset();
  c.final_status = 487;
  const auto v = diagnose(c);
  EXPECT_EQ(v.finding, Finding::not_answered) << v.summary;
  EXPECT_TRUE(has(v.summary, "final status 487")) << v.summary;
}

TEST(Diagnosis, ChecksWithWrongCredentials) {
  auto c = phone_to_trunk();
  c.a.stats.ice->bad_integrity = 12;
  c.a.stats.ice->last_check_from = ep("203.0.113.9", 50122);
  c.a.stats.stun_in = 12;
  c.ice_timed_out = true;
  const auto v = diagnose(c);
  EXPECT_EQ(v.finding, Finding::ice_credentials) << v.summary;
  EXPECT_TRUE(has(v.summary, "12 checks from 203.0.113.9:50122 refused")) << v.summary;
}

// ICE and DTLS up, the phone just sends nothing: no pattern fits, the evidence is given.
TEST(Diagnosis, NothingFitsIsUnknownWithEvidence) {
  auto c = phone_to_trunk();
  phone_connected(c.a);
  pbx_sends(c);
  const auto v = diagnose(c);
  EXPECT_EQ(v.finding, Finding::unknown) << v.summary;
  EXPECT_EQ(v.pattern(), 0);
  EXPECT_TRUE(has(v.summary,
                  "9 checks from 203.0.113.9:50122 were answered and it sent 4 DTLS "
                  "datagrams, but no media from it was accepted"))
      << v.summary;
  EXPECT_TRUE(has(all_evidence(v), "leg B (trunk): media in 700 packets"));
  EXPECT_FALSE(v.action.empty());
}

// The phone answers icegate's binding requests, icegate offered its public address, yet no
// check of the phone arrives: more than one explanation, so no pattern is guessed.
TEST(Diagnosis, AnsweredPunchesWithoutChecksIsNotGuessed) {
  auto c = phone_to_trunk();
  c.a.stats.ice->punches_answered = 2;
  c.a.stats.stun_in = 2;
  c.ice_timed_out = true;
  const auto v = diagnose(c);
  EXPECT_EQ(v.finding, Finding::unknown) << v.summary;
  EXPECT_TRUE(has(v.action, "only replies through")) << v.action;
}

}  // namespace
}  // namespace icegate::diagnosis
