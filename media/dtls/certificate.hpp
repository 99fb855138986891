// icegate's DTLS identity: a certificate and its private key, with the SHA-256 fingerprint that
// goes into a=fingerprint. Immutable once built and shared (shared_ptr<const>) by every engine
// that uses it; rotation (reload) builds a new one and new calls pick it up.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "acl/expected.hpp"
#include "media/dtls/fingerprint.hpp"
#include "media/dtls/ossl.hpp"

namespace icegate::media::dtls {

struct CertificateOptions {
  std::string common_name = "icegate";
  // Peers authenticate the certificate by fingerprint only (RFC 8122 §5), so the validity period
  // only has to outlast the process; notBefore is back-dated a day for skewed peer clocks.
  std::chrono::hours validity{24 * 365};
};

class Certificate {
 public:
  // A fresh ECDSA P-256 key and a self-signed X.509v3 certificate (ecdsa-with-SHA256).
  static Expected<std::shared_ptr<const Certificate>, std::string> generate(
      const CertificateOptions& options = {});
  // Certificate and private key from PEM text (any key type OpenSSL accepts for TLS); the key
  // must match the certificate.
  static Expected<std::shared_ptr<const Certificate>, std::string> from_pem(
      std::string_view certificate_pem, std::string_view private_key_pem);
  // The same from files; errors name the file.
  static Expected<std::shared_ptr<const Certificate>, std::string> load_pem_files(
      const std::filesystem::path& certificate_file, const std::filesystem::path& key_file);

  X509* x509() const noexcept { return cert_.get(); }
  EVP_PKEY* private_key() const noexcept { return key_.get(); }
  const Fingerprint& fingerprint() const noexcept { return fingerprint_; }  // sha-256
  // "sha-256 AB:CD:..." for a=fingerprint.
  std::string sdp_fingerprint() const { return fingerprint_.to_string(); }
  std::string to_pem() const;  // the certificate, for operators and tests

 private:
  Certificate(ossl::X509Ptr cert, ossl::EvpPkeyPtr key, Fingerprint fp)
      : cert_(std::move(cert)), key_(std::move(key)), fingerprint_(std::move(fp)) {}
  static Expected<std::shared_ptr<const Certificate>, std::string> adopt(ossl::X509Ptr cert,
                                                                         ossl::EvpPkeyPtr key);
  ossl::X509Ptr cert_;
  ossl::EvpPkeyPtr key_;
  Fingerprint fingerprint_;
};

}  // namespace icegate::media::dtls
