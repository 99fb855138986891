#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sip/digest.hpp"
#include "tests/sip/digest_client.hpp"

namespace icegate::sip {
namespace {

using test::client_params;

DigestAuth::Result check(const DigestAuth& auth, const std::vector<std::string>& params,
                         DigestAuth::Clock::time_point now, const std::string& method = "REGISTER") {
  std::vector<const char*> p;
  for (const auto& s : params) p.push_back(s.c_str());
  p.push_back(nullptr);
  return auth.verify(
      p.data(), method,
      [](std::string_view u) -> std::optional<std::string> {
        if (u == "1001") return std::string("1001secret");
        return std::nullopt;
      },
      now);
}

TEST(DigestAuth, AcceptsCorrectResponseAndRejectsWrongPassword) {
  DigestAuth auth("icegate");
  const auto now = DigestAuth::Clock::now();
  const std::string nonce = auth.make_nonce(now);
  EXPECT_EQ(check(auth, client_params("1001", "icegate", "1001secret", nonce, "REGISTER",
                                      "sip:icegate"), now),
            DigestAuth::Result::ok);
  EXPECT_EQ(check(auth, client_params("1001", "icegate", "wrong", nonce, "REGISTER", "sip:icegate"),
                  now),
            DigestAuth::Result::wrong_response);
  // The response covers the method: a REGISTER response replayed on an INVITE fails.
  EXPECT_EQ(check(auth, client_params("1001", "icegate", "1001secret", nonce, "REGISTER",
                                      "sip:icegate"), now, "INVITE"),
            DigestAuth::Result::wrong_response);
}

TEST(DigestAuth, RejectsUnknownUserForeignNonceStaleNonceWrongRealm) {
  DigestAuth auth("icegate");
  const auto now = DigestAuth::Clock::now();
  const std::string nonce = auth.make_nonce(now);
  EXPECT_EQ(check(auth, client_params("9999", "icegate", "x", nonce, "REGISTER", "sip:i"), now),
            DigestAuth::Result::unknown_user);
  DigestAuth other("icegate");  // another process: another secret
  EXPECT_EQ(check(auth, client_params("1001", "icegate", "1001secret", other.make_nonce(now),
                                      "REGISTER", "sip:i"), now),
            DigestAuth::Result::bad_nonce);
  EXPECT_EQ(check(auth, client_params("1001", "icegate", "1001secret", "garbage", "REGISTER",
                                      "sip:i"), now),
            DigestAuth::Result::bad_nonce);
  EXPECT_EQ(check(auth, client_params("1001", "icegate", "1001secret", nonce, "REGISTER", "sip:i"),
                  now + std::chrono::seconds(301)),
            DigestAuth::Result::stale_nonce);
  EXPECT_EQ(check(auth, client_params("1001", "elsewhere", "1001secret", nonce, "REGISTER",
                                      "sip:i"), now),
            DigestAuth::Result::wrong_realm);
  EXPECT_EQ(check(auth, {"username=\"1001\""}, now), DigestAuth::Result::malformed);
}

TEST(DigestAuth, ChallengeNamesRealmNonceAndQop) {
  DigestAuth auth("sip.example.com");
  const auto c = auth.challenge(DigestAuth::Clock::now(), true);
  EXPECT_NE(c.find("Digest realm=\"sip.example.com\""), std::string::npos);
  EXPECT_NE(c.find("nonce=\""), std::string::npos);
  EXPECT_NE(c.find("qop=\"auth\""), std::string::npos);
  EXPECT_NE(c.find("stale=true"), std::string::npos);
}

}  // namespace
}  // namespace icegate::sip
