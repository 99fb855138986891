// The client side of digest authentication, computed independently of Sofia and of
// sip/digest.cpp (RFC 2617 §3.2.2, RFC 7616 / RFC 8760 SHA-256, qop=auth), for tests.
#pragma once

#include <openssl/evp.h>

#include <string>
#include <vector>

namespace icegate::sip::test {

inline std::string hash_hex(const std::string& s, const EVP_MD* md) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(s.data(), s.size(), out, &len, md, nullptr);
  static const char* d = "0123456789abcdef";
  std::string h;
  for (unsigned i = 0; i < len; ++i) h += {d[out[i] >> 4], d[out[i] & 15]};
  return h;
}
inline std::string md5_hex(const std::string& s) {
  return hash_hex(s, EVP_md5());
}

// The Authorization parameters a client sends for `method` on `uri`; `nc` nullptr: no qop
// (RFC 2069 style).
inline std::vector<std::string> client_params(const std::string& user, const std::string& realm,
                                              const std::string& password, const std::string& nonce,
                                              const std::string& method, const std::string& uri,
                                              const char* nc = "00000001",
                                              const std::string& algorithm = "MD5") {
  const EVP_MD* md = algorithm == "SHA-256" ? EVP_sha256() : EVP_md5();
  const std::string cnonce = "0a4f113b";
  const std::string ha1 = hash_hex(user + ":" + realm + ":" + password, md);
  const std::string ha2 = hash_hex(method + ":" + uri, md);
  std::vector<std::string> p{"username=\"" + user + "\"", "realm=\"" + realm + "\"",
                             "nonce=\"" + nonce + "\"", "uri=\"" + uri + "\"",
                             "algorithm=" + algorithm};
  if (nc) {
    p.push_back("response=\"" +
                hash_hex(ha1 + ":" + nonce + ":" + nc + ":" + cnonce + ":auth:" + ha2, md) + "\"");
    p.push_back("cnonce=\"" + cnonce + "\"");
    p.push_back("qop=auth");
    p.push_back(std::string("nc=") + nc);
  } else {
    p.push_back("response=\"" + hash_hex(ha1 + ":" + nonce + ":" + ha2, md) + "\"");
  }
  return p;
}

}  // namespace icegate::sip::test
