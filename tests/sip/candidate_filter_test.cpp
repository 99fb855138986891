// Remote candidate filtering against the candidate ACL (behaviour.md §3, §6, §9 pattern 5).
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "sip/sdp/candidate_filter.hpp"

#include "sdp_test_support.hpp"

namespace icegate::sip::sdp {
namespace {

using test::load;

Description parse_ok(const std::string& text) {
  auto d = parse(text);
  EXPECT_TRUE(d) << (d ? "" : d.error().to_string());
  return d ? *d : Description{};
}

std::shared_ptr<const acl::Acl> make_acl(
    const std::vector<std::pair<const char*, acl::ListKind>>& entries) {
  acl::AclBuilder b("candidates");
  int line = 10;
  for (const auto& [cidr, kind] : entries)
    b.add(acl::Cidr::parse(cidr).value(), kind, "icegate.xml:" + std::to_string(line++));
  return std::move(b).build();
}

constexpr auto kBlack = acl::ListKind::blacklist;
constexpr auto kWhite = acl::ListKind::whitelist;

RemoteAddress ra(const char* ip, std::uint16_t port) {
  return RemoteAddress{acl::Address::parse(ip).value(), port};
}

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

TEST(CandidateFilter, NoAclKeepsUdpIpCandidatesAndDropsTcp) {
  const auto r = filter_remote_candidates(load("chromium-156-offer.sdp"), nullptr);
  ASSERT_FALSE(r.reject());
  ASSERT_EQ(r.media.size(), 1u);
  const auto& m = r.media[0];
  EXPECT_TRUE(m.ice);
  ASSERT_EQ(m.usable.size(), 1u);
  EXPECT_EQ(m.usable[0].foundation, "2016223521");
  ASSERT_EQ(m.dropped.size(), 1u);
  EXPECT_EQ(m.dropped[0].reason, DropReason::not_udp);
  EXPECT_EQ(m.dropped[0].detail, "tcp");
  EXPECT_TRUE(m.dropped[0].candidate.starts_with("115524537 1 tcp"));
  EXPECT_EQ(m.destination, ra("10.97.0.2", 41896));
  EXPECT_FALSE(m.destination_from_connection);
}

TEST(CandidateFilter, KeepsBothComponentsInSdpOrder) {
  const auto r = filter_remote_candidates(load("baresip-1.0-ice-dtls-offer.sdp"), nullptr);
  ASSERT_FALSE(r.reject());
  const auto& m = r.media[0];
  ASSERT_EQ(m.usable.size(), 2u);
  EXPECT_EQ(m.usable[0].component, 1u);
  EXPECT_EQ(m.usable[1].component, 2u);
  EXPECT_EQ(m.destination, ra("10.98.0.2", 20062));
  EXPECT_TRUE(m.dropped.empty());
}

TEST(CandidateFilter, AllBlockedRejectsWith488NamingCandidatesAndAcl) {
  const auto acl = make_acl({{"10.98.0.0/16", kBlack}});
  const auto r = filter_remote_candidates(load("baresip-1.0-ice-dtls-offer.sdp"), acl.get());
  ASSERT_TRUE(r.reject());
  const std::string& why = *r.reject_reason;
  EXPECT_TRUE(contains(why, "m= section 0 (audio)")) << why;
  EXPECT_TRUE(
      contains(why,
               "candidate \"0a620002 1 UDP 2113929471 10.98.0.2 20062 typ host\" rejected by acl "
               "\"candidates\" (blacklist 10.98.0.0/16 (icegate.xml:10))"))
      << why;
  EXPECT_TRUE(contains(why, "0a620002 2 UDP 2113929470 10.98.0.2 20063")) << why;
  // The c=/m= fallback is blocked too, and said so.
  EXPECT_TRUE(contains(why, "c=/m= 10.98.0.2:20062 rejected by acl")) << why;
  const auto& m = r.media[0];
  EXPECT_TRUE(m.usable.empty());
  EXPECT_FALSE(m.destination);
  ASSERT_EQ(m.dropped.size(), 3u);
  for (const auto& d : m.dropped) EXPECT_EQ(d.reason, DropReason::blocked_by_acl);
}

constexpr const char* kHead =
    "v=0\r\no=- 1 1 IN IP4 192.168.178.28\r\ns=-\r\nc=IN IP4 192.168.178.28\r\nt=0 0\r\n"
    "m=audio 65268 RTP/AVP 0\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuv\r\n";

TEST(CandidateFilter, PartlyBlockedDropsOnlyTheBlockedOnes) {
  const auto d = parse_ok(std::string(kHead) +
                          "a=candidate:1 1 udp 2130706431 192.168.178.28 65268 typ host\r\n"
                          "a=candidate:1 2 udp 2130706430 192.168.178.28 65269 typ host\r\n"
                          "a=candidate:2 1 udp 1694498815 93.228.10.20 65268 typ srflx raddr "
                          "192.168.178.28 rport 65268\r\n"
                          "a=candidate:2 2 udp 1694498814 93.228.10.20 65269 typ srflx raddr "
                          "192.168.178.28 rport 65269\r\n"
                          "a=candidate:3 1 udp 2130706175 10.8.0.6 65270 typ host\r\n");
  const auto acl = make_acl({{"192.168.0.0/16", kBlack}});
  const auto r = filter_remote_candidates(d, acl.get());
  ASSERT_FALSE(r.reject());
  const auto& m = r.media[0];
  ASSERT_EQ(m.usable.size(), 3u);
  EXPECT_EQ(m.usable[0].address, "93.228.10.20");
  EXPECT_EQ(m.usable[1].address, "93.228.10.20");
  EXPECT_EQ(m.usable[1].component, 2u);
  EXPECT_EQ(m.usable[2].address, "10.8.0.6");
  ASSERT_EQ(m.dropped.size(), 2u);
  EXPECT_EQ(m.dropped[0].reason, DropReason::blocked_by_acl);
  EXPECT_EQ(m.dropped[0].detail, "\"candidates\" (blacklist 192.168.0.0/16 (icegate.xml:10))");
  // behaviour.md §3: the first valid candidate in SDP order, not the highest priority.
  EXPECT_EQ(m.destination, ra("93.228.10.20", 65268));
}

TEST(CandidateFilter, FirstValidInSdpOrderEvenWithLowerPriority) {
  const auto d =
      parse_ok(std::string(kHead) +
               "a=candidate:9 1 udp 100 198.51.100.9 5000 typ relay raddr 0.0.0.0 rport 0\r\n"
               "a=candidate:1 1 udp 2130706431 192.168.178.28 65268 typ host\r\n");
  const auto r = filter_remote_candidates(d, nullptr);
  EXPECT_EQ(r.media[0].destination, ra("198.51.100.9", 5000));
}

TEST(CandidateFilter, WhitelistOnlyAclDeniesByDefault) {
  const auto d = parse_ok(std::string(kHead) +
                          "a=candidate:1 1 udp 2130706431 192.168.178.28 65268 typ host\r\n"
                          "a=candidate:2 1 udp 1694498815 93.228.10.20 65268 typ srflx raddr "
                          "192.168.178.28 rport 65268\r\n");
  const auto acl = make_acl({{"192.168.178.0/24", kWhite}});
  const auto r = filter_remote_candidates(d, acl.get());
  ASSERT_FALSE(r.reject());
  ASSERT_EQ(r.media[0].usable.size(), 1u);
  EXPECT_EQ(r.media[0].usable[0].address, "192.168.178.28");
  ASSERT_EQ(r.media[0].dropped.size(), 1u);
  EXPECT_TRUE(contains(r.media[0].dropped[0].detail, "default deny"))
      << r.media[0].dropped[0].detail;
}

TEST(CandidateFilter, MdnsAndTcpAreDroppedWithReasons) {
  const auto d = load("synthetic/chromium-bundle-mdns-offer.sdp");
  const auto r = filter_remote_candidates(d, nullptr);
  ASSERT_FALSE(r.reject()) << *r.reject_reason;
  ASSERT_EQ(r.media.size(), 3u);
  const auto& audio = r.media[0];
  ASSERT_EQ(audio.dropped.size(), 2u);
  EXPECT_EQ(audio.dropped[0].reason, DropReason::unresolved_name);
  EXPECT_TRUE(contains(audio.dropped[0].detail, "mDNS")) << audio.dropped[0].detail;
  EXPECT_EQ(audio.dropped[1].reason, DropReason::not_udp);
  ASSERT_EQ(audio.usable.size(), 1u);
  EXPECT_EQ(audio.usable[0].type_kind(), CandidateType::srflx);
  EXPECT_EQ(audio.destination, ra("198.51.100.23", 51234));
}

TEST(CandidateFilter, MdnsTcpAndBlockedSrflxRejectNamingEveryReason) {
  const auto acl = make_acl({{"198.51.100.0/24", kBlack}, {"198.51.100.64/26", kWhite}});
  const auto r =
      filter_remote_candidates(load("synthetic/chromium-bundle-mdns-offer.sdp"), acl.get());
  ASSERT_TRUE(r.reject());
  const std::string& why = *r.reject_reason;
  EXPECT_TRUE(
      contains(why, ".local 51234 typ host generation 0 network-id 1\" not an IP address: mDNS"))
      << why;
  EXPECT_TRUE(contains(why, "tcptype active generation 0 network-id 1\" not UDP: tcp")) << why;
  EXPECT_TRUE(
      contains(why,
               "198.51.100.23 51234 typ srflx raddr 0.0.0.0 rport 0 generation 0 network-id 1\" "
               "rejected by acl \"candidates\" (blacklist 198.51.100.0/24 (icegate.xml:10))"))
      << why;
  // Every active section is named.
  EXPECT_TRUE(contains(why, "m= section 0 (audio)")) << why;
  EXPECT_TRUE(contains(why, "m= section 1 (video)")) << why;
  EXPECT_TRUE(contains(why, "m= section 2 (application)")) << why;
}

TEST(CandidateFilter, SectionWithoutCandidatesUsesConnectionAddress) {
  const auto d = load("baresip-1.0-dtls-offer.sdp");  // no ICE: c=127.0.0.1, m= 20028
  auto r = filter_remote_candidates(d, nullptr);
  ASSERT_FALSE(r.reject());
  EXPECT_FALSE(r.media[0].ice);
  EXPECT_EQ(r.media[0].destination, ra("127.0.0.1", 20028));
  EXPECT_TRUE(r.media[0].destination_from_connection);
  // The candidate ACL applies to that address too.
  const auto acl = make_acl({{"127.0.0.0/8", kBlack}});
  r = filter_remote_candidates(d, acl.get());
  ASSERT_TRUE(r.reject());
  EXPECT_TRUE(contains(*r.reject_reason, "c=/m= 127.0.0.1:20028 rejected by acl \"candidates\""))
      << *r.reject_reason;
}

TEST(CandidateFilter, IceWithoutUsableCandidateFallsBackToUsableConnectionAddress) {
  const auto d = parse_ok(
      "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\nc=IN IP4 "
      "203.0.113.50\r\n"
      "a=candidate:1 1 tcp 1518280447 203.0.113.50 9 typ host tcptype active\r\n");
  const auto r = filter_remote_candidates(d, nullptr);
  ASSERT_FALSE(r.reject());
  EXPECT_TRUE(r.media[0].ice);
  EXPECT_TRUE(r.media[0].usable.empty());
  EXPECT_EQ(r.media[0].destination, ra("203.0.113.50", 40000));
  EXPECT_TRUE(r.media[0].destination_from_connection);
}

TEST(CandidateFilter, OnlyMdnsAndUnspecifiedConnectionRejects) {
  const auto d = parse_ok(
      "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN "
      "IP4 0.0.0.0\r\n"
      "a=candidate:1 1 udp 2122260223 0b6e5a1c-2d3f-4e5a-8b9c-0d1e2f3a4b5c.local 50000 typ "
      "host\r\n");
  const auto r = filter_remote_candidates(d, nullptr);
  ASSERT_TRUE(r.reject());
  EXPECT_TRUE(contains(*r.reject_reason, "not an IP address")) << *r.reject_reason;
  EXPECT_TRUE(contains(*r.reject_reason, "c=/m= 0.0.0.0:9 unspecified address"))
      << *r.reject_reason;
}

TEST(CandidateFilter, OnlyComponentTwoUsableMeansNoRtpDestination) {
  const auto d = parse_ok(
      "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\nc=IN IP4 "
      "0.0.0.0\r\n"
      "a=candidate:1 1 udp 2130706431 10.1.1.1 5000 typ host\r\n"
      "a=candidate:1 2 udp 2130706430 10.2.2.2 5001 typ host\r\n");
  const auto acl = make_acl({{"10.1.0.0/16", kBlack}});
  const auto r = filter_remote_candidates(d, acl.get());
  ASSERT_TRUE(r.reject());
  ASSERT_EQ(r.media[0].usable.size(), 1u);
  EXPECT_EQ(r.media[0].usable[0].component, 2u);
}

TEST(CandidateFilter, MalformedZeroPortAndOddComponentsAreReported) {
  const auto d = parse_ok(std::string(kHead) +
                          "a=candidate:garbage\r\n"
                          "a=candidate\r\n"
                          "a=candidate:1 1 udp 1 192.0.2.7 0 typ host\r\n"
                          "a=candidate:1 3 udp 1 192.0.2.7 5000 typ host\r\n"
                          "a=candidate:1 1 udp 1 0.0.0.0 5000 typ host\r\n"
                          "a=candidate:1 1 udp 1 192.0.2.7 5000 typ host\r\n");
  const auto r = filter_remote_candidates(d, nullptr);
  ASSERT_FALSE(r.reject());
  const auto& m = r.media[0];
  ASSERT_EQ(m.dropped.size(), 5u);
  EXPECT_EQ(m.dropped[0].reason, DropReason::malformed);
  EXPECT_EQ(m.dropped[1].reason, DropReason::malformed);
  EXPECT_EQ(m.dropped[2].reason, DropReason::zero_port);
  EXPECT_EQ(m.dropped[3].reason, DropReason::unsupported_component);
  EXPECT_EQ(m.dropped[4].reason, DropReason::unspecified_address);
  EXPECT_EQ(m.destination, ra("192.0.2.7", 5000));
}

TEST(CandidateFilter, DisabledSectionIsSkipped) {
  const auto acl = make_acl({{"0.0.0.0/0", kBlack}});
  const auto d = parse_ok(
      "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 40000 "
      "RTP/AVP 0\r\n"
      "m=video 0 RTP/AVP 96\r\n");
  auto r = filter_remote_candidates(d, nullptr);
  ASSERT_FALSE(r.reject());
  EXPECT_TRUE(r.media[1].disabled);
  EXPECT_FALSE(r.media[1].destination);
  r = filter_remote_candidates(d, acl.get());
  ASSERT_TRUE(r.reject());
  EXPECT_TRUE(contains(*r.reject_reason, "m= section 0 (audio)"));
  EXPECT_FALSE(contains(*r.reject_reason, "m= section 1"));
}

TEST(CandidateFilter, Ipv6Candidates) {
  const auto d = parse_ok(std::string(kHead) +
                          "a=candidate:1 1 udp 2130706431 2001:db8::28 65268 typ host\r\n"
                          "a=candidate:2 1 udp 2130706431 2001:db8:1::28 65268 typ host\r\n");
  const auto acl = make_acl({{"2001:db8::/48", kBlack}});
  const auto r = filter_remote_candidates(d, acl.get());
  ASSERT_FALSE(r.reject());
  EXPECT_EQ(r.media[0].destination, ra("2001:db8:1::28", 65268));
  EXPECT_EQ(r.media[0].destination->to_string(), "[2001:db8:1::28]:65268");
}

// behaviour.md §3: offers a browser really sends. With ICE credentials, an offer whose only
// candidates are mDNS names (Chromium without microphone permission) or that has none yet
// (trickle: c=IN IP4 0.0.0.0, port 9) waits for the phone's first check (peer-reflexive).
constexpr const char* kIceHead =
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
    "c=IN IP4 0.0.0.0\r\na=ice-ufrag:2qsL\r\na=ice-pwd:vjIh9plO21KEAuXjTHiTY2FD\r\n";

TEST(CandidateFilter, OnlyMdnsWithIceCredentialsAwaitsPeerReflexive) {
  const auto d = parse_ok(std::string(kIceHead) +
                          "a=candidate:1 1 udp 2122260223 0b6e5a1c-2d3f-4e5a-8b9c-0d1e2f3a4b5c.local "
                          "50000 typ host generation 0\r\n"
                          "a=candidate:2 1 tcp 1518280447 0b6e5a1c-2d3f-4e5a-8b9c-0d1e2f3a4b5c.local "
                          "9 typ host tcptype active\r\n"
                          "a=end-of-candidates\r\n");
  const auto acl = make_acl({{"10.0.0.0/8", kBlack}});
  const auto r = filter_remote_candidates(d, acl.get());
  ASSERT_FALSE(r.reject()) << *r.reject_reason;
  const auto& m = r.media[0];
  EXPECT_TRUE(m.ice);
  EXPECT_TRUE(m.awaits_peer_reflexive);
  EXPECT_TRUE(m.end_of_candidates);
  EXPECT_FALSE(m.destination) << "neither a name nor c= 0.0.0.0 is a destination";
  EXPECT_TRUE(m.usable.empty());
  ASSERT_EQ(m.dropped.size(), 2u) << "the names are still reported";
  EXPECT_EQ(m.dropped[0].reason, DropReason::unresolved_name);
  EXPECT_EQ(m.dropped[1].reason, DropReason::not_udp);
}

TEST(CandidateFilter, TrickleOfferWithoutCandidatesAwaitsPeerReflexive) {
  const auto d = parse_ok(std::string(kIceHead) + "a=ice-options:trickle\r\n");
  const auto r = filter_remote_candidates(d, nullptr);
  ASSERT_FALSE(r.reject()) << *r.reject_reason;
  EXPECT_FALSE(r.media[0].ice);
  EXPECT_TRUE(r.media[0].trickle);
  EXPECT_TRUE(r.media[0].awaits_peer_reflexive);
  EXPECT_TRUE(r.media[0].dropped.empty()) << "c= 0.0.0.0 is the trickle placeholder, not an error";
  // Session-level ice-options count as well (RFC 8839 §5.6).
  const auto s = parse_ok(
      "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=ice-options:trickle\r\n"
      "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 203.0.113.7\r\na=ice-ufrag:2qsL\r\n"
      "a=ice-pwd:vjIh9plO21KEAuXjTHiTY2FD\r\n");
  const auto rs = filter_remote_candidates(s, nullptr);
  ASSERT_FALSE(rs.reject());
  EXPECT_TRUE(rs.media[0].trickle);
  EXPECT_TRUE(rs.media[0].awaits_peer_reflexive);
  EXPECT_FALSE(rs.media[0].destination) << "a trickling phone's c= is not a candidate";
}

TEST(CandidateFilter, NoCandidatesAndUnspecifiedConnectionAwaitsChecksWithoutTrickleToo) {
  const auto r = filter_remote_candidates(parse_ok(kIceHead), nullptr);
  ASSERT_FALSE(r.reject());
  EXPECT_TRUE(r.media[0].awaits_peer_reflexive);
}

TEST(CandidateFilter, EndOfCandidatesWithoutAnyCandidateRejects) {
  // The phone finished gathering with nothing: nobody will ever check.
  for (const char* where : {"media", "session"}) {
    const std::string eoc = "a=end-of-candidates\r\n";
    std::string text = std::string(kIceHead) + "a=ice-options:trickle\r\n";
    if (std::string(where) == "media") {
      text += eoc;
    } else {
      text.insert(text.find("m=audio"), eoc);
    }
    const auto r = filter_remote_candidates(parse_ok(text), nullptr);
    ASSERT_TRUE(r.reject()) << where;
    EXPECT_TRUE(r.media[0].end_of_candidates) << where;
    EXPECT_FALSE(r.media[0].awaits_peer_reflexive) << where;
    EXPECT_TRUE(contains(*r.reject_reason, "c=/m= 0.0.0.0:9 unspecified address"))
        << *r.reject_reason;
  }
}

TEST(CandidateFilter, BlockedCandidatesBesideMdnsStillReject) {
  // behaviour.md §3: "only such candidates" (names, non-UDP); one the ACL blocked means the
  // phone's addresses are known and refused: 488 (pattern 5), peer-reflexive or not.
  const auto d = parse_ok(std::string(kIceHead) +
                          "a=candidate:1 1 udp 2122260223 x.local 50000 typ host\r\n"
                          "a=candidate:2 1 udp 1686052607 10.1.2.3 50000 typ srflx raddr 0.0.0.0 "
                          "rport 0\r\n");
  const auto acl = make_acl({{"10.0.0.0/8", kBlack}});
  const auto r = filter_remote_candidates(d, acl.get());
  ASSERT_TRUE(r.reject());
  EXPECT_FALSE(r.media[0].awaits_peer_reflexive);
  EXPECT_TRUE(contains(*r.reject_reason, "rejected by acl \"candidates\"")) << *r.reject_reason;
}

TEST(CandidateFilter, NoIceCredentialsMeansNoPeerReflexive) {
  // Without ice-ufrag/ice-pwd nothing will check: only mDNS and c= 0.0.0.0 is refused.
  const auto d = parse_ok(
      "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\nc=IN IP4 0.0.0.0\r\n"
      "a=ice-options:trickle\r\n");
  const auto r = filter_remote_candidates(d, nullptr);
  ASSERT_TRUE(r.reject());
  EXPECT_FALSE(r.media[0].awaits_peer_reflexive);
}

TEST(CandidateFilter, IceCredentialsWithoutCandidatesButAUsableConnectionKeepIt) {
  // Not trickling, c= a real address: the c=/m= destination, as for a phone without ICE.
  const auto d = parse_ok(
      "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n"
      "c=IN IP4 203.0.113.7\r\na=ice-ufrag:2qsL\r\na=ice-pwd:vjIh9plO21KEAuXjTHiTY2FD\r\n");
  const auto r = filter_remote_candidates(d, nullptr);
  ASSERT_FALSE(r.reject());
  EXPECT_FALSE(r.media[0].awaits_peer_reflexive);
  EXPECT_EQ(r.media[0].destination, ra("203.0.113.7", 40000));
  EXPECT_TRUE(r.media[0].destination_from_connection);
}

}  // namespace
}  // namespace icegate::sip::sdp
