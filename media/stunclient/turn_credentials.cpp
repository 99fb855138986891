#include "media/stunclient/turn_credentials.hpp"

#include <openssl/evp.h>

#include <vector>

#include "media/stun/integrity.hpp"

namespace icegate::media::stunclient {

std::string base64(std::string_view bytes) {
  std::vector<unsigned char> out(4 * ((bytes.size() + 2) / 3) + 1);
  const int n = EVP_EncodeBlock(out.data(), reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  return std::string(reinterpret_cast<const char*>(out.data()), n > 0 ? static_cast<std::size_t>(n) : 0);
}

TurnCredentials turn_rest_credentials(std::string_view shared_secret, std::string_view user,
                                      std::int64_t expiry_unix_time) {
  TurnCredentials c;
  c.username = std::to_string(expiry_unix_time) + ":" + std::string(user);
  const auto mac = stun::hmac_sha1(stun::as_bytes(shared_secret), stun::as_bytes(c.username));
  c.password = base64(stun::as_text(mac));
  return c;
}

}  // namespace icegate::media::stunclient
