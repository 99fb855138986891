// Fuzz target for CIDR and address text: parsing never crashes, errors point inside the input,
// and parse -> to_string -> parse gives back the same prefix in canonical form.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "acl/address.hpp"

using icegate::acl::Address;
using icegate::acl::Cidr;

namespace {

void check_cidr(std::string_view text) {
  const auto c = Cidr::parse(text);
  if (!c) {
    if (c.error().reason.empty() || c.error().column > text.size()) std::abort();
    return;
  }
  if (c->prefix_len() > c->network().bit_width()) std::abort();
  if (!c->contains(c->network())) std::abort();
  const std::string canonical = c->to_string();
  const auto again = Cidr::parse(canonical);
  if (!again || !(*again == *c)) std::abort();
  // The canonical text has no host bits and is a fixed point.
  if (again->had_host_bits() || again->to_string() != canonical) std::abort();
}

void check_address(std::string_view text) {
  const auto a = Address::parse(text);
  if (!a) {
    if (a.error().empty()) std::abort();
    return;
  }
  const std::string canonical = a->to_string();
  const auto again = Address::parse(canonical);
  if (!again || *again != *a || again->to_string() != canonical) std::abort();
  // The unmapped form of a mapped address is the IPv4 address it carries, and unmapping twice
  // changes nothing.
  const Address u = a->unmapped();
  if (u.unmapped() != u || (a->is_v4_mapped() && !u.is_v4())) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check_cidr(text);
  check_address(text);
  return 0;
}
