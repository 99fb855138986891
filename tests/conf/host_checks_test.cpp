#include "conf/host_checks.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>

namespace icegate::conf {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using namespace std::chrono_literals;

std::string doc(const std::string& media, const std::string& body) {
  return "<?xml version=\"1.0\"?>\n<icegate>\n"
         "<sip><listener transport=\"udp\" address=\"127.0.0.1\" port=\"5060\"/></sip>\n"
         "<media address=\"" +
         media + "\"/>\n" + body + "</icegate>\n";
}

// sip-inbound whitelists loopback only: everything else is denied by default.
const std::string kLocalOnly =
    "<acls><acl name=\"local\"><whitelist cidr=\"127.0.0.0/8\"/></acl></acls>\n"
    "<acl-policy sip-inbound=\"local\"/>\n";

std::shared_ptr<const Config> load(const std::string& xml, std::vector<std::string>* warnings) {
  auto r = load_string(xml, "test.xml", "/tmp");
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().front().to_string());
  if (!r) return nullptr;
  for (const auto& w : r->warnings) warnings->push_back(w.to_string());
  return r->config;
}

// check_host's warnings, without the RTP range one (it depends on this host's sysctl settings;
// RtpRangeInsideTheEphemeralPortsIsWarnedAbout tests it).
std::vector<std::string> host_warnings(const Config& c) {
  std::vector<std::string> out;
  for (const auto& d : check_host(c, 5s)) {
    EXPECT_EQ(d.severity, Severity::warning);
    if (d.message.find("ephemeral port range") == std::string::npos) out.push_back(d.to_string());
  }
  return out;
}

// The loader's warnings for a document with a local media address and `body`.
std::vector<std::string> loader_warnings(const std::string& body) {
  std::vector<std::string> w;
  load(doc("127.0.0.1", body), &w);
  return w;
}

TEST(TrunkAdmission, TrunkAddressDeniedBySipInboundIsALoaderWarning) {
  EXPECT_THAT(loader_warnings(kLocalOnly +
                              "<trunks>\n<trunk name=\"pbx\"><address host=\"10.0.0.5\"/></trunk>\n"
                              "</trunks>\n"),
              Contains(AllOf(HasSubstr("/tmp/test.xml:8: warning: trunk \"pbx\" at 10.0.0.5 is "
                                       "denied by ACL \"local\" (sip-inbound, default deny"),
                             HasSubstr("calls from it will get 403"))));
}

TEST(TrunkAdmission, BlacklistEntryThatDeniesIsNamed) {
  EXPECT_THAT(loader_warnings(
                  "<acls><acl name=\"no10\"><blacklist cidr=\"10.0.0.0/8\"/></acl></acls>\n"
                  "<acl-policy sip-inbound=\"no10\"/>\n"
                  "<trunks><trunk name=\"pbx\"><address host=\"10.0.0.5\"/></trunk></trunks>\n"),
              Contains(HasSubstr("trunk \"pbx\" at 10.0.0.5 is denied by ACL \"no10\" "
                                 "(sip-inbound, blacklist 10.0.0.0/8 (/tmp/test.xml:5))")));
}

TEST(TrunkAdmission, AllowedTrunkOrNoSipInboundGivesNoWarning) {
  EXPECT_THAT(
      loader_warnings(kLocalOnly + "<trunks><trunk name=\"pbx\"><address host=\"127.0.0.1\" "
                                   "port=\"5080\"/></trunk></trunks>\n"),
      IsEmpty());
  EXPECT_THAT(loader_warnings("<trunks><trunk name=\"pbx\"><address host=\"10.0.0.5\"/></trunk>"
                              "</trunks>\n"),
              Not(Contains(HasSubstr("is denied by ACL"))));
}

TEST(TrunkAdmission, SourceNetworkDeniedIsAWarning) {
  const auto w = loader_warnings(kLocalOnly +
                                 "<trunks><trunk name=\"carrier\"><address host=\"127.0.0.1\"/>"
                                 "<source cidr=\"198.51.100.0/24\"/><source cidr=\"127.0.0.0/8\"/>"
                                 "</trunk></trunks>\n");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_THAT(w[0], HasSubstr("trunk \"carrier\" at 198.51.100.0 (source 198.51.100.0/24) is "
                              "denied by ACL \"local\" (sip-inbound, default deny"));
}

TEST(HostChecks, LocalAddressProblem) {
  EXPECT_EQ(local_address_problem(*acl::Address::parse("127.0.0.1")), std::nullopt);
  EXPECT_EQ(local_address_problem(*acl::Address::parse("0.0.0.0")), std::nullopt);
  // RFC 5737 TEST-NET-1: never an address of this host.
  const auto why = local_address_problem(*acl::Address::parse("192.0.2.1"));
  ASSERT_TRUE(why.has_value());
  EXPECT_EQ(*why, "Cannot assign requested address");
}

TEST(HostChecks, MediaAddressNotOfThisHostIsAWarningWithTheReason) {
  std::vector<std::string> w;
  auto c = load(doc("192.0.2.1", ""), &w);
  ASSERT_TRUE(c);
  const auto why = media_address_problem(*c);
  ASSERT_TRUE(why.has_value());
  EXPECT_EQ(*why,
            "media address 192.0.2.1 is not an address of this host (Cannot assign "
            "requested address): RTP sockets cannot be bound to it");
  EXPECT_THAT(host_warnings(*c), Contains("/tmp/test.xml:4: warning: " + *why));

  auto local = load(doc("127.0.0.1", ""), &w);
  ASSERT_TRUE(local);
  EXPECT_EQ(media_address_problem(*local), std::nullopt);
  EXPECT_THAT(host_warnings(*local), IsEmpty());
}

TEST(HostChecks, ResolveHost) {
  auto literal = resolve_host("192.0.2.7", 1s);
  ASSERT_TRUE(literal);
  ASSERT_EQ(literal->size(), 1u);
  EXPECT_EQ((*literal)[0].to_string(), "192.0.2.7");
  auto local = resolve_host("localhost", 5s);
  ASSERT_TRUE(local) << local.error();
  EXPECT_TRUE(std::any_of(local->begin(), local->end(),
                          [](const acl::Address& a) { return a.is_loopback(); }));
  // RFC 2606 §2: .invalid never resolves.
  EXPECT_FALSE(resolve_host("turn.icegate-test.invalid", 5s));
}

TEST(HostChecks, UnresolvableTurnServerIsAWarningNamingItsGroups) {
  std::vector<std::string> w;
  auto c = load(doc("127.0.0.1",
                    "<turn>\n<server name=\"t1\" host=\"turn.icegate-test.invalid\" "
                    "shared-secret=\"s\"/>\n<server name=\"t2\" host=\"127.0.0.1\" "
                    "shared-secret=\"s\"/>\n</turn>\n"
                    "<groups><group name=\"mobile\" turn=\"t1 t2\"/></groups>\n"),
                &w);
  ASSERT_TRUE(c);
  const auto hw = host_warnings(*c);
  ASSERT_EQ(hw.size(), 1u) << ::testing::PrintToString(hw);
  EXPECT_THAT(hw[0], HasSubstr("/tmp/test.xml:6: warning: turn server \"t1\" host "
                               "\"turn.icegate-test.invalid\" does not resolve ("));
  EXPECT_THAT(hw[0], HasSubstr("phones of group \"mobile\" are handed a TURN server"));
}

TEST(HostChecks, TrunkNamesAreResolvedAndCheckedAgainstSipInbound) {
  std::vector<std::string> w;
  // localhost resolves to loopback, which "local" allows; deny everything to see the warning.
  auto c = load(doc("127.0.0.1",
                    "<acls><acl name=\"none\"><whitelist cidr=\"192.0.2.0/24\"/></acl></acls>\n"
                    "<acl-policy sip-inbound=\"none\"/>\n"
                    "<trunks><trunk name=\"pbx\"><address host=\"localhost\"/></trunk>\n"
                    "<trunk name=\"gone\"><address host=\"pbx.icegate-test.invalid\"/></trunk>"
                    "</trunks>\n"),
                &w);
  ASSERT_TRUE(c);
  EXPECT_THAT(w, IsEmpty()) << "the loader must not resolve names";
  const auto hw = host_warnings(*c);
  EXPECT_THAT(hw, Contains(HasSubstr("trunk \"pbx\" at 127.0.0.1 (localhost) is denied by ACL "
                                     "\"none\" (sip-inbound, default deny")));
  EXPECT_THAT(hw, Contains(HasSubstr("trunk \"gone\" host \"pbx.icegate-test.invalid\" does not "
                                     "resolve")));

  auto allowed = load(doc("127.0.0.1", kLocalOnly + "<trunks><trunk name=\"pbx\"><address "
                                                    "host=\"localhost\"/></trunk></trunks>\n"),
                      &w);
  ASSERT_TRUE(allowed);
  EXPECT_THAT(host_warnings(*allowed), IsEmpty());
}

}  // namespace
}  // namespace icegate::conf

namespace icegate::conf {
namespace {

// Issue 13 item 6: on a busy host the kernel hands RTP ports to other programs' connections.
TEST(HostChecks, RtpRangeInsideTheEphemeralPortsIsWarnedAbout) {
  Media m;
  m.rtp_min = 30000;
  m.rtp_max = 33000;
  const auto w = rtp_range_overlap(m, {32768, 60999}, "");
  ASSERT_TRUE(w);
  EXPECT_NE(w->find("RTP ports 30000-33000: 233 of them are in the kernel's ephemeral port range "
                    "32768-60999"),
            std::string::npos)
      << *w;
  EXPECT_NE(w->find("sysctl -w net.ipv4.ip_local_reserved_ports=30000-33000"), std::string::npos);
  // Reserved ports are not handed out: all of them reserved, nothing to say; part: the rest.
  EXPECT_FALSE(rtp_range_overlap(m, {32768, 60999}, "8080,30000-33000\n"));
  const auto part = rtp_range_overlap(m, {32768, 60999}, "32768-32999");
  ASSERT_TRUE(part);
  EXPECT_NE(part->find(": 1 of them"), std::string::npos) << *part;
  // Below the ephemeral range: fine.
  m.rtp_min = 20000;
  m.rtp_max = 23000;
  EXPECT_FALSE(rtp_range_overlap(m, {32768, 60999}, ""));
}

}  // namespace
}  // namespace icegate::conf
