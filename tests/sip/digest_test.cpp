// Digest authentication (sip/digest.hpp): responses, nonces bound to the source address and
// expiring, nonce-count replay, one-time INVITE nonces, uri = Request-URI, SHA-256 (RFC 8760),
// stored HA1 hashes instead of passwords.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sip/digest.hpp"
#include "tests/sip/digest_client.hpp"

namespace icegate::sip {
namespace {

using test::client_params;
using Result = DigestAuth::Result;

const acl::Address kPhone = *acl::Address::parse("192.0.2.10");
const acl::Address kOther = *acl::Address::parse("198.51.100.66");

struct Users {
  std::vector<conf::User> list;
  Users() {
    conf::User a;
    a.name = "1001";
    a.password = "1001secret";
    conf::User b;  // hashes only (what `icegate passwd` prints)
    b.name = "1002";
    b.ha1 = digest_ha1(conf::DigestAlgorithm::md5, "1002", "icegate", "1002secret");
    b.ha1_sha256 = digest_ha1(conf::DigestAlgorithm::sha256, "1002", "icegate", "1002secret");
    list = {a, b};
  }
  DigestAuth::UserLookup lookup() const {
    return [this](std::string_view n) -> const conf::User* {
      for (const auto& u : list) {
        if (u.name == n) return &u;
      }
      return nullptr;
    };
  }
};

struct Check {
  std::string method = "REGISTER";
  std::string request_uri = "sip:icegate";
  acl::Address source = kPhone;
};

Result check(DigestAuth& auth, const std::vector<std::string>& params,
             DigestAuth::Clock::time_point now, const Check& c = {}) {
  static const Users users;
  std::vector<const char*> p;
  for (const auto& s : params) p.push_back(s.c_str());
  p.push_back(nullptr);
  return auth.verify(DigestRequest{p.data(), c.method, c.request_uri, c.source}, users.lookup(),
                     now);
}

std::string nonce_of(const std::string& challenge) {
  const auto b = challenge.find("nonce=\"") + 7;
  return challenge.substr(b, challenge.find('"', b) - b);
}

TEST(DigestAuth, AcceptsCorrectResponseAndRejectsWrongPassword) {
  DigestAuth auth("icegate");
  const auto now = DigestAuth::Clock::now();
  const std::string nonce = auth.make_nonce(now, kPhone);
  EXPECT_EQ(
      check(auth, client_params("1001", "icegate", "wrong", nonce, "REGISTER", "sip:icegate"), now),
      Result::wrong_response);
  EXPECT_EQ(
      check(auth, client_params("1001", "icegate", "1001secret", nonce, "REGISTER", "sip:icegate"),
            now),
      Result::ok);
  // The response covers the method: a REGISTER response replayed on an INVITE fails.
  EXPECT_EQ(check(auth,
                  client_params("1001", "icegate", "1001secret", auth.make_nonce(now, kPhone),
                                "REGISTER", "sip:icegate"),
                  now, {"INVITE", "sip:icegate", kPhone}),
            Result::wrong_response);
}

TEST(DigestAuth, RejectsUnknownUserForeignNonceStaleNonceWrongRealm) {
  DigestAuth auth("icegate");
  const auto now = DigestAuth::Clock::now();
  const std::string nonce = auth.make_nonce(now, kPhone);
  EXPECT_EQ(
      check(auth, client_params("9999", "icegate", "x", nonce, "REGISTER", "sip:icegate"), now),
      Result::unknown_user);
  DigestAuth other("icegate");  // another process: another secret
  EXPECT_EQ(check(auth,
                  client_params("1001", "icegate", "1001secret", other.make_nonce(now, kPhone),
                                "REGISTER", "sip:icegate"),
                  now),
            Result::invalid_nonce);
  EXPECT_EQ(
      check(auth,
            client_params("1001", "icegate", "1001secret", "garbage", "REGISTER", "sip:icegate"),
            now),
      Result::invalid_nonce);
  EXPECT_EQ(
      check(auth, client_params("1001", "icegate", "1001secret", nonce, "REGISTER", "sip:icegate"),
            now + std::chrono::seconds(31)),
      Result::expired_nonce)
      << "the default nonce lifetime is 30 s";
  EXPECT_EQ(
      check(auth,
            client_params("1001", "elsewhere", "1001secret", nonce, "REGISTER", "sip:icegate"),
            now),
      Result::wrong_realm);
  EXPECT_EQ(check(auth, {"username=\"1001\""}, now), Result::malformed);
}

TEST(DigestAuth, NonceIsBoundToTheSourceAddress) {
  DigestAuth auth("icegate");
  const auto now = DigestAuth::Clock::now();
  const auto params = client_params("1001", "icegate", "1001secret", auth.make_nonce(now, kPhone),
                                    "REGISTER", "sip:icegate");
  // The captured credentials, sent from another address: the response is right, the nonce not.
  EXPECT_EQ(check(auth, params, now, {"REGISTER", "sip:icegate", kOther}), Result::invalid_nonce);
  EXPECT_TRUE(DigestAuth::stale(Result::invalid_nonce));
  EXPECT_EQ(check(auth, params, now), Result::ok);
}

TEST(DigestAuth, NonceCountMustGrow) {
  DigestAuth auth("icegate");
  const auto now = DigestAuth::Clock::now();
  const std::string nonce = auth.make_nonce(now, kPhone);
  const auto with_nc = [&](const char* nc) {
    return client_params("1001", "icegate", "1001secret", nonce, "REGISTER", "sip:icegate", nc);
  };
  EXPECT_EQ(check(auth, with_nc("00000001"), now), Result::ok);
  EXPECT_EQ(check(auth, with_nc("00000001"), now), Result::replayed) << "the same nc again";
  EXPECT_EQ(check(auth, with_nc("00000003"), now), Result::ok) << "a refresh with a higher nc";
  EXPECT_EQ(check(auth, with_nc("00000002"), now), Result::replayed) << "a lower nc";
  EXPECT_EQ(check(auth, with_nc("0000000g"), now), Result::malformed);
  EXPECT_EQ(auth.nonces_tracked(), 1U);
  // The state goes with the nonce's lifetime: a later check forgets it.
  EXPECT_EQ(check(auth,
                  client_params("1001", "icegate", "1001secret",
                                auth.make_nonce(now + std::chrono::seconds(40), kPhone), "REGISTER",
                                "sip:icegate"),
                  now + std::chrono::seconds(40)),
            Result::ok);
  EXPECT_EQ(auth.nonces_tracked(), 1U);
}

TEST(DigestAuth, ReplayIsRefusedUntilTheNonceExpires) {
  DigestAuth auth("icegate");
  const DigestAuth::Clock::time_point t0(std::chrono::seconds(1800000000));
  const auto params = client_params("1001", "icegate", "1001secret", auth.make_nonce(t0, kPhone),
                                    "REGISTER", "sip:icegate");
  EXPECT_EQ(check(auth, params, t0), Result::ok);
  // Every moment of the nonce's life the replay is refused as a replay; after it, as stale.
  for (const auto ms : {1000, 29000, 30000, 30500, 30999}) {
    EXPECT_EQ(check(auth, params, t0 + std::chrono::milliseconds(ms)), Result::replayed) << ms;
  }
  EXPECT_EQ(check(auth, params, t0 + std::chrono::milliseconds(31000)), Result::expired_nonce);
}

TEST(DigestAuth, WithoutQopANonceIsGoodOnce) {
  DigestAuth auth("icegate");
  const auto now = DigestAuth::Clock::now();
  const auto params = client_params("1001", "icegate", "1001secret", auth.make_nonce(now, kPhone),
                                    "REGISTER", "sip:icegate", nullptr);
  EXPECT_EQ(check(auth, params, now), Result::ok);
  EXPECT_EQ(check(auth, params, now), Result::replayed);
}

TEST(DigestAuth, AnInviteNonceIsGoodForOneInvite) {
  DigestAuth auth("icegate");
  const auto now = DigestAuth::Clock::now();
  const std::string nonce = auth.make_nonce(now, kPhone);
  const Check invite{"INVITE", "sip:5555@icegate", kPhone};
  EXPECT_EQ(check(auth,
                  client_params("1001", "icegate", "1001secret", nonce, "INVITE",
                                "sip:5555@icegate", "00000001"),
                  now, invite),
            Result::ok);
  EXPECT_EQ(check(auth,
                  client_params("1001", "icegate", "1001secret", nonce, "INVITE",
                                "sip:5555@icegate", "00000002"),
                  now, invite),
            Result::replayed)
      << "a second INVITE on the same nonce, even with a higher nc";
}

TEST(DigestAuth, DigestUriMustBeTheRequestUri) {
  DigestAuth auth("icegate");
  const auto now = DigestAuth::Clock::now();
  const auto params = client_params("1001", "icegate", "1001secret", auth.make_nonce(now, kPhone),
                                    "INVITE", "sip:5555@icegate");
  EXPECT_EQ(check(auth, params, now, {"INVITE", "sip:6666@icegate", kPhone}), Result::uri_mismatch);
  EXPECT_TRUE(DigestAuth::failure(Result::uri_mismatch));
  EXPECT_EQ(check(auth, params, now, {"INVITE", "sip:5555@icegate.example", kPhone}),
            Result::uri_mismatch);
  // Compared as SIP URIs: the host's case does not matter (RFC 3261 §19.1.4).
  EXPECT_EQ(check(auth, params, now, {"INVITE", "sip:5555@ICEGATE", kPhone}), Result::ok);
}

TEST(DigestAuth, HostOnlyDigestUriUnlessStrict) {
  // sipp's credentials name the server (sip:host:port), not the number called.
  const auto now = DigestAuth::Clock::now();
  DigestAuth lenient("icegate");
  const Check invite{"INVITE", "sip:5555@10.0.0.1:5060", kPhone};
  EXPECT_EQ(check(lenient,
                  client_params("1001", "icegate", "1001secret", lenient.make_nonce(now, kPhone),
                                "INVITE", "sip:10.0.0.1:5060"),
                  now, invite),
            Result::ok);
  EXPECT_EQ(check(lenient,
                  client_params("1001", "icegate", "1001secret", lenient.make_nonce(now, kPhone),
                                "INVITE", "sip:10.0.0.2:5060"),
                  now, invite),
            Result::uri_mismatch)
      << "another host";
  DigestSettings s;
  s.strict_uri = true;
  DigestAuth strict("icegate", s);
  EXPECT_EQ(check(strict,
                  client_params("1001", "icegate", "1001secret", strict.make_nonce(now, kPhone),
                                "INVITE", "sip:10.0.0.1:5060"),
                  now, invite),
            Result::uri_mismatch);
}

TEST(DigestAuth, Sha256AndStoredHashes) {
  DigestAuth::Settings s;
  s.algorithms = {conf::DigestAlgorithm::sha256, conf::DigestAlgorithm::md5};
  DigestAuth auth("icegate", s);
  const auto now = DigestAuth::Clock::now();
  const auto c = auth.challenges(now, kPhone, false);
  ASSERT_EQ(c.size(), 2U);
  EXPECT_NE(c[0].find("algorithm=SHA-256"), std::string::npos) << c[0];
  EXPECT_NE(c[1].find("algorithm=MD5"), std::string::npos) << c[1];
  EXPECT_NE(nonce_of(c[0]), nonce_of(c[1])) << "each challenge its own nonce";
  // RFC 8760 / RFC 7616 §3.4.1 with SHA-256, password from the XML and from ha1-sha256.
  EXPECT_EQ(check(auth,
                  test::client_params("1001", "icegate", "1001secret", nonce_of(c[0]), "REGISTER",
                                      "sip:icegate", "00000001", "SHA-256"),
                  now),
            Result::ok);
  EXPECT_EQ(check(auth,
                  test::client_params("1002", "icegate", "1002secret", nonce_of(c[0]), "REGISTER",
                                      "sip:icegate", "00000002", "SHA-256"),
                  now),
            Result::ok);
  EXPECT_EQ(check(auth,
                  test::client_params("1002", "icegate", "1002secret", nonce_of(c[1]), "REGISTER",
                                      "sip:icegate"),
                  now),
            Result::ok)
      << "MD5 from the stored ha1";
  EXPECT_EQ(check(auth,
                  test::client_params("1002", "icegate", "wrong", nonce_of(c[1]), "REGISTER",
                                      "sip:icegate", "00000002"),
                  now),
            Result::wrong_response);
}

TEST(DigestAuth, Ha1IsTheRfcValue) {
  // RFC 2617 §3.5's example: Mufasa / testrealm@host.com / Circle Of Life.
  EXPECT_EQ(
      digest_ha1(conf::DigestAlgorithm::md5, "Mufasa", "testrealm@host.com", "Circle Of Life"),
      "939e7578ed9e3c518a452acee763bce9");
  // RFC 7616 §3.9.1: Mufasa / http-auth@example.org / Circle of Life, SHA-256.
  EXPECT_EQ(digest_ha1(conf::DigestAlgorithm::sha256, "Mufasa", "http-auth@example.org",
                       "Circle of Life"),
            "7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232");
}

TEST(DigestAuth, ChallengeNamesRealmNonceQopAndStale) {
  DigestAuth auth("sip.example.com");
  const auto c = auth.challenges(DigestAuth::Clock::now(), kPhone, true);
  ASSERT_EQ(c.size(), 1U) << "MD5 only by default";
  EXPECT_NE(c[0].find("Digest realm=\"sip.example.com\""), std::string::npos);
  EXPECT_NE(c[0].find("nonce=\""), std::string::npos);
  EXPECT_NE(c[0].find("qop=\"auth\""), std::string::npos);
  EXPECT_NE(c[0].find("stale=true"), std::string::npos);
}

}  // namespace
}  // namespace icegate::sip
