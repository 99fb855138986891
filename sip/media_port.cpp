#include "sip/media_port.hpp"

namespace icegate::sip {

std::string TransportAddress::to_string() const {
  const std::string host = address.is_v4() ? address.to_string() : "[" + address.to_string() + "]";
  return host + ":" + std::to_string(port);
}

}  // namespace icegate::sip
