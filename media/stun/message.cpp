#include "media/stun/message.hpp"

#include <algorithm>
#include <cstdio>

#include "media/stun/wire.hpp"

namespace icegate::media::stun {

namespace attr {

namespace {
struct Named {
  std::uint16_t type;
  const char* name;
};
constexpr Named kNames[] = {
    {mapped_address, "MAPPED-ADDRESS"},
    {change_request, "CHANGE-REQUEST"},
    {username, "USERNAME"},
    {message_integrity, "MESSAGE-INTEGRITY"},
    {error_code, "ERROR-CODE"},
    {unknown_attributes, "UNKNOWN-ATTRIBUTES"},
    {channel_number, "CHANNEL-NUMBER"},
    {lifetime, "LIFETIME"},
    {xor_peer_address, "XOR-PEER-ADDRESS"},
    {data, "DATA"},
    {realm, "REALM"},
    {nonce, "NONCE"},
    {xor_relayed_address, "XOR-RELAYED-ADDRESS"},
    {requested_transport, "REQUESTED-TRANSPORT"},
    {message_integrity_sha256, "MESSAGE-INTEGRITY-SHA256"},
    {password_algorithm, "PASSWORD-ALGORITHM"},
    {userhash, "USERHASH"},
    {xor_mapped_address, "XOR-MAPPED-ADDRESS"},
    {priority, "PRIORITY"},
    {use_candidate, "USE-CANDIDATE"},
    {software, "SOFTWARE"},
    {alternate_server, "ALTERNATE-SERVER"},
    {fingerprint, "FINGERPRINT"},
    {ice_controlled, "ICE-CONTROLLED"},
    {ice_controlling, "ICE-CONTROLLING"},
    {response_origin, "RESPONSE-ORIGIN"},
    {other_address, "OTHER-ADDRESS"},
};
}  // namespace

bool is_known(std::uint16_t type) noexcept {
  return std::any_of(std::begin(kNames), std::end(kNames),
                     [type](const Named& n) { return n.type == type; });
}

std::string name(std::uint16_t type) {
  for (const auto& n : kNames) {
    if (n.type == type) return n.name;
  }
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%04X", static_cast<unsigned>(type));
  return buf;
}

}  // namespace attr

const Attribute* Message::find(std::uint16_t type) const noexcept {
  bool after_integrity = false;
  for (const auto& a : attributes) {
    if (after_integrity && a.type != attr::message_integrity_sha256 &&
        a.type != attr::fingerprint) {
      continue;
    }
    if (a.type == type) return &a;
    if (a.type == attr::message_integrity || a.type == attr::message_integrity_sha256) {
      after_integrity = true;
    }
  }
  return nullptr;
}

std::vector<std::uint16_t> Message::unknown_required() const {
  std::vector<std::uint16_t> out;
  for (const auto& a : attributes) {
    if (attr::comprehension_required(a.type) && !attr::is_known(a.type) &&
        std::find(out.begin(), out.end(), a.type) == out.end()) {
      out.push_back(a.type);
    }
  }
  return out;
}

namespace {
Unexpected<ParseError> fail(std::size_t offset, std::string reason) {
  return unexpected(ParseError{offset, std::move(reason)});
}
}  // namespace

Expected<Message, ParseError> parse(std::span<const std::byte> in) {
  using wire::load16;
  using wire::load32;
  if (in.size() < kHeaderSize) {
    return fail(0, "datagram of " + std::to_string(in.size()) +
                       " bytes is shorter than the 20-byte STUN header");
  }
  // RFC 5389 §6: the two most significant bits of every STUN message are zero.
  if ((std::to_integer<unsigned>(in[0]) & 0xC0u) != 0) {
    return fail(0, "the first two bits of a STUN message must be zero");
  }
  const std::size_t length = load16(in, 2);
  if (length % 4 != 0) {
    return fail(2, "message length " + std::to_string(length) + " is not a multiple of 4");
  }
  if (load32(in, 4) != kMagicCookie) return fail(4, "magic cookie is not 0x2112A442");
  if (kHeaderSize + length != in.size()) {
    return fail(2, "length field says " + std::to_string(length) +
                       " bytes of attributes but the datagram carries " +
                       std::to_string(in.size() - kHeaderSize));
  }

  Message m;
  m.type = MessageType::decode(load16(in, 0));
  std::copy_n(in.begin() + 8, m.transaction_id.size(), m.transaction_id.begin());

  std::size_t at = kHeaderSize;
  bool seen_fingerprint = false;
  while (at < in.size()) {
    if (seen_fingerprint) {
      // RFC 5389 §15.5: FINGERPRINT, when present, MUST be the last attribute.
      return fail(at, "attribute after FINGERPRINT");
    }
    const std::uint16_t type = load16(in, at);
    const std::size_t len = load16(in, at + 2);
    const std::size_t value_at = at + kAttributeHeaderSize;
    if (len > in.size() - value_at) {
      return fail(at + 2, attr::name(type) + " length " + std::to_string(len) +
                              " runs past the end of the message");
    }
    // Offsets and the message length are multiples of 4, so a value that fits also fits with
    // its padding (RFC 5389 §15): no separate padding check is needed.
    switch (type) {
      case attr::message_integrity:
        if (len != 20) return fail(at + 2, "MESSAGE-INTEGRITY must be 20 bytes");
        break;
      case attr::message_integrity_sha256:
        // RFC 8489 §14.6: 16 to 32 bytes, a multiple of 4 (truncated HMAC-SHA256).
        if (len < 16 || len > 32 || len % 4 != 0) {
          return fail(at + 2, "MESSAGE-INTEGRITY-SHA256 must be 16-32 bytes, a multiple of 4");
        }
        break;
      case attr::fingerprint:
        if (len != 4) return fail(at + 2, "FINGERPRINT must be 4 bytes");
        seen_fingerprint = true;
        break;
      default:
        break;
    }
    Attribute a;
    a.type = type;
    a.offset = at;
    a.value.assign(in.begin() + static_cast<std::ptrdiff_t>(value_at),
                   in.begin() + static_cast<std::ptrdiff_t>(value_at + len));
    m.attributes.push_back(std::move(a));
    at = value_at + wire::padded(len);
  }
  m.raw.assign(in.begin(), in.end());
  return m;
}

bool looks_like_stun(std::span<const std::byte> in) noexcept {
  if (in.size() < kHeaderSize) return false;
  if ((std::to_integer<unsigned>(in[0]) & 0xC0u) != 0) return false;
  const std::size_t length = wire::load16(in, 2);
  return length % 4 == 0 && wire::load32(in, 4) == kMagicCookie &&
         kHeaderSize + length == in.size();
}

std::vector<std::byte> encode(const Message& m, std::byte padding) {
  std::vector<std::byte> out;
  std::size_t body = 0;
  for (const auto& a : m.attributes) body += kAttributeHeaderSize + wire::padded(a.value.size());
  out.reserve(kHeaderSize + body);
  wire::put16(out, m.type.encode());
  wire::put16(out, static_cast<std::uint16_t>(body));
  wire::put32(out, kMagicCookie);
  out.insert(out.end(), m.transaction_id.begin(), m.transaction_id.end());
  for (const auto& a : m.attributes) {
    wire::put16(out, a.type);
    wire::put16(out, static_cast<std::uint16_t>(a.value.size()));
    out.insert(out.end(), a.value.begin(), a.value.end());
    out.resize(out.size() + (wire::padded(a.value.size()) - a.value.size()), padding);
  }
  return out;
}

}  // namespace icegate::media::stun
