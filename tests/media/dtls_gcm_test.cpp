// AEAD_AES_256_GCM and AEAD_AES_128_GCM in DTLS-SRTP (RFC 7714 §14.2, issue 11 item 4): two
// DtlsEngines handshake with each other in memory; the profile they agree on is the strongest
// both offer, the exported keys mirror each other (RFC 5764 §4.2) and SRTP works with them.
// Only profiles this libsrtp2 can key are offered (srtp::dtls_srtp_profiles()).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "media/dtls/engine.hpp"
#include "media/srtp/session.hpp"
#include "media/srtp/transform.hpp"

namespace icegate::media::dtls {
namespace {

using namespace std::chrono_literals;
using srtp::SrtpProfile;

std::shared_ptr<const Certificate> cert(int which) {
  static const auto a = *Certificate::generate({.common_name = "icegate-a"});
  static const auto b = *Certificate::generate({.common_name = "icegate-b"});
  return which == 0 ? a : b;
}

DtlsConfig config(Role role, std::vector<SrtpProfile> profiles = {}) {
  DtlsConfig c;
  c.role = role;
  c.certificate = cert(role == Role::client ? 0 : 1);
  c.expected_peer_fingerprints = {cert(role == Role::client ? 1 : 0)->fingerprint()};
  if (!profiles.empty()) c.srtp_profiles = std::move(profiles);
  return c;
}

// Shuttles datagrams between the two engines until neither has anything more to say.
void handshake(DtlsEngine& client, DtlsEngine& server) {
  const auto now = Clock::time_point{} + 1h;
  DtlsOutput c_out, s_out;
  client.start(now, c_out);
  server.start(now, s_out);
  for (int round = 0; round < 20 && (!c_out.datagrams.empty() || !s_out.datagrams.empty());
       ++round) {
    auto to_server = std::move(c_out.datagrams);
    auto to_client = std::move(s_out.datagrams);
    c_out.clear();
    s_out.clear();
    for (const auto& d : to_server) server.on_datagram(d, now, s_out);
    for (const auto& d : to_client) client.on_datagram(d, now, c_out);
  }
}

SrtpProfile agreed(std::vector<SrtpProfile> client_profiles,
                   std::vector<SrtpProfile> server_profiles) {
  auto c = DtlsEngine::create(config(Role::client, std::move(client_profiles)));
  auto s = DtlsEngine::create(config(Role::server, std::move(server_profiles)));
  EXPECT_TRUE(c && s);
  handshake(*c, *s);
  EXPECT_EQ(c->state(), State::connected) << c->failure_reason();
  EXPECT_EQ(s->state(), State::connected) << s->failure_reason();
  if (!c->srtp_keys() || !s->srtp_keys()) {
    ADD_FAILURE() << "no SRTP keys";
    return SrtpProfile::aes_cm_128_hmac_sha1_80;
  }
  const auto& ck = *c->srtp_keys();
  const auto& sk = *s->srtp_keys();
  EXPECT_EQ(ck.profile, sk.profile);
  EXPECT_EQ(ck.local, sk.remote);  // RFC 5764 §4.2: client write key = server read key
  EXPECT_EQ(ck.remote, sk.local);
  EXPECT_NE(ck.local, ck.remote);
  EXPECT_EQ(ck.local.key().size(), srtp::info(ck.profile).key_len);
  EXPECT_EQ(ck.local.salt().size(), srtp::info(ck.profile).salt_len);
  // And the keys work: what the client protects, the server's transform opens, and back.
  auto c_srtp = srtp::SrtpTransform::create(ck.local, ck.remote);
  auto s_srtp = srtp::SrtpTransform::create(sk.local, sk.remote);
  EXPECT_TRUE(c_srtp && s_srtp);
  if (c_srtp && s_srtp) {
    std::vector<std::byte> pkt(12 + 40 + 64);
    pkt[0] = std::byte{0x80};
    pkt[1] = std::byte{111};
    const auto len = (*c_srtp)->protect(pkt, 12 + 40, false);
    EXPECT_TRUE(len);
    if (len) {
      EXPECT_EQ(*len, 12 + 40 + srtp::info(ck.profile).rtp_tag_len);
      EXPECT_EQ((*s_srtp)->unprotect(pkt, *len, false), std::optional<std::size_t>(12 + 40));
    }
  }
  return ck.profile;
}

bool supported(SrtpProfile p) {
  return srtp::profile_supported(p);
}

TEST(DtlsGcm, DefaultProfilesAreWhatLibsrtpCanKeyStrongestFirst) {
  const auto offered = srtp::dtls_srtp_profiles();
  ASSERT_FALSE(offered.empty());
  EXPECT_EQ(offered.back(), SrtpProfile::aes_cm_128_hmac_sha1_80);  // everyone has it
  for (auto p : offered) EXPECT_TRUE(supported(p)) << srtp::to_string(p);
  if (supported(SrtpProfile::aead_aes_256_gcm)) {
    EXPECT_EQ(offered.front(), SrtpProfile::aead_aes_256_gcm);
  }
  // The engine's default is that list.
  EXPECT_EQ(DtlsConfig{}.srtp_profiles, offered);
  // Never the _32 profile in DTLS-SRTP.
  EXPECT_EQ(std::count(offered.begin(), offered.end(), SrtpProfile::aes_cm_128_hmac_sha1_32), 0);
}

TEST(DtlsGcm, TwoEnginesWithDefaultsAgreeOnAes256Gcm) {
  if (!supported(SrtpProfile::aead_aes_256_gcm)) GTEST_SKIP() << "libsrtp2 without AES-256-GCM";
  EXPECT_EQ(agreed({}, {}), SrtpProfile::aead_aes_256_gcm);
}

TEST(DtlsGcm, ServerPrefersGcmOverCmWhenTheClientOffersBoth) {
  if (!supported(SrtpProfile::aead_aes_256_gcm)) GTEST_SKIP() << "libsrtp2 without AES-256-GCM";
  // A client (Chromium's order differs; the server's preference decides, RFC 5764 §4.1.1).
  EXPECT_EQ(agreed({SrtpProfile::aes_cm_128_hmac_sha1_80, SrtpProfile::aead_aes_128_gcm,
                    SrtpProfile::aead_aes_256_gcm},
                   {}),
            SrtpProfile::aead_aes_256_gcm);
  EXPECT_EQ(agreed({SrtpProfile::aes_cm_128_hmac_sha1_80, SrtpProfile::aead_aes_128_gcm}, {}),
            SrtpProfile::aead_aes_128_gcm);
}

TEST(DtlsGcm, IcegateAsClientTakesWhatTheServerPicks) {
  if (!supported(SrtpProfile::aead_aes_128_gcm)) GTEST_SKIP() << "libsrtp2 without AES-GCM";
  EXPECT_EQ(agreed({}, {SrtpProfile::aead_aes_128_gcm, SrtpProfile::aes_cm_128_hmac_sha1_80}),
            SrtpProfile::aead_aes_128_gcm);
  EXPECT_EQ(agreed({}, {SrtpProfile::aes_cm_128_hmac_sha1_80}),
            SrtpProfile::aes_cm_128_hmac_sha1_80);
}

}  // namespace
}  // namespace icegate::media::dtls
