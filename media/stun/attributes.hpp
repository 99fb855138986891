// Typed readers and writers for STUN attribute values (RFC 5389 §15, RFC 5780 §7,
// RFC 8445 §7.1, RFC 8656 §18). Readers take the attribute of a parsed message and report
// errors with offsets into that message.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "media/endpoint.hpp"
#include "media/stun/message.hpp"

namespace icegate::media::stun {

// MAPPED-ADDRESS style attributes: XOR-MAPPED-ADDRESS, XOR-PEER-ADDRESS and
// XOR-RELAYED-ADDRESS are xored with the magic cookie (and transaction id for IPv6);
// MAPPED-ADDRESS, OTHER-ADDRESS, RESPONSE-ORIGIN and ALTERNATE-SERVER are not.
bool is_xor_address(std::uint16_t type) noexcept;
bool is_address(std::uint16_t type) noexcept;

Expected<Endpoint, ParseError> read_address(const Message& m, const Attribute& a);
std::vector<std::byte> address_value(std::uint16_t type, const Endpoint& e,
                                     const TransactionId& tid);

// RFC 5389 §15.6: class 3-6 and number 0-99; the reason phrase is UTF-8 text.
struct ErrorCode {
  int code = 0;
  std::string reason;
};
Expected<ErrorCode, ParseError> read_error_code(const Message& m, const Attribute& a);
std::vector<std::byte> error_code_value(int code, std::string_view reason);
// The RFC's recommended reason phrase for a code ("Bad Request" for 400), or "".
std::string_view default_reason(int code) noexcept;

// PRIORITY, LIFETIME and other plain 32-bit values.
Expected<std::uint32_t, ParseError> read_u32(const Message& m, const Attribute& a);
// ICE-CONTROLLING / ICE-CONTROLLED tie-breakers.
Expected<std::uint64_t, ParseError> read_u64(const Message& m, const Attribute& a);

// USERNAME (< 513 bytes), REALM and NONCE (< 763 bytes), SOFTWARE (< 763 bytes), reason
// phrases. The value must not exceed the RFC limit; UTF-8 validity is not checked because the
// text is only ever compared byte-wise or logged.
Expected<std::string, ParseError> read_text(const Message& m, const Attribute& a);

// UNKNOWN-ATTRIBUTES: a list of 16-bit types.
Expected<std::vector<std::uint16_t>, ParseError> read_unknown_attributes(const Message& m,
                                                                         const Attribute& a);
std::vector<std::byte> unknown_attributes_value(std::span<const std::uint16_t> types);

// RFC 5780 §7.2 CHANGE-REQUEST flags.
struct ChangeRequest {
  bool change_ip = false;
  bool change_port = false;
  friend bool operator==(const ChangeRequest&, const ChangeRequest&) = default;
};
Expected<ChangeRequest, ParseError> read_change_request(const Message& m, const Attribute& a);
std::uint32_t change_request_bits(ChangeRequest c) noexcept;

// RFC 8656 §18.7 REQUESTED-TRANSPORT: the IP protocol number (17 = UDP).
Expected<std::uint8_t, ParseError> read_requested_transport(const Message& m, const Attribute& a);
inline constexpr std::uint8_t kTransportUdp = 17;

}  // namespace icegate::media::stun
