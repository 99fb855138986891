// `icegate passwd`: the hashes it prints are what the digest check computes, and a user stored
// with them loads.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "cli_support.hpp"
#include "gateway/cli/cli.hpp"
#include "gateway/cli/passwd.hpp"

namespace icegate::gateway {
namespace {

using ::testing::HasSubstr;

struct Run {
  int code;
  std::string out, err;
};
Run passwd(std::vector<std::string> args, const std::string& input, bool terminal = false) {
  std::istringstream in(input);
  std::ostringstream out, err;
  const int code = passwd_from(args, in, terminal, out, err);
  return {code, out.str(), err.str()};
}

TEST(Passwd, PrintsTheRfcHashesForTheRealm) {
  // RFC 2617 §3.5 (MD5) and RFC 7616 §3.9.1 (SHA-256) examples.
  auto r = passwd({"--realm", "testrealm@host.com", "Mufasa"}, "Circle Of Life\n");
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("<user name=\"Mufasa\" ha1=\"939e7578ed9e3c518a452acee763bce9\""));
  r = passwd({"--realm", "http-auth@example.org", "Mufasa"}, "Circle of Life");
  EXPECT_THAT(
      r.out,
      HasSubstr("ha1-sha256=\"7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232\""));
}

TEST(Passwd, RealmFromTheConfigurationAndInputChecks) {
  auto r =
      passwd({"-c", std::string(ICEGATE_SOURCE_DIR) + "/conf/icegate.xml", "1001"}, "1001secret\n");
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("realm \"icegate\""));
  EXPECT_EQ(passwd({"1001"}, "a\nb\n", true).code, kExitFailure) << "the two entries differ";
  EXPECT_EQ(passwd({"1001"}, "\n").code, kExitFailure) << "empty password";
  EXPECT_EQ(passwd({}, "x\n").code, kExitUsage);
  EXPECT_EQ(passwd({"bad\"name"}, "x\n").code, kExitUsage);
  EXPECT_EQ(test::cli({"passwd", "--help"}).code, kExitOk) << "registered as a command";
}

}  // namespace
}  // namespace icegate::gateway
