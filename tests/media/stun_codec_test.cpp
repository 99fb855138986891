// STUN codec: header and attribute framing errors (with offsets), typed attribute round
// trips, integrity rules, and the primitives (CRC-32, HMAC, message type bits).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "media/stun/attributes.hpp"
#include "media/stun/builder.hpp"
#include "media/stun/integrity.hpp"
#include "media/stun/message.hpp"
#include "media/stun/wire.hpp"

namespace icegate::media::stun {
namespace {

TransactionId tid(unsigned seed) {
  TransactionId t{};
  for (std::size_t i = 0; i < t.size(); ++i) t[i] = static_cast<std::byte>(seed * 31 + unsigned(i));
  return t;
}

Endpoint ep(const char* addr, std::uint16_t port) {
  return {*acl::Address::parse(addr), port};
}

std::vector<std::byte> simple_request() {
  MessageBuilder b({method::binding, MessageClass::request}, tid(1));
  b.add_text(attr::username, "abcd:efgh");
  return std::move(b).finish();
}

ParseError parse_error(const std::vector<std::byte>& in) {
  auto m = parse(in);
  EXPECT_FALSE(m) << "expected a parse error";
  return m ? ParseError{} : m.error();
}

TEST(StunMessageType, ClassAndMethodBitsInterleave) {
  // RFC 5389 §6 figure 3 examples and the TURN methods.
  EXPECT_EQ((MessageType{method::binding, MessageClass::request}).encode(), 0x0001);
  EXPECT_EQ((MessageType{method::binding, MessageClass::indication}).encode(), 0x0011);
  EXPECT_EQ((MessageType{method::binding, MessageClass::success}).encode(), 0x0101);
  EXPECT_EQ((MessageType{method::binding, MessageClass::error}).encode(), 0x0111);
  EXPECT_EQ((MessageType{method::allocate, MessageClass::error}).encode(), 0x0113);
  EXPECT_EQ((MessageType{method::send, MessageClass::indication}).encode(), 0x0016);
  for (std::uint16_t m = 0; m < 0x1000; m += 7) {
    for (auto c : {MessageClass::request, MessageClass::indication, MessageClass::success,
                   MessageClass::error}) {
      const MessageType t{m, c};
      EXPECT_EQ(MessageType::decode(t.encode()), t);
      EXPECT_EQ(t.encode() & 0xC000, 0);
    }
  }
}

TEST(StunParse, RejectsBadHeadersWithOffsets) {
  const auto good = simple_request();
  ASSERT_TRUE(parse(good));

  EXPECT_EQ(parse_error(std::vector<std::byte>(good.begin(), good.begin() + 19)).offset, 0u);

  auto top_bits = good;
  top_bits[0] = std::byte{0x40};  // RTP-looking first byte
  EXPECT_EQ(parse_error(top_bits).offset, 0u);

  auto cookie = good;
  cookie[5] = std::byte{0x13};
  const auto ce = parse_error(cookie);
  EXPECT_EQ(ce.offset, 4u);
  EXPECT_NE(ce.reason.find("cookie"), std::string::npos);

  auto odd_len = good;
  odd_len[3] = std::byte{0x0E};
  EXPECT_EQ(parse_error(odd_len).offset, 2u);

  auto trailing = good;
  trailing.resize(trailing.size() + 4);  // datagram longer than the length field says
  EXPECT_EQ(parse_error(trailing).offset, 2u);
}

TEST(StunParse, RejectsAttributeOverrunAtItsLengthField) {
  auto in = simple_request();
  in[kHeaderSize + 3] = std::byte{0x40};  // USERNAME claims 64 bytes
  const auto e = parse_error(in);
  EXPECT_EQ(e.offset, kHeaderSize + 2);
  EXPECT_NE(e.reason.find("USERNAME"), std::string::npos);
}

TEST(StunParse, EnforcesIntegrityAndFingerprintShapes) {
  MessageBuilder b({method::binding, MessageClass::request}, tid(2));
  b.add(attr::message_integrity, std::vector<std::byte>(16));  // wrong size
  EXPECT_EQ(parse_error(b.bytes()).offset, kHeaderSize + 2);

  MessageBuilder s({method::binding, MessageClass::request}, tid(2));
  s.add(attr::message_integrity_sha256, std::vector<std::byte>(12));  // below 16
  EXPECT_EQ(parse_error(s.bytes()).offset, kHeaderSize + 2);

  MessageBuilder f({method::binding, MessageClass::request}, tid(2));
  f.add_fingerprint().add_text(attr::software, "x");  // RFC 5389 §15.5: FINGERPRINT is last
  const auto e = parse_error(f.bytes());
  EXPECT_EQ(e.offset, kHeaderSize + 8);
  EXPECT_NE(e.reason.find("after FINGERPRINT"), std::string::npos);
}

TEST(StunParse, InputIsNotModifiedAndRawIsKept) {
  auto in = simple_request();  // not const: parse() gets a read-only view of mutable bytes
  const std::vector<std::byte> snapshot(in.begin(), in.end());  // to prove parse() left it alone
  auto m = parse(in);
  ASSERT_TRUE(m);
  EXPECT_EQ(in, snapshot);
  EXPECT_EQ(m->raw, in);
  EXPECT_TRUE(looks_like_stun(in));
  EXPECT_FALSE(looks_like_stun(std::span(in).first(in.size() - 4)));
}

TEST(StunParse, UnknownAttributesAreKeptAndRoundTrip) {
  MessageBuilder b({method::binding, MessageClass::request}, tid(3));
  const std::vector<std::byte> opaque{std::byte{1}, std::byte{2}, std::byte{3}};
  b.add(0x7F01, opaque).add(0xC001, {}).add_text(attr::software, "icegate");
  auto m = parse(b.bytes());
  ASSERT_TRUE(m);
  ASSERT_EQ(m->attributes.size(), 3u);
  EXPECT_EQ(m->attributes[0].type, 0x7F01);
  EXPECT_EQ(m->attributes[0].value, opaque);
  EXPECT_EQ(m->unknown_required(), std::vector<std::uint16_t>{0x7F01});  // 0xC001 is optional
  EXPECT_EQ(encode(*m), b.bytes());
  EXPECT_EQ(attr::name(0x7F01), "0x7F01");
  EXPECT_EQ(attr::name(attr::xor_mapped_address), "XOR-MAPPED-ADDRESS");
}

TEST(StunParse, AttributesAfterIntegrityDoNotCount) {
  // RFC 5389 §15.4: anything after MESSAGE-INTEGRITY except FINGERPRINT is ignored, so an
  // attacker cannot append an unauthenticated USE-CANDIDATE or USERNAME.
  MessageBuilder b({method::binding, MessageClass::request}, tid(4));
  b.add_text(attr::username, "a:b").add_message_integrity(short_term_key("pw"));
  b.add_flag(attr::use_candidate).add_text(attr::realm, "x").add_fingerprint();
  auto m = parse(b.bytes());
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->has(attr::username));
  EXPECT_FALSE(m->has(attr::use_candidate));
  EXPECT_FALSE(m->has(attr::realm));
  EXPECT_TRUE(m->has(attr::fingerprint));
  EXPECT_EQ(m->attributes.size(), 5u);  // still kept for round trips
  EXPECT_EQ(verify_message_integrity(*m, short_term_key("pw")), Check::ok);
  EXPECT_EQ(verify_fingerprint(*m), Check::ok);
}

TEST(StunAttributes, AddressesRoundTripPlainAndXored) {
  const TransactionId t = tid(5);
  for (const auto& e : {ep("198.51.100.7", 3478), ep("0.0.0.0", 0), ep("2001:db8::42", 65535),
                        ep("fe80::1:2:3:4", 1)}) {
    for (auto type : {attr::mapped_address, attr::xor_mapped_address, attr::xor_peer_address,
                      attr::xor_relayed_address, attr::other_address, attr::response_origin}) {
      MessageBuilder b({method::binding, MessageClass::success}, t);
      b.add_address(type, e);
      auto m = parse(b.bytes());
      ASSERT_TRUE(m);
      auto back = read_address(*m, *m->find(type));
      ASSERT_TRUE(back) << back.error().reason;
      EXPECT_EQ(*back, e) << attr::name(type);
    }
  }
  // Xored and plain encodings of the same address differ on the wire.
  EXPECT_NE(address_value(attr::xor_mapped_address, ep("192.0.2.1", 1), t),
            address_value(attr::mapped_address, ep("192.0.2.1", 1), t));
}

TEST(StunAttributes, RejectsBadAddressValues) {
  MessageBuilder b({method::binding, MessageClass::success}, tid(6));
  const std::vector<std::byte> bad_family{std::byte{0}, std::byte{3}, std::byte{0}, std::byte{1},
                                          std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4}};
  const std::vector<std::byte> short_v4{std::byte{0}, std::byte{1}, std::byte{0},
                                        std::byte{1}, std::byte{1}, std::byte{2}};
  b.add(attr::xor_mapped_address, bad_family).add(attr::mapped_address, short_v4);
  auto m = parse(b.bytes());
  ASSERT_TRUE(m);
  auto e1 = read_address(*m, *m->find(attr::xor_mapped_address));
  ASSERT_FALSE(e1);
  EXPECT_EQ(e1.error().offset, kHeaderSize + 4 + 1);  // the family byte
  EXPECT_FALSE(read_address(*m, *m->find(attr::mapped_address)));
}

TEST(StunAttributes, ErrorCodeRoundTripAndValidation) {
  MessageBuilder b({method::binding, MessageClass::error}, tid(7));
  b.add_error_code(487);
  auto m = parse(b.bytes());
  ASSERT_TRUE(m);
  auto ec = read_error_code(*m, *m->find(attr::error_code));
  ASSERT_TRUE(ec);
  EXPECT_EQ(ec->code, 487);
  EXPECT_EQ(ec->reason, "Role Conflict");

  MessageBuilder custom({method::binding, MessageClass::error}, tid(7));
  custom.add_error_code(401, "nope");
  auto mc = parse(custom.bytes());
  EXPECT_EQ(read_error_code(*mc, *mc->find(attr::error_code))->reason, "nope");

  MessageBuilder bad({method::binding, MessageClass::error}, tid(7));
  bad.add(attr::error_code, std::vector<std::byte>{std::byte{0}, std::byte{0}, std::byte{7},
                                                   std::byte{0}});  // class 7
  auto mb = parse(bad.bytes());
  EXPECT_FALSE(read_error_code(*mb, *mb->find(attr::error_code)));
  MessageBuilder bad2({method::binding, MessageClass::error}, tid(7));
  bad2.add(attr::error_code, std::vector<std::byte>{std::byte{0}, std::byte{0}, std::byte{4},
                                                    std::byte{100}});  // number 100
  auto mb2 = parse(bad2.bytes());
  EXPECT_FALSE(read_error_code(*mb2, *mb2->find(attr::error_code)));
}

TEST(StunAttributes, ScalarsFlagsAndLists) {
  const std::vector<std::uint16_t> unknown{0x7F01, 0x0031};
  MessageBuilder b({method::allocate, MessageClass::request}, tid(8));
  b.add_u32(attr::priority, 0x6E0001FF)
      .add_u32(attr::lifetime, 600)
      .add_u64(attr::ice_controlling, 0x0123456789ABCDEFull)
      .add_flag(attr::use_candidate)
      .add_u32(attr::change_request, change_request_bits({true, false}))
      .add_requested_transport(kTransportUdp)
      .add_unknown_attributes(unknown)
      .add_text(attr::realm, "example.org")
      .add(attr::data, std::vector<std::byte>(5, std::byte{0xAB}));
  auto m = parse(b.bytes());
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type, (MessageType{method::allocate, MessageClass::request}));
  EXPECT_EQ(*read_u32(*m, *m->find(attr::priority)), 0x6E0001FFu);
  EXPECT_EQ(*read_u32(*m, *m->find(attr::lifetime)), 600u);
  EXPECT_EQ(*read_u64(*m, *m->find(attr::ice_controlling)), 0x0123456789ABCDEFull);
  EXPECT_TRUE(m->find(attr::use_candidate)->value.empty());
  EXPECT_EQ(*read_change_request(*m, *m->find(attr::change_request)), (ChangeRequest{true, false}));
  EXPECT_EQ(*read_requested_transport(*m, *m->find(attr::requested_transport)), kTransportUdp);
  EXPECT_EQ(*read_unknown_attributes(*m, *m->find(attr::unknown_attributes)), unknown);
  EXPECT_EQ(*read_text(*m, *m->find(attr::realm)), "example.org");
  EXPECT_EQ(m->find(attr::data)->value.size(), 5u);
  // Wrong sizes are reported, not misread.
  MessageBuilder w({method::binding, MessageClass::request}, tid(8));
  w.add(attr::priority, std::vector<std::byte>(3))
      .add(attr::ice_controlled, std::vector<std::byte>(4));
  auto mw = parse(w.bytes());
  EXPECT_FALSE(read_u32(*mw, *mw->find(attr::priority)));
  EXPECT_FALSE(read_u64(*mw, *mw->find(attr::ice_controlled)));
}

TEST(StunAttributes, TextLimits) {
  MessageBuilder b({method::binding, MessageClass::request}, tid(9));
  b.add_text(attr::username, std::string(513, 'u')).add_text(attr::software, std::string(763, 's'));
  auto m = parse(b.bytes());
  ASSERT_TRUE(m);
  EXPECT_FALSE(read_text(*m, *m->find(attr::username)));  // RFC 5389 §15.3: < 513 bytes
  EXPECT_TRUE(read_text(*m, *m->find(attr::software)));
}

TEST(StunIntegrity, DetectsWrongKeysAndTampering) {
  MessageBuilder b({method::binding, MessageClass::request}, tid(10));
  b.add_text(attr::username, "L:R").add_u32(attr::priority, 1);
  b.add_message_integrity(short_term_key("secret")).add_fingerprint();
  auto m = parse(b.bytes());
  ASSERT_TRUE(m);
  EXPECT_EQ(verify_message_integrity(*m, short_term_key("secret")), Check::ok);
  EXPECT_EQ(verify_message_integrity(*m, short_term_key("Secret")), Check::mismatch);
  EXPECT_EQ(verify_message_integrity_sha256(*m, short_term_key("secret")), Check::absent);
  EXPECT_EQ(verify_fingerprint(*m), Check::ok);

  // Tamper with PRIORITY but fix FINGERPRINT up: integrity must still catch it.
  auto bytes = b.bytes();
  bytes[kHeaderSize + 8 + 4 + 3] ^= std::byte{1};  // USERNAME is 8 bytes, PRIORITY value last
  const std::size_t fp_at = bytes.size() - 8;
  wire::store32(bytes, fp_at + 4, crc32(std::span(bytes).first(fp_at)) ^ kFingerprintXor);
  auto t = parse(bytes);
  ASSERT_TRUE(t);
  EXPECT_EQ(verify_fingerprint(*t), Check::ok);
  EXPECT_EQ(verify_message_integrity(*t, short_term_key("secret")), Check::mismatch);

  // A message that was never parsed has no bytes to verify: fail closed.
  Message in_memory = *m;
  in_memory.raw.clear();
  EXPECT_EQ(verify_message_integrity(in_memory, short_term_key("secret")), Check::mismatch);
}

TEST(StunIntegrity, BothIntegrityAttributesAndTruncatedSha256) {
  MessageBuilder b({method::binding, MessageClass::request}, tid(11));
  b.add_text(attr::username, "u").add_message_integrity(short_term_key("k"));
  b.add_message_integrity_sha256(short_term_key("k")).add_fingerprint();
  auto m = parse(b.bytes());
  ASSERT_TRUE(m);
  EXPECT_EQ(verify_message_integrity(*m, short_term_key("k")), Check::ok);
  EXPECT_EQ(verify_message_integrity_sha256(*m, short_term_key("k")), Check::ok);
  EXPECT_EQ(verify_fingerprint(*m), Check::ok);

  // RFC 8489 §14.6: a 16-byte truncated HMAC-SHA256 is compared over its length.
  MessageBuilder full({method::binding, MessageClass::request}, tid(12));
  full.add_text(attr::username, "u");
  auto prefix = full.bytes();
  wire::store16(prefix, 2, static_cast<std::uint16_t>(prefix.size() - kHeaderSize + 4 + 16));
  const auto mac = hmac_sha256(short_term_key("k"), prefix);
  full.add(attr::message_integrity_sha256, std::span(mac).first(16));
  auto mt = parse(full.bytes());
  ASSERT_TRUE(mt);
  EXPECT_EQ(verify_message_integrity_sha256(*mt, short_term_key("k")), Check::ok);
  EXPECT_EQ(verify_message_integrity_sha256(*mt, short_term_key("K")), Check::mismatch);
}

TEST(StunIntegrity, Primitives) {
  // The CRC-32 check value ("123456789" -> 0xCBF43926) of ISO-HDLC, the polynomial STUN uses.
  EXPECT_EQ(crc32(as_bytes("123456789")), 0xCBF43926u);
  EXPECT_EQ(crc32({}), 0u);
  // RFC 2202 test case 2 for HMAC-SHA1.
  const auto mac = hmac_sha1(as_bytes("Jefe"), as_bytes("what do ya want for nothing?"));
  const std::vector<std::uint8_t> want{0xef, 0xfc, 0xdf, 0x6a, 0xe5, 0xeb, 0x2f, 0xa2, 0xd2, 0x74,
                                       0x16, 0xd5, 0xf1, 0x84, 0xdf, 0x9c, 0x25, 0x9a, 0x7c, 0x79};
  for (std::size_t i = 0; i < want.size(); ++i)
    EXPECT_EQ(std::to_integer<std::uint8_t>(mac[i]), want[i]);
}

}  // namespace
}  // namespace icegate::media::stun
