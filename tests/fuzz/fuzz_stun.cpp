// Fuzz target for the STUN codec: parse; when that succeeds, re-encode, parse again and
// require the same message; exercise every typed reader and the integrity checks. Must never
// crash, leak or trip a sanitizer on any input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "media/stun/attributes.hpp"
#include "media/stun/integrity.hpp"
#include "media/stun/message.hpp"

using namespace icegate::media::stun;

namespace {
[[noreturn]] void fail() {
  std::abort();
}

void read_all(const Message& m) {
  for (const auto& a : m.attributes) {
    if (is_address(a.type)) (void)read_address(m, a);
    switch (a.type) {
      case attr::error_code:
        (void)read_error_code(m, a);
        break;
      case attr::priority:
      case attr::lifetime:
        (void)read_u32(m, a);
        break;
      case attr::ice_controlled:
      case attr::ice_controlling:
        (void)read_u64(m, a);
        break;
      case attr::username:
      case attr::realm:
      case attr::nonce:
      case attr::software:
        (void)read_text(m, a);
        break;
      case attr::unknown_attributes:
        (void)read_unknown_attributes(m, a);
        break;
      case attr::change_request:
        (void)read_change_request(m, a);
        break;
      case attr::requested_transport:
        (void)read_requested_transport(m, a);
        break;
      default:
        break;
    }
  }
  (void)m.unknown_required();
  (void)verify_message_integrity(m, short_term_key("password"));
  (void)verify_message_integrity_sha256(m, short_term_key("password"));
  (void)verify_fingerprint(m);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
  auto first = parse(in);
  // looks_like_stun checks the header only: it must agree with parse() about every header
  // error (offsets below 20) and accept whatever fails only in the attributes.
  const bool header_ok = first.has_value() || first.error().offset >= kHeaderSize;
  if (looks_like_stun(in) != header_ok) fail();
  if (!first) return 0;
  read_all(*first);
  // Zero padding is one valid encoding; re-parsing it must give the same message.
  const auto bytes = encode(*first);
  auto second = parse(bytes);
  if (!second) fail();
  if (second->type != first->type || second->transaction_id != first->transaction_id ||
      second->attributes.size() != first->attributes.size()) {
    fail();
  }
  for (std::size_t i = 0; i < first->attributes.size(); ++i) {
    if (second->attributes[i].type != first->attributes[i].type ||
        second->attributes[i].value != first->attributes[i].value ||
        second->attributes[i].offset != first->attributes[i].offset) {
      fail();
    }
  }
  if (encode(*second) != bytes) fail();
  return 0;
}
