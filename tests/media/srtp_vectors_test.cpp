// Known-answer tests for the SRTP wrapper.
// 1. An independent RFC 3711 implementation in this file (OpenSSL AES-CTR and HMAC-SHA1, no
//    libsrtp) is checked against RFC 3711 Appendix B.2 (AES-CM keystream) and B.3 (key
//    derivation), then used as the oracle for packets protected through icegate's wrapper,
//    including across a sequence-number wrap (ROC 0 -> 1, RFC 3711 §3.3.1).
// 2. libsrtp's own reference packets (test/srtp_driver.c: srtp_validate, srtp_validate_gcm)
//    through the wrapper, for AES_CM_128_HMAC_SHA1_80 and AEAD_AES_128_GCM, RTP and RTCP.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "media/srtp/session.hpp"

namespace icegate::media::srtp {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes hex(std::string_view s) {
  Bytes out;
  int hi = -1;
  for (char c : s) {
    int v = -1;
    if (c >= '0' && c <= '9') v = c - '0';
    if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    if (v < 0) continue;
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<std::uint8_t>(hi << 4 | v));
      hi = -1;
    }
  }
  return out;
}

// ---- The oracle: RFC 3711 written out with OpenSSL primitives -------------------------------

Bytes aes_ctr(const Bytes& key, const Bytes& iv16, const Bytes& in) {
  Bytes out(in.size());
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int n = 0;
  EXPECT_EQ(EVP_EncryptInit_ex(ctx, EVP_aes_128_ctr(), nullptr, key.data(), iv16.data()), 1);
  EXPECT_EQ(EVP_EncryptUpdate(ctx, out.data(), &n, in.data(), static_cast<int>(in.size())), 1);
  EVP_CIPHER_CTX_free(ctx);
  return out;
}

Bytes keystream(const Bytes& key, const Bytes& iv16, std::size_t n) {
  return aes_ctr(key, iv16, Bytes(n, 0));
}

// RFC 3711 §4.3.1 / §4.3.3 with key_derivation_rate 0: x = (label || 0^48) XOR master_salt.
Bytes prf(const Bytes& master_key, const Bytes& master_salt, std::uint8_t label, std::size_t n) {
  Bytes iv(16, 0);
  std::copy(master_salt.begin(), master_salt.end(), iv.begin());
  iv[7] ^= label;  // label sits 48 bits above the (zero) index in the 112-bit x
  return keystream(master_key, iv, n);
}

struct SessionKeys {
  Bytes enc, auth, salt;
};
SessionKeys derive(const Bytes& mk, const Bytes& ms, bool rtcp) {
  const std::uint8_t base = rtcp ? 3 : 0;
  return {prf(mk, ms, base, 16), prf(mk, ms, base + 1, 20), prf(mk, ms, base + 2, 14)};
}

Bytes hmac_sha1(const Bytes& key, const Bytes& data) {
  std::array<unsigned char, 20> md{};
  unsigned len = 0;
  HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), data.data(), data.size(), md.data(),
       &len);
  return Bytes(md.begin(), md.begin() + len);
}

// RFC 3711 §4.1.1: IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16)
Bytes packet_iv(const Bytes& salt, std::uint32_t ssrc, std::uint64_t index) {
  Bytes iv(16, 0);
  std::copy(salt.begin(), salt.end(), iv.begin());
  for (int b = 0; b < 4; ++b) iv[4 + b] ^= static_cast<std::uint8_t>(ssrc >> (24 - 8 * b));
  for (int b = 0; b < 6; ++b) iv[8 + b] ^= static_cast<std::uint8_t>(index >> (40 - 8 * b));
  return iv;
}

// SRTP with AES-CM + HMAC-SHA1 (RFC 3711 §3.1, §4.1.1, §4.2.1), fixed 12-byte header.
Bytes oracle_srtp(const Bytes& mk, const Bytes& ms, const Bytes& rtp, std::uint32_t roc,
                  std::size_t tag_len) {
  const auto k = derive(mk, ms, false);
  const std::uint16_t seq = static_cast<std::uint16_t>(rtp[2] << 8 | rtp[3]);
  const std::uint32_t ssrc =
      static_cast<std::uint32_t>(rtp[8]) << 24 | rtp[9] << 16 | rtp[10] << 8 | rtp[11];
  const std::uint64_t index = (static_cast<std::uint64_t>(roc) << 16) | seq;
  Bytes payload(rtp.begin() + 12, rtp.end());
  Bytes out(rtp.begin(), rtp.begin() + 12);
  const auto enc = aes_ctr(k.enc, packet_iv(k.salt, ssrc, index), payload);
  out.insert(out.end(), enc.begin(), enc.end());
  Bytes authed = out;  // RFC 3711 §4.2: M = authenticated portion || ROC
  for (int b = 0; b < 4; ++b) authed.push_back(static_cast<std::uint8_t>(roc >> (24 - 8 * b)));
  const auto tag = hmac_sha1(k.auth, authed);
  out.insert(out.end(), tag.begin(), tag.begin() + static_cast<std::ptrdiff_t>(tag_len));
  return out;
}

// ---- RFC 3711 Appendix B: the oracle's building blocks ----------------------------------------

TEST(SrtpRfc3711, B2AesCmKeystream) {
  const auto ks = keystream(hex("2B7E151628AED2A6ABF7158809CF4F3C"),
                            hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000"), 48);
  EXPECT_EQ(ks, hex("E03EAD0935C95E80E166B16DD92B4EB4"
                    "D23513162B02D0F72A43A2FE4A5F97AB"
                    "41E95B3BB0A2E8DD477901E4FCA894C0"));
}

TEST(SrtpRfc3711, B3KeyDerivation) {
  const auto k =
      derive(hex("E1F97A0D3E018BE0D64FA32C06DE4139"), hex("0EC675AD498AFEEBB6960B3AABE6"), false);
  EXPECT_EQ(k.enc, hex("C61E7A93744F39EE10734AFE3FF7A087"));
  EXPECT_EQ(k.salt, hex("30CBBC08863D8C85D49DB34A9AE1"));
  EXPECT_EQ(k.auth, hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"));
}

// ---- Through the wrapper ----------------------------------------------------------------------

// The RFC 3711 B.3 master key and salt; libsrtp's test_key starts with the same 30 bytes.
const Bytes kMasterKey = hex("E1F97A0D3E018BE0D64FA32C06DE4139");
const Bytes kMasterSalt = hex("0EC675AD498AFEEBB6960B3AABE6");

SrtpKey cm_key(SrtpProfile p) {
  return *SrtpKey::make(p, kMasterKey, kMasterSalt);
}

std::vector<std::byte> to_buffer(const Bytes& b, std::size_t room) {
  std::vector<std::byte> out(b.size() + room);
  std::transform(b.begin(), b.end(), out.begin(), [](std::uint8_t v) { return std::byte{v}; });
  return out;
}
Bytes from_buffer(const std::vector<std::byte>& b, std::size_t len) {
  Bytes out(len);
  std::transform(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(len), out.begin(),
                 [](std::byte v) { return std::to_integer<std::uint8_t>(v); });
  return out;
}

Bytes make_rtp(std::uint16_t seq, std::uint32_t ssrc, std::size_t payload_len) {
  Bytes p{0x80,
          0x00,
          static_cast<std::uint8_t>(seq >> 8),
          static_cast<std::uint8_t>(seq),
          0x00,
          0x00,
          0x12,
          0x34,
          static_cast<std::uint8_t>(ssrc >> 24),
          static_cast<std::uint8_t>(ssrc >> 16),
          static_cast<std::uint8_t>(ssrc >> 8),
          static_cast<std::uint8_t>(ssrc)};
  for (std::size_t i = 0; i < payload_len; ++i) p.push_back(static_cast<std::uint8_t>(i * 7 + seq));
  return p;
}

class SrtpOracle : public ::testing::TestWithParam<SrtpProfile> {};

TEST_P(SrtpOracle, ProtectMatchesRfc3711AcrossSequenceWrap) {
  const auto profile = GetParam();
  auto tx = SrtpSender::create(cm_key(profile));
  auto rx = SrtpReceiver::create(cm_key(profile));
  ASSERT_TRUE(tx && rx);
  const std::uint32_t ssrc = 0x3a5f12c4;
  std::uint32_t roc = 0;
  int checked = 0;
  for (std::uint32_t n = 0; n < 8; ++n) {
    const auto seq = static_cast<std::uint16_t>(65532 + n);  // 65532..65535, then 0..3
    if (seq == 0) roc = 1;
    const auto plain = make_rtp(seq, ssrc, 160);
    auto buf = to_buffer(plain, 64);
    auto len = tx->protect_rtp(buf, plain.size());
    ASSERT_TRUE(len) << to_string(len.error());
    const auto expected =
        oracle_srtp(kMasterKey, kMasterSalt, plain, roc, info(profile).rtp_tag_len);
    EXPECT_EQ(from_buffer(buf, *len), expected) << "seq " << seq << " roc " << roc;
    auto back = rx->unprotect_rtp(buf, *len);
    ASSERT_TRUE(back) << to_string(back.error());
    EXPECT_EQ(from_buffer(buf, *back), plain);
    ++checked;
  }
  EXPECT_EQ(checked, 8);
}

INSTANTIATE_TEST_SUITE_P(CmProfiles, SrtpOracle,
                         ::testing::Values(SrtpProfile::aes_cm_128_hmac_sha1_80,
                                           SrtpProfile::aes_cm_128_hmac_sha1_32));

// libsrtp test/srtp_driver.c srtp_validate(): default policy (AES_CM_128_HMAC_SHA1_80).
TEST(SrtpLibsrtpVectors, AesCm128HmacSha1_80ReferencePackets) {
  const Bytes rtp = hex("800f1234decafbadcafebabe abababababababababababababababab");
  const Bytes srtp =
      hex("800f1234decafbadcafebabe 4e55dc4ce79978d88ca4d215949d2402 b78d6acc99ea179b8dbb");
  const Bytes rtcp = hex("81c8000bcafebabe abababababababababababababababab");
  const Bytes srtcp =
      hex("81c8000bcafebabe 7128035be487b9bdbef89041f977a5a8 80000001 993e08cd54d6c1230798");
  auto tx = SrtpSender::create(cm_key(SrtpProfile::aes_cm_128_hmac_sha1_80));
  auto rx = SrtpReceiver::create(cm_key(SrtpProfile::aes_cm_128_hmac_sha1_80));
  ASSERT_TRUE(tx && rx);

  auto buf = to_buffer(rtp, 16);
  auto len = tx->protect_rtp(buf, rtp.size());
  ASSERT_TRUE(len);
  EXPECT_EQ(from_buffer(buf, *len), srtp);
  // The oracle agrees with libsrtp's reference packet, independently of libsrtp.
  EXPECT_EQ(oracle_srtp(kMasterKey, kMasterSalt, rtp, 0, 10), srtp);

  auto cbuf = to_buffer(rtcp, 32);
  auto clen = tx->protect_rtcp(cbuf, rtcp.size());
  ASSERT_TRUE(clen);
  EXPECT_EQ(from_buffer(cbuf, *clen), srtcp);

  auto in = to_buffer(srtp, 0);
  auto plain = rx->unprotect_rtp(in, in.size());
  ASSERT_TRUE(plain);
  EXPECT_EQ(from_buffer(in, *plain), rtp);
  auto cin = to_buffer(srtcp, 0);
  auto cplain = rx->unprotect_rtcp(cin, cin.size());
  ASSERT_TRUE(cplain);
  EXPECT_EQ(from_buffer(cin, *cplain), rtcp);
}

// libsrtp test/srtp_driver.c srtp_validate_gcm(): AEAD_AES_128_GCM (RFC 7714), test_key_gcm.
TEST(SrtpLibsrtpVectors, AeadAes128GcmReferencePackets) {
  const auto key =
      SrtpKey::from_master(SrtpProfile::aead_aes_128_gcm,
                           hex("000102030405060708090a0b0c0d0e0f a0a1a2a3a4a5a6a7a8a9aaab"));
  ASSERT_TRUE(key);
  const Bytes rtp = hex("800f1234decafbadcafebabe abababababababababababababababab");
  const Bytes srtp = hex(
      "800f1234decafbadcafebabe c5002ede04cfdd2eb91159e0880aa06e d2976826f796b201df3131a127e8a392");
  const Bytes rtcp = hex("81c8000bcafebabe abababababababababababababababab");
  const Bytes srtcp =
      hex("81c8000bcafebabe c98b8b5df0392a55852b6c21ac8e7025 c52c6fbea2b3b446ea31123ba88ce61e "
          "80000001");
  auto tx = SrtpSender::create(*key);
  auto rx = SrtpReceiver::create(*key);
  ASSERT_TRUE(tx && rx);

  auto buf = to_buffer(rtp, 16);
  auto len = tx->protect_rtp(buf, rtp.size());
  ASSERT_TRUE(len);
  EXPECT_EQ(from_buffer(buf, *len), srtp);
  auto cbuf = to_buffer(rtcp, 20);
  auto clen = tx->protect_rtcp(cbuf, rtcp.size());
  ASSERT_TRUE(clen);
  EXPECT_EQ(from_buffer(cbuf, *clen), srtcp);

  auto in = to_buffer(srtp, 0);
  auto plain = rx->unprotect_rtp(in, in.size());
  ASSERT_TRUE(plain);
  EXPECT_EQ(from_buffer(in, *plain), rtp);
  auto cin = to_buffer(srtcp, 0);
  auto cplain = rx->unprotect_rtcp(cin, cin.size());
  ASSERT_TRUE(cplain);
  EXPECT_EQ(from_buffer(cin, *cplain), rtcp);
}

}  // namespace
}  // namespace icegate::media::srtp
