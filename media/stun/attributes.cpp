#include "media/stun/attributes.hpp"

#include <array>

#include "media/stun/wire.hpp"

namespace icegate::media::stun {

namespace {

constexpr std::uint8_t kFamilyV4 = 0x01;
constexpr std::uint8_t kFamilyV6 = 0x02;

Unexpected<ParseError> fail(const Attribute& a, std::size_t at, std::string reason) {
  return unexpected(ParseError{a.offset + kAttributeHeaderSize + at,
                               attr::name(a.type) + ": " + std::move(reason)});
}

// The 16 bytes an address is xored with: magic cookie then transaction id (RFC 5389 §15.2).
std::array<std::uint8_t, 16> xor_pad(const TransactionId& tid) {
  std::array<std::uint8_t, 16> pad{0x21, 0x12, 0xA4, 0x42};
  for (std::size_t i = 0; i < tid.size(); ++i) pad[4 + i] = std::to_integer<std::uint8_t>(tid[i]);
  return pad;
}

}  // namespace

bool is_xor_address(std::uint16_t type) noexcept {
  return type == attr::xor_mapped_address || type == attr::xor_peer_address ||
         type == attr::xor_relayed_address;
}

bool is_address(std::uint16_t type) noexcept {
  return is_xor_address(type) || type == attr::mapped_address || type == attr::other_address ||
         type == attr::response_origin || type == attr::alternate_server;
}

Expected<Endpoint, ParseError> read_address(const Message& m, const Attribute& a) {
  const std::span<const std::byte> v = a.value;
  if (v.size() < 4) return fail(a, 0, "shorter than 4 bytes");
  const auto family = std::to_integer<std::uint8_t>(v[1]);
  const std::size_t addr_len = family == kFamilyV4 ? 4 : family == kFamilyV6 ? 16 : 0;
  if (addr_len == 0) return fail(a, 1, "unknown address family " + std::to_string(family));
  if (v.size() != 4 + addr_len) {
    return fail(a, 0, "length " + std::to_string(v.size()) + " does not match the family");
  }
  const bool xored = is_xor_address(a.type);
  const auto pad = xor_pad(m.transaction_id);
  std::uint16_t port = wire::load16(v, 2);
  if (xored) port = static_cast<std::uint16_t>(port ^ 0x2112);
  std::array<std::uint8_t, 16> bytes{};
  for (std::size_t i = 0; i < addr_len; ++i) {
    bytes[i] = std::to_integer<std::uint8_t>(v[4 + i]);
    if (xored) bytes[i] ^= pad[i];
  }
  if (family == kFamilyV4)
    return Endpoint{acl::Address::v4({bytes[0], bytes[1], bytes[2], bytes[3]}), port};
  return Endpoint{acl::Address::v6(bytes), port};
}

std::vector<std::byte> address_value(std::uint16_t type, const Endpoint& e,
                                     const TransactionId& tid) {
  const bool xored = is_xor_address(type);
  const bool v4 = e.address.is_v4();
  const std::size_t addr_len = v4 ? 4 : 16;
  const auto pad = xor_pad(tid);
  std::vector<std::byte> out;
  out.reserve(4 + addr_len);
  out.push_back(std::byte{0});
  out.push_back(static_cast<std::byte>(v4 ? kFamilyV4 : kFamilyV6));
  wire::put16(out, xored ? static_cast<std::uint16_t>(e.port ^ 0x2112) : e.port);
  for (std::size_t i = 0; i < addr_len; ++i) {
    const std::uint8_t b = e.address.bytes()[i];
    out.push_back(static_cast<std::byte>(xored ? b ^ pad[i] : b));
  }
  return out;
}

Expected<ErrorCode, ParseError> read_error_code(const Message&, const Attribute& a) {
  const std::span<const std::byte> v = a.value;
  if (v.size() < 4) return fail(a, 0, "shorter than 4 bytes");
  if (v.size() > 4 + 763) return fail(a, 4, "reason phrase longer than 763 bytes");
  const unsigned cls = std::to_integer<unsigned>(v[2]) & 0x07u;
  const unsigned number = std::to_integer<unsigned>(v[3]);
  // RFC 5389 §15.6: class 3..6, number 0..99.
  if (cls < 3 || cls > 6) return fail(a, 2, "error class " + std::to_string(cls) + " is not 3-6");
  if (number > 99) return fail(a, 3, "error number " + std::to_string(number) + " exceeds 99");
  return ErrorCode{static_cast<int>(cls * 100 + number), std::string(as_text(v.subspan(4)))};
}

std::vector<std::byte> error_code_value(int code, std::string_view reason) {
  // Sized once and filled by index: GCC 12 at -O2 misreads push_back + insert as an overflow.
  const std::string_view text = reason.substr(0, 763);  // RFC 5389 §15.6: < 128 characters
  std::vector<std::byte> out(4 + text.size());
  out[2] = static_cast<std::byte>((code / 100) & 0x07);
  out[3] = static_cast<std::byte>(code % 100);
  for (std::size_t i = 0; i < text.size(); ++i) out[4 + i] = static_cast<std::byte>(text[i]);
  return out;
}

std::string_view default_reason(int code) noexcept {
  switch (code) {
    case 300:
      return "Try Alternate";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 420:
      return "Unknown Attribute";
    case 437:
      return "Allocation Mismatch";
    case 438:
      return "Stale Nonce";
    case 441:
      return "Wrong Credentials";
    case 442:
      return "Unsupported Transport Protocol";
    case 486:
      return "Allocation Quota Reached";
    case 487:
      return "Role Conflict";
    case 500:
      return "Server Error";
    case 508:
      return "Insufficient Capacity";
    default:
      return "";
  }
}

Expected<std::uint32_t, ParseError> read_u32(const Message&, const Attribute& a) {
  if (a.value.size() != 4) return fail(a, 0, "must be 4 bytes");
  return wire::load32(a.value, 0);
}

Expected<std::uint64_t, ParseError> read_u64(const Message&, const Attribute& a) {
  if (a.value.size() != 8) return fail(a, 0, "must be 8 bytes");
  return wire::load64(a.value, 0);
}

Expected<std::string, ParseError> read_text(const Message&, const Attribute& a) {
  // RFC 5389 §15.3: USERNAME < 513 bytes; §15.7-15.10: REALM, NONCE, SOFTWARE < 763 bytes.
  const std::size_t limit = a.type == attr::username ? 512 : 763;
  if (a.value.size() > limit) {
    return fail(a, limit, "longer than " + std::to_string(limit) + " bytes");
  }
  return std::string(as_text(a.value));
}

Expected<std::vector<std::uint16_t>, ParseError> read_unknown_attributes(const Message&,
                                                                         const Attribute& a) {
  if (a.value.size() % 2 != 0) return fail(a, 0, "odd length");
  std::vector<std::uint16_t> out;
  for (std::size_t i = 0; i < a.value.size(); i += 2) out.push_back(wire::load16(a.value, i));
  return out;
}

std::vector<std::byte> unknown_attributes_value(std::span<const std::uint16_t> types) {
  std::vector<std::byte> out;
  for (auto t : types) wire::put16(out, t);
  return out;
}

Expected<ChangeRequest, ParseError> read_change_request(const Message& m, const Attribute& a) {
  auto bits = read_u32(m, a);
  if (!bits) return unexpected(bits.error());
  return ChangeRequest{(*bits & 0x4u) != 0, (*bits & 0x2u) != 0};
}

std::uint32_t change_request_bits(ChangeRequest c) noexcept {
  return (c.change_ip ? 0x4u : 0u) | (c.change_port ? 0x2u : 0u);
}

Expected<std::uint8_t, ParseError> read_requested_transport(const Message&, const Attribute& a) {
  if (a.value.size() != 4) return fail(a, 0, "must be 4 bytes");
  return std::to_integer<std::uint8_t>(a.value[0]);
}

}  // namespace icegate::media::stun
