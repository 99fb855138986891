#include "media/dtls/certificate.hpp"

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <fstream>
#include <iterator>
#include <optional>

namespace icegate::media::dtls {
namespace {

Unexpected<std::string> fail(std::string what) {
  auto detail = ossl::take_error();
  if (!detail.empty()) what += ": " + detail;
  return unexpected(std::move(what));
}

ossl::BioPtr memory_bio(std::string_view text) {
  return ossl::BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::optional<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

bool add_extension(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

}  // namespace

Expected<std::shared_ptr<const Certificate>, std::string> Certificate::adopt(ossl::X509Ptr cert,
                                                                             ossl::EvpPkeyPtr key) {
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    return fail("private key does not match the certificate");
  }
  auto fp = Fingerprint::of(cert.get(), HashAlgorithm::sha256);
  if (!fp) return unexpected(std::move(fp).error());
  return std::shared_ptr<const Certificate>(
      new Certificate(std::move(cert), std::move(key), std::move(*fp)));
}

Expected<std::shared_ptr<const Certificate>, std::string> Certificate::generate(
    const CertificateOptions& options) {
  ERR_clear_error();
  ossl::EvpPkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return fail("ECDSA P-256 key generation failed");

  ossl::X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) return fail("X509_new");
  // RFC 5280 §4.1.2.2: a positive serial, here 64 random bits.
  ossl::BignumPtr serial(BN_new());
  if (!serial || BN_rand(serial.get(), 64, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr) {
    return fail("certificate serial");
  }
  const long validity_s =
      static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(options.validity).count());
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -24 * 3600) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), validity_s) == nullptr) {
    return fail("certificate validity");
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(
          name, "CN", MBSTRING_UTF8,
          reinterpret_cast<const unsigned char*>(options.common_name.c_str()),
          static_cast<int>(options.common_name.size()), -1, 0) != 1 ||
      X509_set_issuer_name(cert.get(), name) != 1) {
    return fail("certificate name '" + options.common_name + "'");
  }
  if (X509_set_pubkey(cert.get(), key.get()) != 1 ||
      !add_extension(cert.get(), NID_basic_constraints, "critical,CA:FALSE") ||
      X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) {
    return fail("signing the certificate");
  }
  return adopt(std::move(cert), std::move(key));
}

Expected<std::shared_ptr<const Certificate>, std::string> Certificate::from_pem(
    std::string_view certificate_pem, std::string_view private_key_pem) {
  ERR_clear_error();
  auto cbio = memory_bio(certificate_pem);
  ossl::X509Ptr cert(cbio ? PEM_read_bio_X509(cbio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!cert) return fail("no PEM certificate found");
  auto kbio = memory_bio(private_key_pem);
  ossl::EvpPkeyPtr key(kbio ? PEM_read_bio_PrivateKey(kbio.get(), nullptr, nullptr, nullptr)
                            : nullptr);
  if (!key) return fail("no PEM private key found (encrypted keys are not supported)");
  return adopt(std::move(cert), std::move(key));
}

Expected<std::shared_ptr<const Certificate>, std::string> Certificate::load_pem_files(
    const std::filesystem::path& certificate_file, const std::filesystem::path& key_file) {
  const auto cert_text = read_file(certificate_file);
  if (!cert_text) return unexpected(certificate_file.string() + ": cannot read");
  const auto key_text = read_file(key_file);
  if (!key_text) return unexpected(key_file.string() + ": cannot read");
  auto c = from_pem(*cert_text, *key_text);
  if (!c) {
    return unexpected(certificate_file.string() + " / " + key_file.string() + ": " + c.error());
  }
  return c;
}

std::string Certificate::to_pem() const {
  ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert_.get()) != 1) return {};
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

}  // namespace icegate::media::dtls
