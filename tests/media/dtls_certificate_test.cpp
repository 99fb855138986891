// Certificates and a=fingerprint values (RFC 8122 §5).
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <filesystem>
#include <fstream>

#include "media/dtls/certificate.hpp"
#include "media/dtls/fingerprint.hpp"

namespace icegate::media::dtls {
namespace {

TEST(DtlsCertificateTest, GeneratesSelfSignedEcdsaP256) {
  auto c = Certificate::generate({.common_name = "icegate-test"});
  ASSERT_TRUE(c) << c.error();
  const auto& cert = **c;
  EVP_PKEY* pub = X509_get0_pubkey(cert.x509());
  ASSERT_NE(pub, nullptr);
  EXPECT_EQ(EVP_PKEY_get_base_id(pub), EVP_PKEY_EC);
  char group[32] = {};
  size_t glen = 0;
  ASSERT_EQ(EVP_PKEY_get_group_name(pub, group, sizeof group, &glen), 1);
  EXPECT_STREQ(group, "prime256v1");
  EXPECT_EQ(X509_get_signature_nid(cert.x509()), NID_ecdsa_with_SHA256);
  EXPECT_EQ(X509_verify(cert.x509(), pub), 1) << "self-signed";
  EXPECT_EQ(X509_check_private_key(cert.x509(), cert.private_key()), 1);
  // Valid now.
  EXPECT_LT(X509_cmp_current_time(X509_get0_notBefore(cert.x509())), 0);
  EXPECT_GT(X509_cmp_current_time(X509_get0_notAfter(cert.x509())), 0);
}

TEST(DtlsCertificateTest, FingerprintIsSha256OfTheDer) {
  auto c = Certificate::generate();
  ASSERT_TRUE(c);
  unsigned char* der = nullptr;
  const int der_len = i2d_X509((*c)->x509(), &der);
  ASSERT_GT(der_len, 0);
  unsigned char md[32];
  unsigned md_len = 0;
  ASSERT_EQ(EVP_Digest(der, static_cast<size_t>(der_len), md, &md_len, EVP_sha256(), nullptr), 1);
  OPENSSL_free(der);
  const auto& fp = (*c)->fingerprint();
  EXPECT_EQ(fp.algorithm, HashAlgorithm::sha256);
  ASSERT_EQ(fp.digest.size(), 32u);
  EXPECT_TRUE(std::equal(fp.digest.begin(), fp.digest.end(), md));
  const auto sdp = (*c)->sdp_fingerprint();
  EXPECT_EQ(sdp.size(), 8 + 32 * 3 - 1);
  EXPECT_EQ(sdp.substr(0, 8), "sha-256 ");
  for (std::size_t i = 8; i < sdp.size(); ++i) {
    const char ch = sdp[i];
    if ((i - 8) % 3 == 2) {
      EXPECT_EQ(ch, ':');
    } else {
      EXPECT_TRUE((ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'F')) << sdp;
    }
  }
  auto parsed = Fingerprint::parse(sdp);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, fp);
}

TEST(DtlsCertificateTest, EachGenerationIsANewIdentity) {
  auto a = Certificate::generate();
  auto b = Certificate::generate();
  ASSERT_TRUE(a && b);
  EXPECT_NE((*a)->fingerprint(), (*b)->fingerprint());
}

TEST(DtlsCertificateTest, LoadsPemFilesAndNamesTheFileOnError) {
  auto c = Certificate::generate();
  ASSERT_TRUE(c);
  const auto dir =
      std::filesystem::temp_directory_path() / ("icegate-dtls-cert-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    std::ofstream(dir / "cert.pem") << (*c)->to_pem();
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(bio, (*c)->private_key(), nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    std::ofstream(dir / "key.pem") << std::string(data, static_cast<std::size_t>(len));
    BIO_free(bio);
  }
  auto loaded = Certificate::load_pem_files(dir / "cert.pem", dir / "key.pem");
  ASSERT_TRUE(loaded) << loaded.error();
  EXPECT_EQ((*loaded)->fingerprint(), (*c)->fingerprint());

  auto missing = Certificate::load_pem_files(dir / "nope.pem", dir / "key.pem");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find("nope.pem"), std::string::npos) << missing.error();

  auto other = Certificate::generate();
  ASSERT_TRUE(other);
  std::ofstream(dir / "other.pem") << (*other)->to_pem();
  auto mismatch = Certificate::load_pem_files(dir / "other.pem", dir / "key.pem");
  ASSERT_FALSE(mismatch);
  EXPECT_NE(mismatch.error().find("does not match"), std::string::npos) << mismatch.error();

  auto garbage = Certificate::from_pem("not a pem", "nor this");
  ASSERT_FALSE(garbage);
  EXPECT_NE(garbage.error().find("no PEM certificate"), std::string::npos) << garbage.error();
  std::filesystem::remove_all(dir);
}

TEST(DtlsFingerprintTest, ParsesRfc8122Values) {
  auto f = Fingerprint::parse("SHA-1 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB");
  ASSERT_TRUE(f) << f.error();
  EXPECT_EQ(f->algorithm, HashAlgorithm::sha1);
  EXPECT_EQ(f->digest.size(), 20u);
  EXPECT_EQ(f->digest[0], 0x4a);
  EXPECT_EQ(f->to_string(), "sha-1 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB");
  auto lower =
      Fingerprint::parse("sha-1  4a:ad:b9:b1:3f:82:18:3b:54:02:12:df:3e:5d:49:6b:19:e5:7c:ab\r");
  ASSERT_TRUE(lower) << lower.error();
  EXPECT_EQ(*lower, *f);
}

TEST(DtlsFingerprintTest, RefusesBadValues) {
  const char* bad[] = {
      "",
      "sha-256",
      "md5 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B",             // RFC 8122 §5: no MD5
      "sha-1 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C",  // 19 bytes
      "sha-1 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:CD",
      "sha-1 4AAD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:",
      "sha-1 4G:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB",
      "sha-1 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:A",
  };
  for (const char* v : bad) EXPECT_FALSE(Fingerprint::parse(v)) << v;
}

}  // namespace
}  // namespace icegate::media::dtls
