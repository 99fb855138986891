// The client side of digest authentication, computed independently of Sofia and of
// sip/digest.cpp (RFC 2617 §3.2.2, qop=auth), for tests.
#pragma once

#include <openssl/evp.h>

#include <string>
#include <vector>

namespace icegate::sip::test {

inline std::string md5_hex(const std::string& s) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(s.data(), s.size(), out, &len, EVP_md5(), nullptr);
  static const char* d = "0123456789abcdef";
  std::string h;
  for (unsigned i = 0; i < len; ++i) h += {d[out[i] >> 4], d[out[i] & 15]};
  return h;
}

// The Authorization parameters a client sends for `method` on `uri`.
inline std::vector<std::string> client_params(const std::string& user, const std::string& realm,
                                              const std::string& password, const std::string& nonce,
                                              const std::string& method, const std::string& uri) {
  const std::string cnonce = "0a4f113b", nc = "00000001";
  const std::string ha1 = md5_hex(user + ":" + realm + ":" + password);
  const std::string ha2 = md5_hex(method + ":" + uri);
  const std::string response = md5_hex(ha1 + ":" + nonce + ":" + nc + ":" + cnonce + ":auth:" + ha2);
  return {"username=\"" + user + "\"", "realm=\"" + realm + "\"", "nonce=\"" + nonce + "\"",
          "uri=\"" + uri + "\"",        "response=\"" + response + "\"", "algorithm=MD5",
          "cnonce=\"" + cnonce + "\"", "qop=auth",                    "nc=" + nc};
}

}  // namespace icegate::sip::test
