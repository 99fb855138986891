#include "media/stun/builder.hpp"

#include <algorithm>
#include <limits>

#include "media/stun/attributes.hpp"
#include "media/stun/integrity.hpp"
#include "media/stun/wire.hpp"

namespace icegate::media::stun {

MessageBuilder::MessageBuilder(MessageType type, const TransactionId& tid) : tid_(tid) {
  buf_.reserve(128);
  wire::put16(buf_, type.encode());
  wire::put16(buf_, 0);
  wire::put32(buf_, kMagicCookie);
  buf_.insert(buf_.end(), tid.begin(), tid.end());
}

void MessageBuilder::set_length(std::size_t body) {
  wire::store16(buf_, 2, static_cast<std::uint16_t>(std::min<std::size_t>(body, 0xFFFC)));
}

void MessageBuilder::append(std::uint16_t type, std::span<const std::byte> value) {
  value =
      value.first(std::min<std::size_t>(value.size(), std::numeric_limits<std::uint16_t>::max()));
  wire::put16(buf_, type);
  wire::put16(buf_, static_cast<std::uint16_t>(value.size()));
  buf_.insert(buf_.end(), value.begin(), value.end());
  buf_.resize(buf_.size() + (wire::padded(value.size()) - value.size()), padding_);
  set_length(buf_.size() - kHeaderSize);
}

MessageBuilder& MessageBuilder::add(std::uint16_t type, std::span<const std::byte> value) {
  append(type, value);
  return *this;
}

MessageBuilder& MessageBuilder::add_text(std::uint16_t type, std::string_view text) {
  return add(type, as_bytes(text));
}

MessageBuilder& MessageBuilder::add_u32(std::uint16_t type, std::uint32_t v) {
  std::vector<std::byte> value;
  wire::put32(value, v);
  return add(type, value);
}

MessageBuilder& MessageBuilder::add_u64(std::uint16_t type, std::uint64_t v) {
  std::vector<std::byte> value;
  wire::put64(value, v);
  return add(type, value);
}

MessageBuilder& MessageBuilder::add_flag(std::uint16_t type) {
  return add(type, {});
}

MessageBuilder& MessageBuilder::add_address(std::uint16_t type, const Endpoint& e) {
  return add(type, address_value(type, e, tid_));
}

MessageBuilder& MessageBuilder::add_error_code(int code, std::string_view reason) {
  return add(attr::error_code,
             error_code_value(code, reason.empty() ? default_reason(code) : reason));
}

MessageBuilder& MessageBuilder::add_unknown_attributes(std::span<const std::uint16_t> types) {
  return add(attr::unknown_attributes, unknown_attributes_value(types));
}

MessageBuilder& MessageBuilder::add_requested_transport(std::uint8_t protocol) {
  // RFC 8656 §18.7: protocol number then 24 reserved bits.
  const std::byte value[4] = {std::byte{protocol}, std::byte{0}, std::byte{0}, std::byte{0}};
  return add(attr::requested_transport, value);
}

MessageBuilder& MessageBuilder::add_message_integrity(std::span<const std::byte> key) {
  // RFC 5389 §15.4: the HMAC covers the header, with the length already counting the
  // MESSAGE-INTEGRITY attribute, and every attribute before it.
  set_length(buf_.size() - kHeaderSize + kAttributeHeaderSize + 20);
  const auto mac = hmac_sha1(key, buf_);
  append(attr::message_integrity, mac);
  return *this;
}

MessageBuilder& MessageBuilder::add_message_integrity_sha256(std::span<const std::byte> key) {
  set_length(buf_.size() - kHeaderSize + kAttributeHeaderSize + 32);
  const auto mac = hmac_sha256(key, buf_);
  append(attr::message_integrity_sha256, mac);
  return *this;
}

MessageBuilder& MessageBuilder::add_fingerprint() {
  // RFC 5389 §15.5: CRC-32 over everything before it, length counting FINGERPRINT itself.
  set_length(buf_.size() - kHeaderSize + kAttributeHeaderSize + 4);
  std::vector<std::byte> value;
  wire::put32(value, crc32(buf_) ^ kFingerprintXor);
  append(attr::fingerprint, value);
  return *this;
}

}  // namespace icegate::media::stun
