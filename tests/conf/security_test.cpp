// <sip><security> and users' stored digest hashes (conf/security.hpp, docs/security.md).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "conf/config.hpp"
#include "conf/security_values.hpp"

namespace icegate::conf {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

std::string doc(const std::string& sip_inside, const std::string& users) {
  return "<?xml version=\"1.0\"?>\n<icegate>\n<sip><listener transport=\"udp\" "
         "address=\"127.0.0.1\"/>" +
         sip_inside + "</sip>\n<media address=\"127.0.0.1\"/>\n" + users + "</icegate>\n";
}

TEST(SecurityConfig, DefaultsAreSane) {
  auto r =
      load_string(doc("", "<users><user name=\"a\" password=\"p\"/></users>"), "t.xml", "/tmp");
  ASSERT_TRUE(r.has_value()) << r.error().front().to_string();
  const auto& s = r->config->sip.security;
  EXPECT_EQ(s.requests_per_second, 200U);
  EXPECT_EQ(s.auth_failures, 10U);
  EXPECT_EQ(s.auth_window, 60s);
  EXPECT_EQ(s.nonce_ttl, 30s);
  EXPECT_EQ(s.digest_algorithms, std::vector<DigestAlgorithm>{DigestAlgorithm::md5});
  EXPECT_FALSE(s.reply_503);
}

TEST(SecurityConfig, EveryAttributeIsRead) {
  auto r = load_string(
      doc("<security nonce-ttl=\"10s\" digest=\"SHA-256 MD5\" requests-per-second=\"50\" "
          "ban-time=\"2m\" reply-503=\"yes\" auth-failures=\"3\" user-auth-failures=\"7\" "
          "auth-window=\"30s\" trusted=\"office\" max-tracked-sources=\"1000\"/>",
          "<users><user name=\"a\" ha1=\"939E7578ED9E3C518A452ACEE763BCE9\"/>"
          "<user name=\"b\" "
          "ha1-sha256=\"7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232\"/>"
          "</users>"),
      "t.xml", "/tmp");
  ASSERT_TRUE(r.has_value()) << r.error().front().to_string();
  const auto& s = r->config->sip.security;
  EXPECT_EQ(s.nonce_ttl, 10s);
  EXPECT_EQ(s.digest_algorithms,
            (std::vector<DigestAlgorithm>{DigestAlgorithm::sha256, DigestAlgorithm::md5}));
  EXPECT_EQ(s.requests_per_second, 50U);
  EXPECT_EQ(s.ban_time, 120s);
  EXPECT_TRUE(s.reply_503);
  EXPECT_EQ(s.auth_failures, 3U);
  EXPECT_EQ(s.user_auth_failures, 7U);
  EXPECT_EQ(s.auth_window, 30s);
  EXPECT_EQ(s.trusted_acl, "office");
  EXPECT_EQ(s.max_tracked_sources, 1000U);
  EXPECT_EQ(r->config->find_user("a")->ha1, "939e7578ed9e3c518a452acee763bce9") << "lowercased";
  EXPECT_TRUE(r->config->find_user("a")->password.empty());
  EXPECT_EQ(r->config->find_user("b")->ha1_sha256.size(), 64U);
}

TEST(SecurityConfig, BadValuesNameTheirLine) {
  auto r = load_string(doc("\n<security digest=\"SHA-1\" bogus=\"1\"/>",
                           "<users><user name=\"a\" ha1=\"abc\"/>\n<user name=\"b\"/></users>"),
                       "t.xml", "/tmp");
  ASSERT_FALSE(r.has_value());
  std::string all;
  for (const auto& e : r.error()) all += e.to_string() + "\n";
  EXPECT_THAT(all, HasSubstr("t.xml:4: error: unknown attribute \"bogus\" on <security>"));
  EXPECT_THAT(all, HasSubstr("t.xml:4: error: digest: \"SHA-1\" is not a digest algorithm"));
  EXPECT_THAT(all, HasSubstr("ha1: must be 32 hex digits, not 3"));
  EXPECT_THAT(all, HasSubstr("t.xml:6: error: <user> needs the attribute \"password\""));
}

TEST(SecurityValues, DigestAlgorithms) {
  EXPECT_EQ(*parse_digest_algorithms("md5,sha-256"),
            (std::vector<DigestAlgorithm>{DigestAlgorithm::md5, DigestAlgorithm::sha256}));
  EXPECT_FALSE(parse_digest_algorithms(""));
  EXPECT_FALSE(parse_digest_algorithms("MD5 MD5"));
  EXPECT_FALSE(parse_hex_digest("zz", 1));
}

}  // namespace
}  // namespace icegate::conf
