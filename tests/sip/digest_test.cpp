#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <string>
#include <vector>

#include "sip/digest.hpp"

namespace icegate::sip {
namespace {

std::string md5_hex(const std::string& s) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(s.data(), s.size(), out, &len, EVP_md5(), nullptr);
  static const char* d = "0123456789abcdef";
  std::string h;
  for (unsigned i = 0; i < len; ++i) h += {d[out[i] >> 4], d[out[i] & 15]};
  return h;
}

// The client side, computed independently of Sofia (RFC 2617 §3.2.2, qop=auth).
std::vector<std::string> client_params(const std::string& user, const std::string& realm,
                                       const std::string& password, const std::string& nonce,
                                       const std::string& method, const std::string& uri) {
  const std::string cnonce = "0a4f113b", nc = "00000001";
  const std::string ha1 = md5_hex(user + ":" + realm + ":" + password);
  const std::string ha2 = md5_hex(method + ":" + uri);
  const std::string response = md5_hex(ha1 + ":" + nonce + ":" + nc + ":" + cnonce + ":auth:" + ha2);
  return {"username=\"" + user + "\"", "realm=\"" + realm + "\"", "nonce=\"" + nonce + "\"",
          "uri=\"" + uri + "\"",        "response=\"" + response + "\"", "algorithm=MD5",
          "cnonce=\"" + cnonce + "\"", "qop=auth",                    "nc=" + nc};
}

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
