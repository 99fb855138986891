// ICE candidate grammar (RFC 8839 §5.1): fields, round trip, and rejection of malformed lines.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

#include "sip/sdp/attributes.hpp"
#include "sip/sdp/candidate.hpp"

namespace icegate::sip::sdp {
namespace {

static_assert(candidate_priority(kHostTypePreference, 65535, 1) == 2130706431);  // behaviour.md §3
static_assert(candidate_priority(kSrflxTypePreference, 65535, 1) == 1694498815);
static_assert(candidate_priority(kHostTypePreference, 65535, 2) == 2130706430);

Candidate parse_ok(std::string_view text) {
  auto c = Candidate::parse(text);
  if (!c) ADD_FAILURE() << text << ": " << c.error();
  return c ? *c : Candidate{};
}

TEST(CandidateParse, HostCandidateFromBehaviourSpec) {
  const auto c = parse_ok("1 1 udp 2130706431 10.0.50.118 30124 typ host");
  EXPECT_EQ(c.foundation, "1");
  EXPECT_EQ(c.component, 1u);
  EXPECT_EQ(c.transport_kind(), CandidateTransport::udp);
  EXPECT_EQ(c.priority, 2130706431u);
  EXPECT_EQ(c.ip(), acl::Address::parse("10.0.50.118").value());
  EXPECT_EQ(c.port, 30124);
  EXPECT_EQ(c.type_kind(), CandidateType::host);
  EXPECT_FALSE(c.related_address);
  EXPECT_FALSE(c.related_port);
  EXPECT_TRUE(c.extensions.empty());
}

TEST(CandidateParse, SrflxWithRelatedAddress) {
  const auto c =
      parse_ok("2 1 udp 1694498815 203.0.113.7 30124 typ srflx raddr 10.0.50.118 rport 30124");
  EXPECT_EQ(c.type_kind(), CandidateType::srflx);
  EXPECT_EQ(c.related_address, "10.0.50.118");
  EXPECT_EQ(c.related_port, 30124);
  EXPECT_EQ(c.to_string(),
            "2 1 udp 1694498815 203.0.113.7 30124 typ srflx raddr 10.0.50.118 rport 30124");
}

TEST(CandidateParse, ChromiumTcpCandidateKeepsExtensionsInOrder) {
  const auto c = parse_ok(
      "115524537 1 tcp 1518280447 10.97.0.2 9 typ host tcptype active generation 0 network-id 1");
  EXPECT_EQ(c.transport_kind(), CandidateTransport::tcp);
  EXPECT_EQ(c.tcptype(), "active");
  EXPECT_EQ(c.extension("network-id"), "1");
  EXPECT_EQ(c.extension("network-cost"), std::nullopt);
  ASSERT_EQ(c.extensions.size(), 3u);
  EXPECT_EQ(c.extensions[0].first, "tcptype");
  EXPECT_EQ(c.extensions[2].first, "network-id");
}

TEST(CandidateParse, TransportIsCaseInsensitiveAndKeptAsWritten) {
  const auto c = parse_ok("0a620003 1 UDP 2113929471 10.98.0.3 20154 typ host");
  EXPECT_EQ(c.transport_kind(), CandidateTransport::udp);
  EXPECT_EQ(c.transport, "UDP");
  EXPECT_EQ(parse_ok("1 1 dccp 1 192.0.2.1 1 typ host").transport_kind(),
            CandidateTransport::other);
  EXPECT_EQ(parse_ok("1 1 udp 1 192.0.2.1 1 typ relay").type_kind(), CandidateType::relay);
  EXPECT_EQ(parse_ok("1 1 udp 1 192.0.2.1 1 typ prflx").type_kind(), CandidateType::prflx);
  EXPECT_EQ(parse_ok("1 1 udp 1 192.0.2.1 1 typ future").type_kind(), CandidateType::other);
}

TEST(CandidateParse, MdnsAndFqdnAddresses) {
  const auto m = parse_ok(
      "3442447574 1 udp 2122260223 6c1e6c4e-51b4-4a8e-9a55-1e1f0b3f9d7a.local 51234 typ host");
  EXPECT_TRUE(m.is_mdns());
  EXPECT_EQ(m.ip(), std::nullopt);
  const auto f = parse_ok("1 1 udp 1 turn.example.com 3478 typ relay raddr 0.0.0.0 rport 0");
  EXPECT_FALSE(f.is_mdns());
  EXPECT_EQ(f.ip(), std::nullopt);
  EXPECT_EQ(f.related_port, 0);
}

TEST(CandidateParse, Ipv6) {
  const auto c = parse_ok("1 1 udp 2130706431 2001:db8::7 30000 typ host");
  ASSERT_TRUE(c.ip());
  EXPECT_FALSE(c.ip()->is_v4());
  EXPECT_FALSE(c.is_mdns());
}

TEST(CandidateParse, AcceptsAttributePrefixes) {
  const auto plain = parse_ok("1 1 udp 2130706431 10.0.50.118 30124 typ host");
  EXPECT_EQ(parse_ok("candidate:1 1 udp 2130706431 10.0.50.118 30124 typ host"), plain);
  EXPECT_EQ(parse_ok("a=candidate:1 1 udp 2130706431 10.0.50.118 30124 typ host"), plain);
}

TEST(CandidateParse, RoundTripsEveryCandidateOfTheCaptures) {
  std::size_t seen = 0;
  for (const char* name : {"baresip-1.0-ice-dtls-answer.sdp", "baresip-1.0-ice-dtls-offer.sdp",
                           "chromium-156-offer.sdp", "linphone-5.1-ice-dtls-offer.sdp",
                           "synthetic/chromium-bundle-mdns-offer.sdp"}) {
    std::ifstream in(std::string(ICEGATE_SOURCE_DIR) + "/tests/data/sdp/" + name, std::ios::binary);
    const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    auto d = parse(text);
    ASSERT_TRUE(d) << name;
    for (const auto& m : d->media) {
      for (const Attribute* a : m.attributes_named("candidate")) {
        ++seen;
        auto c = Candidate::parse(*a->value);
        ASSERT_TRUE(c) << *a->value << ": " << c.error();
        EXPECT_EQ(c->to_string(), *a->value);
      }
    }
  }
  EXPECT_EQ(seen, 15u);
}

struct BadCandidate {
  const char* text;
  const char* reason_part;
};

class MalformedCandidate : public ::testing::TestWithParam<BadCandidate> {};

TEST_P(MalformedCandidate, IsRejectedWithReason) {
  auto c = Candidate::parse(GetParam().text);
  ASSERT_FALSE(c) << GetParam().text;
  EXPECT_NE(c.error().find(GetParam().reason_part), std::string::npos) << c.error();
}

INSTANTIATE_TEST_SUITE_P(
    Candidate, MalformedCandidate,
    ::testing::Values(
        BadCandidate{"", "too few fields"},
        BadCandidate{"1 1 udp 2130706431 10.0.50.118 30124 typ", "too few fields"},
        BadCandidate{"1 1 udp 2130706431 10.0.50.118 30124 type host", "expected 'typ'"},
        BadCandidate{"1  1 udp 2130706431 10.0.50.118 30124 typ host x", "single spaces"},
        BadCandidate{"1 1 udp 2130706431 10.0.50.118 30124 typ host ", "single spaces"},
        BadCandidate{"f@o 1 udp 1 10.0.50.118 1 typ host", "bad foundation"},
        BadCandidate{"123456789012345678901234567890123 1 udp 1 10.0.50.118 1 typ host",
                     "bad foundation"},
        BadCandidate{"1 0 udp 1 10.0.50.118 1 typ host", "bad component"},
        BadCandidate{"1 257 udp 1 10.0.50.118 1 typ host", "bad component"},
        BadCandidate{"1 01 udp 1 10.0.50.118 1 typ host", "bad component"},
        BadCandidate{"1 1 udp 4294967296 10.0.50.118 1 typ host", "bad priority"},
        BadCandidate{"1 1 udp -1 10.0.50.118 1 typ host", "bad priority"},
        BadCandidate{"1 1 udp 1 10.0.50.118 65536 typ host", "bad port"},
        BadCandidate{"1 1 udp 1 10.0.50.118 80a typ host", "bad port"},
        BadCandidate{"1 1 udp 1 bad_host! 1 typ host", "bad connection address"},
        BadCandidate{"1 1 udp 1 fe80::1%eth0 1 typ host", "bad connection address"},
        BadCandidate{"1 1 u/p 1 10.0.50.118 1 typ host", "bad transport"},
        BadCandidate{"1 1 udp 1 10.0.50.118 1 typ srflx raddr", "has no value"},
        BadCandidate{"1 1 udp 1 10.0.50.118 1 typ srflx raddr x_y rport 1", "bad raddr"},
        BadCandidate{"1 1 udp 1 10.0.50.118 1 typ srflx raddr 10.0.0.1 rport 99999", "bad rport"},
        BadCandidate{"1 1 udp 1 10.0.50.118 1 typ srflx rport 1 raddr 10.0.0.1", "out of place"},
        BadCandidate{"1 1 udp 1 10.0.50.118 1 typ host generation 0 raddr 10.0.0.1",
                     "out of place"},
        BadCandidate{"1 1 udp 1 10.0.50.118 1 typ host generation", "has no value"}));

TEST(CandidateParse, SerialisesBuiltCandidate) {
  Candidate c;
  c.foundation = "2";
  c.component = 2;
  c.priority = candidate_priority(kSrflxTypePreference, 65535, 2);
  c.address = "203.0.113.7";
  c.port = 30125;
  c.type = "srflx";
  c.related_address = "10.0.50.118";
  c.related_port = 30125;
  EXPECT_EQ(c.to_string(),
            "2 2 udp 1694498814 203.0.113.7 30125 typ srflx raddr 10.0.50.118 rport 30125");
  EXPECT_EQ(parse_ok(c.to_string()), c);
}

}  // namespace
}  // namespace icegate::sip::sdp
