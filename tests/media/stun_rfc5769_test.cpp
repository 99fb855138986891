// RFC 5769 test vectors (typed in from the RFC, §2.1-2.4) and RFC 8489 Appendix B.1: every vector
// is parsed, its integrity and fingerprint verified, its fields read back, and — where the RFC's
// choices (attribute order, padding bytes) can be expressed — rebuilt byte for byte.
#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <vector>

#include "media/stun/attributes.hpp"
#include "media/stun/builder.hpp"
#include "media/stun/integrity.hpp"
#include "media/stun/message.hpp"

namespace icegate::media::stun {
namespace {

std::vector<std::byte> bytes(std::initializer_list<unsigned> v) {
  std::vector<std::byte> out;
  for (auto b : v) out.push_back(static_cast<std::byte>(b));
  return out;
}

// RFC 5769 §2.1 Sample Request. Username "evtj:h6vY", password "VOkJxbRl1RmTxUk/WvJxBt",
// SOFTWARE "STUN test client"; padding bytes are spaces.
const std::vector<std::byte> kRequest = bytes({
    0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10, 0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73,
    0x74, 0x20, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
    0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36, 0x00, 0x06, 0x00, 0x09,
    0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76, 0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14,
    0x9a, 0xea, 0xa7, 0x0c, 0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
    0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf,
});

// RFC 5769 §2.2 Sample IPv4 Response: SOFTWARE "test vector", mapped 192.0.2.1:32853.
const std::vector<std::byte> kIpv4Response = bytes({
    0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
    0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
    0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3, 0x8c, 0x74, 0x89, 0xf9,
    0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7, 0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96,
});

// RFC 5769 §2.3 Sample IPv6 Response: mapped [2001:db8:1234:5678:11:2233:4455:6677]:32853.
const std::vector<std::byte> kIpv6Response = bytes({
    0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
    0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa,
    0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9, 0x00, 0x08, 0x00, 0x14,
    0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1, 0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75,
    0xbf, 0xe3, 0xed, 0x41, 0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c,
});

// RFC 5769 §2.4 Sample Request with Long-Term Authentication. Username is U+30DE U+30C8
// U+30EA U+30C3 U+30AF U+30B9 in UTF-8, password "TheMatrIX" after SASLprep, nonce
// "f//499k954d6OL34oL9FSTvy64sA", realm "example.org". No FINGERPRINT.
const std::vector<std::byte> kLongTermRequest = bytes({
    0x00, 0x01, 0x00, 0x60, 0x21, 0x12, 0xa4, 0x42, 0x78, 0xad, 0x34, 0x33, 0xc6, 0xad, 0x72,
    0xc0, 0x29, 0xda, 0x41, 0x2e, 0x00, 0x06, 0x00, 0x12, 0xe3, 0x83, 0x9e, 0xe3, 0x83, 0x88,
    0xe3, 0x83, 0xaa, 0xe3, 0x83, 0x83, 0xe3, 0x82, 0xaf, 0xe3, 0x82, 0xb9, 0x00, 0x00, 0x00,
    0x15, 0x00, 0x1c, 0x66, 0x2f, 0x2f, 0x34, 0x39, 0x39, 0x6b, 0x39, 0x35, 0x34, 0x64, 0x36,
    0x4f, 0x4c, 0x33, 0x34, 0x6f, 0x4c, 0x39, 0x46, 0x53, 0x54, 0x76, 0x79, 0x36, 0x34, 0x73,
    0x41, 0x00, 0x14, 0x00, 0x0b, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x6f, 0x72,
    0x67, 0x00, 0x00, 0x08, 0x00, 0x14, 0xf6, 0x70, 0x24, 0x65, 0x6d, 0xd6, 0x4a, 0x3e, 0x02,
    0xb8, 0xe0, 0x71, 0x2e, 0x85, 0xc9, 0xa2, 0x8c, 0xa8, 0x96, 0x66,
});

// RFC 8489 Appendix B.1: long-term authentication with USERHASH, PASSWORD-ALGORITHM SHA-256
// and MESSAGE-INTEGRITY-SHA256. Same user, password and realm as §2.4 of RFC 5769, nonce
// "obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA".
const std::vector<std::byte> kSha256Request = bytes({
    0x00, 0x01, 0x00, 0x90, 0x21, 0x12, 0xa4, 0x42, 0x78, 0xad, 0x34, 0x33, 0xc6, 0xad, 0x72,
    0xc0, 0x29, 0xda, 0x41, 0x2e, 0x00, 0x1e, 0x00, 0x20, 0x4a, 0x3c, 0xf3, 0x8f, 0xef, 0x69,
    0x92, 0xbd, 0xa9, 0x52, 0xc6, 0x78, 0x04, 0x17, 0xda, 0x0f, 0x24, 0x81, 0x94, 0x15, 0x56,
    0x9e, 0x60, 0xb2, 0x05, 0xc4, 0x6e, 0x41, 0x40, 0x7f, 0x17, 0x04, 0x00, 0x15, 0x00, 0x29,
    0x6f, 0x62, 0x4d, 0x61, 0x74, 0x4a, 0x6f, 0x73, 0x32, 0x41, 0x41, 0x41, 0x43, 0x66, 0x2f,
    0x2f, 0x34, 0x39, 0x39, 0x6b, 0x39, 0x35, 0x34, 0x64, 0x36, 0x4f, 0x4c, 0x33, 0x34, 0x6f,
    0x4c, 0x39, 0x46, 0x53, 0x54, 0x76, 0x79, 0x36, 0x34, 0x73, 0x41, 0x00, 0x00, 0x00, 0x00,
    0x14, 0x00, 0x0b, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x6f, 0x72, 0x67, 0x00,
    0x00, 0x1d, 0x00, 0x04, 0x00, 0x02, 0x00, 0x00, 0x00, 0x1c, 0x00, 0x20, 0xb5, 0xc7, 0xbf,
    0x00, 0x5b, 0x6c, 0x52, 0xa2, 0x1c, 0x51, 0xc5, 0xe8, 0x92, 0xf8, 0x19, 0x24, 0x13, 0x62,
    0x96, 0xcb, 0x92, 0x7c, 0x43, 0x14, 0x93, 0x09, 0x27, 0x8c, 0xc6, 0x51, 0x8e, 0x65,
});

constexpr std::string_view kPassword = "VOkJxbRl1RmTxUk/WvJxBt";
const TransactionId kTid = [] {
  TransactionId t{};
  const auto b = bytes({0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae});
  std::copy(b.begin(), b.end(), t.begin());
  return t;
}();
const std::string kLongTermUser =
    "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf\xe3\x82\xb9";

std::string text_of(const Message& m, std::uint16_t type) {
  const Attribute* a = m.find(type);
  if (a == nullptr) return "<absent>";
  auto t = read_text(m, *a);
  return t ? *t : "<bad>";
}

TEST(StunRfc5769, SampleRequestParsesAndVerifies) {
  auto m = parse(kRequest);
  ASSERT_TRUE(m) << m.error().reason;
  EXPECT_EQ(m->type, (MessageType{method::binding, MessageClass::request}));
  EXPECT_EQ(m->transaction_id, kTid);
  ASSERT_EQ(m->attributes.size(), 6u);
  EXPECT_EQ(text_of(*m, attr::software), "STUN test client");
  EXPECT_EQ(text_of(*m, attr::username), "evtj:h6vY");
  EXPECT_EQ(*read_u32(*m, *m->find(attr::priority)), 0x6e0001ffu);
  EXPECT_EQ(*read_u64(*m, *m->find(attr::ice_controlled)), 0x932ff9b151263b36u);
  EXPECT_EQ(verify_message_integrity(*m, short_term_key(kPassword)), Check::ok);
  EXPECT_EQ(verify_fingerprint(*m), Check::ok);
  EXPECT_EQ(verify_message_integrity(*m, short_term_key("VOkJxbRl1RmTxUk/WvJxBT")),
            Check::mismatch);
}

TEST(StunRfc5769, SampleRequestIsRebuiltByteForByte) {
  MessageBuilder b({method::binding, MessageClass::request}, kTid);
  b.padding(std::byte{0x20});
  b.add_text(attr::software, "STUN test client")
      .add_u32(attr::priority, 0x6e0001ff)
      .add_u64(attr::ice_controlled, 0x932ff9b151263b36)
      .add_text(attr::username, "evtj:h6vY")
      .add_message_integrity(short_term_key(kPassword))
      .add_fingerprint();
  EXPECT_EQ(b.bytes(), kRequest);
}

TEST(StunRfc5769, SampleIpv4ResponseParsesAndVerifies) {
  auto m = parse(kIpv4Response);
  ASSERT_TRUE(m) << m.error().reason;
  EXPECT_EQ(m->type, (MessageType{method::binding, MessageClass::success}));
  EXPECT_EQ(text_of(*m, attr::software), "test vector");
  auto mapped = read_address(*m, *m->find(attr::xor_mapped_address));
  ASSERT_TRUE(mapped);
  EXPECT_EQ(mapped->to_string(), "192.0.2.1:32853");
  EXPECT_EQ(verify_message_integrity(*m, short_term_key(kPassword)), Check::ok);
  EXPECT_EQ(verify_fingerprint(*m), Check::ok);
}

TEST(StunRfc5769, SampleIpv4ResponseIsRebuiltByteForByte) {
  MessageBuilder b({method::binding, MessageClass::success}, kTid);
  b.padding(std::byte{0x20});
  b.add_text(attr::software, "test vector")
      .add_address(attr::xor_mapped_address, Endpoint{*acl::Address::parse("192.0.2.1"), 32853})
      .add_message_integrity(short_term_key(kPassword))
      .add_fingerprint();
  EXPECT_EQ(b.bytes(), kIpv4Response);
}

TEST(StunRfc5769, SampleIpv6ResponseParsesAndVerifies) {
  auto m = parse(kIpv6Response);
  ASSERT_TRUE(m) << m.error().reason;
  auto mapped = read_address(*m, *m->find(attr::xor_mapped_address));
  ASSERT_TRUE(mapped);
  EXPECT_EQ(mapped->to_string(), "[2001:db8:1234:5678:11:2233:4455:6677]:32853");
  EXPECT_EQ(verify_message_integrity(*m, short_term_key(kPassword)), Check::ok);
  EXPECT_EQ(verify_fingerprint(*m), Check::ok);
}

TEST(StunRfc5769, SampleIpv6ResponseIsRebuiltByteForByte) {
  MessageBuilder b({method::binding, MessageClass::success}, kTid);
  b.padding(std::byte{0x20});
  b.add_text(attr::software, "test vector")
      .add_address(attr::xor_mapped_address,
                   Endpoint{*acl::Address::parse("2001:db8:1234:5678:11:2233:4455:6677"), 32853})
      .add_message_integrity(short_term_key(kPassword))
      .add_fingerprint();
  EXPECT_EQ(b.bytes(), kIpv6Response);
}

TEST(StunRfc5769, LongTermRequestParsesAndVerifies) {
  auto m = parse(kLongTermRequest);
  ASSERT_TRUE(m) << m.error().reason;
  EXPECT_EQ(text_of(*m, attr::username), kLongTermUser);
  EXPECT_EQ(text_of(*m, attr::nonce), "f//499k954d6OL34oL9FSTvy64sA");
  EXPECT_EQ(text_of(*m, attr::realm), "example.org");
  EXPECT_FALSE(m->has(attr::fingerprint));
  EXPECT_EQ(verify_fingerprint(*m), Check::absent);
  const auto key = long_term_key(kLongTermUser, "example.org", "TheMatrIX");
  EXPECT_EQ(verify_message_integrity(*m, key), Check::ok);
  // The key is MD5 over the SASLprep'ed password; the raw one must not verify.
  const auto wrong = long_term_key(kLongTermUser, "example.org",
                                   "The\xc2\xad"
                                   "M\xc2\xaatr\xe2\x85\xa8");
  EXPECT_EQ(verify_message_integrity(*m, wrong), Check::mismatch);
}

TEST(StunRfc5769, LongTermRequestIsRebuiltByteForByte) {
  TransactionId tid{};
  const auto t = bytes({0x78, 0xad, 0x34, 0x33, 0xc6, 0xad, 0x72, 0xc0, 0x29, 0xda, 0x41, 0x2e});
  std::copy(t.begin(), t.end(), tid.begin());
  MessageBuilder b({method::binding, MessageClass::request}, tid);
  b.add_text(attr::username, kLongTermUser)
      .add_text(attr::nonce, "f//499k954d6OL34oL9FSTvy64sA")
      .add_text(attr::realm, "example.org")
      .add_message_integrity(long_term_key(kLongTermUser, "example.org", "TheMatrIX"));
  EXPECT_EQ(b.bytes(), kLongTermRequest);
}

TEST(StunRfc8489, SampleSha256RequestVerifies) {
  auto m = parse(kSha256Request);
  ASSERT_TRUE(m) << m.error().reason;
  EXPECT_EQ(text_of(*m, attr::nonce), "obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA");
  EXPECT_EQ(text_of(*m, attr::realm), "example.org");
  const auto key = long_term_key_sha256(kLongTermUser, "example.org", "TheMatrIX");
  EXPECT_EQ(verify_message_integrity_sha256(*m, key), Check::ok);
  EXPECT_EQ(verify_message_integrity(*m, key), Check::absent);
  // Keyed with the MD5 long-term key instead, it must fail.
  EXPECT_EQ(
      verify_message_integrity_sha256(*m, long_term_key(kLongTermUser, "example.org", "TheMatrIX")),
      Check::mismatch);
}

TEST(StunRfc8489, SampleSha256RequestIsRebuiltByteForByte) {
  auto m = parse(kSha256Request);
  ASSERT_TRUE(m);
  MessageBuilder b(m->type, m->transaction_id);
  for (const auto& a : m->attributes) {
    if (a.type != attr::message_integrity_sha256) b.add(a.type, a.value);
  }
  b.add_message_integrity_sha256(long_term_key_sha256(kLongTermUser, "example.org", "TheMatrIX"));
  EXPECT_EQ(b.bytes(), kSha256Request);
}

TEST(StunRfc5769, EveryVectorRoundTripsThroughEncode) {
  for (const auto* v :
       {&kRequest, &kIpv4Response, &kIpv6Response, &kLongTermRequest, &kSha256Request}) {
    auto m = parse(*v);
    ASSERT_TRUE(m);
    // RFC 5769 §2.1-2.3 pad with spaces; §2.4 and RFC 8489 B.1 pad with zeros.
    const bool zero_pad = v == &kLongTermRequest || v == &kSha256Request;
    const std::byte pad = zero_pad ? std::byte{0} : std::byte{0x20};
    EXPECT_EQ(encode(*m, pad), *v);
  }
}

TEST(StunRfc5769, AnyFlippedBitBreaksIntegrityOrFingerprint) {
  // Every byte, padding included, is covered by MESSAGE-INTEGRITY or FINGERPRINT;
  // flipping one must never leave both verifying.
  for (std::size_t i = 0; i < kRequest.size(); ++i) {
    auto copy = kRequest;
    copy[i] ^= std::byte{0x01};
    auto m = parse(copy);
    if (!m) continue;  // structure broke: also a rejection
    const bool both_ok = verify_message_integrity(*m, short_term_key(kPassword)) == Check::ok &&
                         verify_fingerprint(*m) == Check::ok;
    EXPECT_FALSE(both_ok) << "byte " << i;
  }
}

}  // namespace
}  // namespace icegate::media::stun
