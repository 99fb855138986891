#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli_support.hpp"
#include "gateway/cli/cli.hpp"

namespace icegate::gateway {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
const std::string kSource = ICEGATE_SOURCE_DIR;

using test::cli;

TEST(Cli, UsageErrorsExitTwo) {
  EXPECT_EQ(cli({}).code, kExitUsage);
  auto r = cli({"frobnicate"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("unknown command \"frobnicate\""));
  EXPECT_EQ(cli({"check-config"}).code, kExitUsage);
  EXPECT_EQ(cli({"check-config", "--no-such-option", "x"}).code, kExitUsage);
  EXPECT_EQ(cli({"acl-check", "-c", kSource + "/conf/icegate.xml"}).code, kExitUsage);
  EXPECT_EQ(cli({"run"}).code, kExitUsage);
  EXPECT_EQ(cli({"help"}).code, kExitOk);
  EXPECT_EQ(cli({"version"}).code, kExitOk);
}

TEST(Cli, CheckConfigAcceptsShippedFiles) {
  for (const char* f : {"/conf/icegate.xml", "/conf/examples/dmz.xml", "/conf/examples/acl.xml"}) {
    auto r = cli({"check-config", kSource + f});
    EXPECT_EQ(r.code, kExitOk) << f << "\n" << r.err;
    EXPECT_THAT(r.out, HasSubstr("configuration is valid"));
  }
  auto r = cli({"check-config", kSource + "/conf/icegate.xml"});
  EXPECT_THAT(r.out, HasSubstr("udp 127.0.0.1:5060 (udp-lo), tcp 127.0.0.1:5060 (tcp-lo)"));
  EXPECT_THAT(r.out, HasSubstr("RTP 30000-33000"));
  EXPECT_THAT(r.out, HasSubstr("pbx (udp 127.0.0.1:5080)"));
}

TEST(Cli, CheckConfigPrintsFileLineReasonAndExitsOne) {
  const auto path = std::filesystem::temp_directory_path() / "icegate-cli-broken.xml";
  std::ofstream(path) << "<icegate>\n<sip><listener transport=\"udp\" address=\"127.0.0.1\"/></sip>\n"
                         "<media address=\"127.0.0.1\" rtp-min=\"33000\" rtp-max=\"30000\"/>\n"
                         "</icegate>\n";
  auto r = cli({"check-config", path.string()});
  std::filesystem::remove(path);
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.err, HasSubstr(path.string() + ":3: error: rtp-min 33000 is above rtp-max 30000"));
  EXPECT_THAT(r.err, HasSubstr("1 error(s), configuration refused"));
  EXPECT_EQ(cli({"check-config", "/nonexistent.xml"}).code, kExitFailure);
}

// Writes `body` as a configuration file of the test's own and runs check-config on it.
test::CliResult check_config_of(const std::string& name, const std::string& body) {
  const auto path = std::filesystem::temp_directory_path() / name;
  std::ofstream(path) << "<icegate>\n<sip><listener transport=\"udp\" address=\"127.0.0.1\"/>"
                         "</sip>\n"
                      << body << "</icegate>\n";
  auto r = cli({"check-config", path.string()});
  std::filesystem::remove(path);
  return r;
}

const std::string kLocalOnly =
    "<acls><acl name=\"local\"><whitelist cidr=\"127.0.0.0/8\"/></acl></acls>\n"
    "<acl-policy sip-inbound=\"local\"/>\n";

// issue 12: a trunk that sip-inbound denies gets 403 for every call (behaviour.md §9 pattern 4).
TEST(Cli, CheckConfigWarnsAboutATrunkDeniedBySipInbound) {
  auto r = check_config_of("icegate-cli-trunk-denied.xml",
                           "<media address=\"127.0.0.1\" rtp-min=\"20000\" rtp-max=\"21000\"/>\n" + kLocalOnly +
                               "<trunks><trunk name=\"pbx\"><address host=\"10.0.0.5\"/>"
                               "</trunk></trunks>\n");
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.err, HasSubstr("warning: trunk \"pbx\" at 10.0.0.5 is denied by ACL \"local\" "
                               "(sip-inbound, default deny"));
  EXPECT_THAT(r.err, HasSubstr("calls from it will get 403"));
  EXPECT_THAT(r.out, HasSubstr("configuration is valid, 1 warning(s)"));

  r = check_config_of("icegate-cli-trunk-allowed.xml",
                      "<media address=\"127.0.0.1\" rtp-min=\"20000\" rtp-max=\"21000\"/>\n" + kLocalOnly +
                          "<trunks><trunk name=\"pbx\"><address host=\"127.0.0.1\" port=\"5080\"/>"
                          "</trunk></trunks>\n");
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.err, Not(HasSubstr("is denied by ACL")));
  EXPECT_THAT(r.out, HasSubstr("configuration is valid, 0 warning(s)"));
}

TEST(Cli, CheckConfigWarnsWhenTheMediaAddressIsNotOfThisHost) {
  // RFC 5737 TEST-NET-1: no host has it.
  auto r = check_config_of("icegate-cli-media-foreign.xml", "<media address=\"192.0.2.1\"/>\n");
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.err, HasSubstr(":3: warning: media address 192.0.2.1 is not an address of this "
                               "host (Cannot assign requested address)"));
  r = check_config_of("icegate-cli-media-local.xml", "<media address=\"127.0.0.1\" rtp-min=\"20000\" rtp-max=\"21000\"/>\n");
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.err, Not(HasSubstr("media address")));
}

TEST(Cli, CheckConfigWarnsAboutATurnServerThatDoesNotResolve) {
  // RFC 2606 §2: names under .invalid never resolve.
  auto r = check_config_of("icegate-cli-turn.xml",
                           "<media address=\"127.0.0.1\" rtp-min=\"20000\" rtp-max=\"21000\"/>\n"
                           "<turn><server name=\"turn-eu\" host=\"turn.icegate-test.invalid\" "
                           "username=\"u\" password=\"p\"/></turn>\n"
                           "<groups><group name=\"mobile\" turn=\"turn-eu\"/></groups>\n");
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.err, HasSubstr(":4: warning: turn server \"turn-eu\" host "
                               "\"turn.icegate-test.invalid\" does not resolve ("));
  EXPECT_THAT(r.err, HasSubstr("group \"mobile\""));
}

TEST(Cli, CheckConfigSummaryShowsTheEffectiveRegisterAcl) {
  auto r = check_config_of("icegate-cli-register-fallback.xml",
                           "<media address=\"127.0.0.1\" rtp-min=\"20000\" rtp-max=\"21000\"/>\n" + kLocalOnly);
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("sip-inbound \"local\", sip-register (none: falls back to "
                               "sip-inbound \"local\")"));
  r = check_config_of("icegate-cli-register-none.xml", "<media address=\"127.0.0.1\" rtp-min=\"20000\" rtp-max=\"21000\"/>\n");
  EXPECT_THAT(r.out, HasSubstr("sip-inbound (none: allow all), sip-register (none: allow all)"));
  r = cli({"check-config", kSource + "/conf/icegate.xml"});
  EXPECT_THAT(r.out, HasSubstr("sip-inbound \"local\", sip-register \"local\""));
}

TEST(Cli, AclCheckExplainsDecisions) {
  const std::string file = kSource + "/conf/examples/acl.xml";
  auto r = cli({"acl-check", "-c", file, "--acl", "hole_in_whitelist", "10.1.2.5", "10.1.3.5",
                "192.0.2.1"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("10.1.2.5: deny by acl \"hole_in_whitelist\": blacklist 10.1.2.0/24"));
  EXPECT_THAT(r.out, HasSubstr("10.1.3.5: allow by acl \"hole_in_whitelist\": whitelist 10.0.0.0/8"));
  EXPECT_THAT(r.out, HasSubstr("192.0.2.1: allow by acl \"hole_in_whitelist\""));

  r = cli({"acl-check", "-c", file, "--acl", "one_subnet", "192.168.1.7", "192.168.2.7",
           "::ffff:192.168.1.9"});
  EXPECT_THAT(r.out, HasSubstr("192.168.1.7: allow"));
  EXPECT_THAT(r.out, HasSubstr("192.168.2.7: deny"));
  EXPECT_THAT(r.out, HasSubstr("::ffff:192.168.1.9: allow"));

  r = cli({"acl-check", "-c", file, "--acl", "only_pbx", "10.9.9.9"});
  EXPECT_THAT(r.out, HasSubstr("10.9.9.9: deny by acl \"only_pbx\": default deny"));

  r = cli({"acl-check", "-c", file, "--acl", "nope", "10.0.0.1"});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.err, HasSubstr("no acl named \"nope\""));

  r = cli({"acl-check", "-c", file, "--acl", "tie", "not-an-ip"});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.err, HasSubstr("not-an-ip"));

  // Without --acl every ACL answers.
  r = cli({"acl-check", "-c", file, "203.0.113.5"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_THAT(r.out, HasSubstr("203.0.113.5: allow by acl \"tie\": whitelist 203.0.113.0/24"));
  EXPECT_THAT(r.out, HasSubstr("203.0.113.5: deny by acl \"only_pbx\""));
}

}  // namespace
}  // namespace icegate::gateway
