// Fuzz target for the ICE candidate parser (RFC 8839 §5.1): whatever parses must serialise to
// text that parses to the same candidate, and serialising is a fixed point after one round.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sip/sdp/candidate.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using icegate::sip::sdp::Candidate;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto c = Candidate::parse(text);
  if (!c) {
    if (c.error().empty()) std::abort();
    return 0;
  }
  const std::string once = c->to_string();
  auto again = Candidate::parse(once);
  if (!again || !(*again == *c)) std::abort();
  if (again->to_string() != once) std::abort();
  // The accessors agree with each other on every input.
  if (c->is_mdns() && c->ip()) std::abort();
  return 0;
}
