#include "media/stunclient/messages.hpp"

#include "media/stun/builder.hpp"

namespace icegate::media::stunclient {

std::vector<std::byte> binding_request(const stun::TransactionId& tid,
                                       std::optional<stun::ChangeRequest> change,
                                       std::optional<std::uint16_t> response_port) {
  stun::MessageBuilder b({stun::method::binding, stun::MessageClass::request}, tid);
  if (change) b.add_u32(stun::attr::change_request, stun::change_request_bits(*change));
  if (response_port) {
    // RFC 5780 §7.5: a 16-bit port followed by two bytes of padding.
    const std::byte v[4] = {static_cast<std::byte>(*response_port >> 8),
                            static_cast<std::byte>(*response_port & 0xFF), std::byte{0},
                            std::byte{0}};
    b.add(kAttrResponsePort, v);
  }
  b.add_fingerprint();
  return std::move(b).finish();
}

std::optional<stun::Message> parse_stun(std::span<const std::byte> bytes) {
  if (!stun::looks_like_stun(bytes)) return std::nullopt;
  auto m = stun::parse(bytes);
  if (!m) return std::nullopt;
  return std::move(*m);
}

Expected<Endpoint, std::string> mapped_address(const stun::Message& m) {
  const stun::Attribute* a = m.find(stun::attr::xor_mapped_address);
  if (a == nullptr) a = m.find(stun::attr::mapped_address);
  if (a == nullptr) return unexpected(std::string("no XOR-MAPPED-ADDRESS or MAPPED-ADDRESS"));
  auto e = stun::read_address(m, *a);
  if (!e) return unexpected(e.error().reason);
  return *e;
}

std::optional<Endpoint> address_attribute(const stun::Message& m, std::uint16_t type) {
  const stun::Attribute* a = m.find(type);
  if (a == nullptr) return std::nullopt;
  auto e = stun::read_address(m, *a);
  if (!e) return std::nullopt;
  return *e;
}

std::optional<std::string> text_attribute(const stun::Message& m, std::uint16_t type) {
  const stun::Attribute* a = m.find(type);
  if (a == nullptr) return std::nullopt;
  auto t = stun::read_text(m, *a);
  if (!t) return std::nullopt;
  return *t;
}

}  // namespace icegate::media::stunclient
