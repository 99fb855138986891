// RFC 4568 a=crypto parsing and formatting.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "media/srtp/sdes.hpp"

namespace icegate::media::srtp {
namespace {

// RFC 4568 §4 example key (40 base64 characters = 30 bytes key||salt).
constexpr char kKey[] = "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR";

TEST(SdesCryptoTest, ParsesTheRfcExampleWithoutMki) {
  auto c = parse_sdes_crypto(std::string("1 AES_CM_128_HMAC_SHA1_80 inline:") + kKey + "|2^20");
  ASSERT_TRUE(c) << c.error().reason;
  EXPECT_EQ(c->tag, 1u);
  EXPECT_EQ(c->key.profile(), SrtpProfile::aes_cm_128_hmac_sha1_80);
  EXPECT_EQ(c->key.key().size(), 16u);
  EXPECT_EQ(c->key.salt().size(), 14u);
  EXPECT_EQ(c->key.key()[0], 0x3d);  // 'P','S' -> 0x3d 0x2d...
  EXPECT_EQ(c->key.key()[1], 0x2d);
  ASSERT_TRUE(c->lifetime);
  EXPECT_EQ(*c->lifetime, 1u << 20);
  EXPECT_EQ(format_sdes_crypto(*c),
            std::string("1 AES_CM_128_HMAC_SHA1_80 inline:") + kKey + "|2^20");
}

TEST(SdesCryptoTest, RoundTripsEveryProfileWithParameters) {
  for (auto p : kAllProfiles) {
    auto c = make_sdes_crypto(7, p);
    ASSERT_TRUE(c);
    c->lifetime = 1000;
    c->session_params = {"WSH=128", "KDR=0"};
    const auto text = format_sdes_crypto(*c);
    auto back = parse_sdes_crypto(text);
    ASSERT_TRUE(back) << text << ": " << back.error().reason;
    EXPECT_EQ(*back, *c) << text;
  }
}

TEST(SdesCryptoTest, GcmKeyIs28BytesWithPadding) {
  auto c = make_sdes_crypto(1, SrtpProfile::aead_aes_128_gcm);
  ASSERT_TRUE(c);
  const auto text = format_sdes_crypto(*c);
  const auto inline_pos = text.find("inline:");
  ASSERT_NE(inline_pos, std::string::npos);
  const auto b64 = text.substr(inline_pos + 7);
  EXPECT_EQ(b64.size(), 40u);  // 28 bytes -> 40 characters ending in "=="
  EXPECT_EQ(b64.substr(38), "==");
  // Peers that drop the padding are accepted too.
  auto unpadded = parse_sdes_crypto("1 AEAD_AES_128_GCM inline:" + b64.substr(0, 38));
  ASSERT_TRUE(unpadded) << unpadded.error().reason;
  EXPECT_EQ(unpadded->key, c->key);
}

TEST(SdesCryptoTest, GeneratedKeysDiffer) {
  std::set<std::string> seen;
  for (int i = 0; i < 16; ++i) {
    auto c = make_sdes_crypto(1, SrtpProfile::aes_cm_128_hmac_sha1_80);
    ASSERT_TRUE(c);
    seen.insert(format_sdes_crypto(*c));
  }
  EXPECT_EQ(seen.size(), 16u);
}

TEST(SdesCryptoTest, ToleratesExtraWhitespace) {
  auto c = parse_sdes_crypto(std::string("  2\tAES_CM_128_HMAC_SHA1_32   inline:") + kKey + "  ");
  ASSERT_TRUE(c) << c.error().reason;
  EXPECT_EQ(c->tag, 2u);
  EXPECT_EQ(c->key.profile(), SrtpProfile::aes_cm_128_hmac_sha1_32);
  EXPECT_FALSE(c->lifetime);
}

struct Bad {
  std::string value;
  std::string reason_part;
  std::size_t column;
};

TEST(SdesCryptoTest, RefusesWhatItCannotHonourAndSaysWhere) {
  const std::string k = kKey;
  const std::vector<Bad> cases = {
      {"1 AES_CM_128_HMAC_SHA1_80", "expected", 25},
      {"x AES_CM_128_HMAC_SHA1_80 inline:" + k, "tag", 0},
      {"1234567890 AES_CM_128_HMAC_SHA1_80 inline:" + k, "tag", 0},
      {"1 F8_128_HMAC_SHA1_80 inline:" + k, "unsupported crypto-suite", 2},
      {"1 AES_CM_128_HMAC_SHA1_80 uri:" + k, "inline", 26},
      {"1 AES_CM_128_HMAC_SHA1_80 inline:" + k + "|2^20|1:4", "MKI", 79},
      {"1 AES_CM_128_HMAC_SHA1_80 inline:" + k + "|1:4", "MKI", 74},
      {"1 AES_CM_128_HMAC_SHA1_80 inline:" + k + ";inline:" + k, "several", 73},
      {"1 AES_CM_128_HMAC_SHA1_80 inline:" + k + "|2^99", "lifetime", 74},
      {"1 AES_CM_128_HMAC_SHA1_80 inline:" + k.substr(0, 36), "needs 30 bytes", 33},
      {"1 AES_CM_128_HMAC_SHA1_80 inline:" + k.substr(0, 38) + "!!", "base64", 33},
      {"1 AES_CM_128_HMAC_SHA1_80 inline:" + k + " UNENCRYPTED_SRTP", "not supported", 74},
      {"1 AES_CM_128_HMAC_SHA1_80 inline:" + k + " KDR=24", "derivation rate", 74},
      {"1 AES_CM_128_HMAC_SHA1_80 inline:" + k + " FOO=1", "unknown session parameter", 74},
      {"1 AEAD_AES_128_GCM inline:" + k, "needs 28 bytes", 26},
  };
  for (const auto& c : cases) {
    auto r = parse_sdes_crypto(c.value);
    ASSERT_FALSE(r) << c.value;
    EXPECT_NE(r.error().reason.find(c.reason_part), std::string::npos)
        << c.value << " -> " << r.error().reason;
    EXPECT_EQ(r.error().column, c.column) << c.value << " -> " << r.error().reason;
  }
}

TEST(Base64Test, MatchesRfc4648Vectors) {
  const std::pair<std::string, std::string> v[] = {{"", ""},
                                                   {"f", "Zg=="},
                                                   {"fo", "Zm8="},
                                                   {"foo", "Zm9v"},
                                                   {"foob", "Zm9vYg=="},
                                                   {"fooba", "Zm9vYmE="},
                                                   {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, enc] : v) {
    const std::vector<std::uint8_t> bytes(plain.begin(), plain.end());
    EXPECT_EQ(base64_encode(bytes), enc);
    auto dec = base64_decode(enc);
    ASSERT_TRUE(dec) << enc;
    EXPECT_EQ(std::string(dec->begin(), dec->end()), plain);
  }
  EXPECT_FALSE(base64_decode("Zm9v!"));
  EXPECT_FALSE(base64_decode("Z"));
  EXPECT_FALSE(base64_decode("Zg="));  // padding that does not complete a quantum
  EXPECT_FALSE(base64_decode("Zg==="));
}

}  // namespace
}  // namespace icegate::media::srtp
