#include "gateway/cli/version.hpp"

// su_config.h first: sofia_features.h uses its SOFIAPUBVAR without including it.
#include <sofia-sip/su_config.h>

#include <openssl/crypto.h>
#include <openssl/opensslv.h>
#include <sofia-sip/sofia_features.h>
#include <srtp2/cipher.h>

#include <ostream>
#include <string_view>

#include "media/srtp/session.hpp"

// libsrtp2 exports its cipher types but installs no header for them (crypto/include/aes_icm*.h
// in its source). The AES-128 counter mode one says which crypto library it runs on: "... using
// openssl" in the tools/build-libsrtp build, "... using NSS" in Debian's libsrtp2-1.
extern "C" const srtp_cipher_type_t srtp_aes_icm_128;

namespace icegate::gateway {

void print_version(std::ostream& out) {
  out << "icegate " << ICEGATE_VERSION << "\n";
  // The library actually loaded, which may be newer than the headers built against.
  std::string_view sofia = sofia_sip_name_version;  // "sofia-sip-1.12.11devel"
  if (sofia.starts_with("sofia-sip-")) sofia.remove_prefix(10);
  out << "Sofia-SIP " << sofia << " (built with " << SOFIA_SIP_VERSION << ")\n";
  out << OpenSSL_version(OPENSSL_VERSION) << " (built with " << OPENSSL_VERSION_TEXT << ")\n";
  const std::string_view aes =
      srtp_aes_icm_128.description ? srtp_aes_icm_128.description : "unknown";
  const bool openssl = aes.find("openssl") != std::string_view::npos;
  out << media::srtp::libsrtp_version() << ", AES-CM: " << aes << "\n";
  out << "SRTP fast path (libsrtp2 on OpenSSL): "
      << (openssl ? "in use" : "not in use (Debian's libsrtp2; tools/build-libsrtp builds it)")
      << "\n";
}

}  // namespace icegate::gateway
