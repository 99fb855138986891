// STUN messages (RFC 5389 / RFC 8489): header, raw attributes, parse and re-encode.
// Parsing is a pure function over the datagram; the input is copied, never modified, and kept
// in Message::raw because MESSAGE-INTEGRITY and FINGERPRINT are checked over the exact bytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "acl/expected.hpp"

namespace icegate::media::stun {

inline constexpr std::uint32_t kMagicCookie = 0x2112A442;
inline constexpr std::size_t kHeaderSize = 20;
inline constexpr std::size_t kAttributeHeaderSize = 4;

using TransactionId = std::array<std::byte, 12>;

enum class MessageClass : std::uint8_t { request = 0, indication = 1, success = 2, error = 3 };

namespace method {
inline constexpr std::uint16_t binding = 0x001;
// RFC 8656 (TURN)
inline constexpr std::uint16_t allocate = 0x003;
inline constexpr std::uint16_t refresh = 0x004;
inline constexpr std::uint16_t send = 0x006;
inline constexpr std::uint16_t data = 0x007;
inline constexpr std::uint16_t create_permission = 0x008;
inline constexpr std::uint16_t channel_bind = 0x009;
}  // namespace method

// Attribute types. Below 0x8000 comprehension-required, above comprehension-optional
// (RFC 5389 §15).
namespace attr {
inline constexpr std::uint16_t mapped_address = 0x0001;
inline constexpr std::uint16_t change_request = 0x0003;  // RFC 5780 §7.2
inline constexpr std::uint16_t username = 0x0006;
inline constexpr std::uint16_t message_integrity = 0x0008;
inline constexpr std::uint16_t error_code = 0x0009;
inline constexpr std::uint16_t unknown_attributes = 0x000A;
inline constexpr std::uint16_t channel_number = 0x000C;    // RFC 8656
inline constexpr std::uint16_t lifetime = 0x000D;          // RFC 8656
inline constexpr std::uint16_t xor_peer_address = 0x0012;  // RFC 8656
inline constexpr std::uint16_t data = 0x0013;              // RFC 8656
inline constexpr std::uint16_t realm = 0x0014;
inline constexpr std::uint16_t nonce = 0x0015;
inline constexpr std::uint16_t xor_relayed_address = 0x0016;       // RFC 8656
inline constexpr std::uint16_t requested_transport = 0x0019;       // RFC 8656
inline constexpr std::uint16_t message_integrity_sha256 = 0x001C;  // RFC 8489
inline constexpr std::uint16_t password_algorithm = 0x001D;        // RFC 8489
inline constexpr std::uint16_t userhash = 0x001E;                  // RFC 8489
inline constexpr std::uint16_t xor_mapped_address = 0x0020;
inline constexpr std::uint16_t priority = 0x0024;       // RFC 8445
inline constexpr std::uint16_t use_candidate = 0x0025;  // RFC 8445
inline constexpr std::uint16_t software = 0x8022;
inline constexpr std::uint16_t alternate_server = 0x8023;
inline constexpr std::uint16_t fingerprint = 0x8028;
inline constexpr std::uint16_t ice_controlled = 0x8029;   // RFC 8445
inline constexpr std::uint16_t ice_controlling = 0x802A;  // RFC 8445
inline constexpr std::uint16_t response_origin = 0x802B;  // RFC 5780
inline constexpr std::uint16_t other_address = 0x802C;    // RFC 5780

constexpr bool comprehension_required(std::uint16_t type) noexcept {
  return type < 0x8000;
}
// Attribute types this codec knows how to interpret (the rest are kept as opaque bytes).
bool is_known(std::uint16_t type) noexcept;
// Printable name for logs, e.g. "XOR-MAPPED-ADDRESS" or "0x7F01".
std::string name(std::uint16_t type);
}  // namespace attr

struct MessageType {
  std::uint16_t method = method::binding;
  MessageClass cls = MessageClass::request;

  // RFC 5389 §6: the class bits C1 C0 are interleaved with the 12 method bits.
  constexpr std::uint16_t encode() const noexcept {
    const auto m = static_cast<unsigned>(method & 0x0FFF);
    const auto c = static_cast<unsigned>(cls);
    return static_cast<std::uint16_t>((m & 0x000F) | ((c & 1u) << 4) | ((m & 0x0070) << 1) |
                                      ((c & 2u) << 7) | ((m & 0x0F80) << 2));
  }
  static constexpr MessageType decode(std::uint16_t t) noexcept {
    const auto m =
        static_cast<std::uint16_t>((t & 0x000F) | ((t & 0x00E0) >> 1) | ((t & 0x3E00) >> 2));
    const auto c = static_cast<std::uint8_t>(((t >> 4) & 1u) | ((t >> 7) & 2u));
    return {m, static_cast<MessageClass>(c)};
  }
  friend bool operator==(const MessageType&, const MessageType&) = default;
};

struct Attribute {
  std::uint16_t type = 0;
  std::vector<std::byte> value;  // without padding
  std::size_t offset = 0;        // offset of the attribute header within Message::raw
};

// Where (byte offset into the datagram) and why a parse failed.
struct ParseError {
  std::size_t offset = 0;
  std::string reason;
};

struct Message {
  MessageType type;
  TransactionId transaction_id{};
  std::vector<Attribute> attributes;  // every attribute in wire order, unknown ones included
  std::vector<std::byte> raw;         // the parsed bytes; empty for a message made in memory

  // The first attribute of `type` that counts. RFC 5389 §15.4 / RFC 8489 §14.5: attributes
  // after MESSAGE-INTEGRITY are ignored, except MESSAGE-INTEGRITY-SHA256 and FINGERPRINT.
  const Attribute* find(std::uint16_t type) const noexcept;
  bool has(std::uint16_t type) const noexcept { return find(type) != nullptr; }
  // Unknown comprehension-required attribute types, which a server answers with 420
  // (RFC 5389 §7.3.1).
  std::vector<std::uint16_t> unknown_required() const;
};

// Parses one STUN message that fills the whole datagram (RFC 5389 §6, §15). Validates the
// header, the attribute framing, the sizes of MESSAGE-INTEGRITY(-SHA256) and FINGERPRINT and
// that FINGERPRINT is last. Does NOT verify integrity or fingerprint (see integrity.hpp) and
// does not interpret other attribute values (see attributes.hpp).
Expected<Message, ParseError> parse(std::span<const std::byte> datagram);

// Cheap check used by demultiplexers: header shape, magic cookie and length match.
bool looks_like_stun(std::span<const std::byte> datagram) noexcept;

// Serialises a message with its attribute values verbatim (integrity and fingerprint values
// are copied, not recomputed: use MessageBuilder to sign). `padding` fills the 0-3 bytes after
// each value; RFC 5389 §15 lets it be anything and receivers must ignore it.
std::vector<std::byte> encode(const Message& message, std::byte padding = std::byte{0});

// Helpers shared by the codec.
inline std::span<const std::byte> as_bytes(std::string_view s) noexcept {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}
inline std::string_view as_text(std::span<const std::byte> b) noexcept {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

}  // namespace icegate::media::stun
