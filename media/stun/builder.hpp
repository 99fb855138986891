// Builds STUN messages attribute by attribute. MESSAGE-INTEGRITY(-SHA256) and FINGERPRINT
// are computed over the bytes written so far, so they must be added last, in that order
// (RFC 5389 §15.4, §15.5; RFC 8489 §14.6).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "media/endpoint.hpp"
#include "media/stun/message.hpp"

namespace icegate::media::stun {

class MessageBuilder {
 public:
  MessageBuilder(MessageType type, const TransactionId& tid);

  // Byte used to pad values to 4 bytes. Any value is legal (RFC 5389 §15); zero by default.
  // RFC 5769's vectors pad with spaces, which is how the tests reproduce them exactly.
  MessageBuilder& padding(std::byte b) noexcept {
    padding_ = b;
    return *this;
  }

  // Values longer than 65535 bytes are cut: STUN cannot express them.
  MessageBuilder& add(std::uint16_t type, std::span<const std::byte> value);
  MessageBuilder& add_text(std::uint16_t type, std::string_view text);
  MessageBuilder& add_u32(std::uint16_t type, std::uint32_t v);
  MessageBuilder& add_u64(std::uint16_t type, std::uint64_t v);
  MessageBuilder& add_flag(std::uint16_t type);  // empty value, e.g. USE-CANDIDATE
  // Any address attribute; xored or not according to its type.
  MessageBuilder& add_address(std::uint16_t type, const Endpoint& e);
  // Reason "" takes the RFC's default phrase.
  MessageBuilder& add_error_code(int code, std::string_view reason = {});
  MessageBuilder& add_unknown_attributes(std::span<const std::uint16_t> types);
  MessageBuilder& add_requested_transport(std::uint8_t protocol);

  MessageBuilder& add_message_integrity(std::span<const std::byte> key);
  MessageBuilder& add_message_integrity_sha256(std::span<const std::byte> key);
  MessageBuilder& add_fingerprint();

  const std::vector<std::byte>& bytes() const noexcept { return buf_; }
  std::vector<std::byte> finish() && { return std::move(buf_); }

 private:
  void append(std::uint16_t type, std::span<const std::byte> value);
  void set_length(std::size_t body);

  TransactionId tid_;
  std::vector<std::byte> buf_;
  std::byte padding_{0};
};

}  // namespace icegate::media::stun
