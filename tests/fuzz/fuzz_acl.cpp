// Fuzz target for the ACL engine: builds an ACL from the input and compares the trie lookup with
// the brute-force reference (tests/acl/acl_reference.hpp) on addresses around every entry and on
// addresses taken from the input; any disagreement aborts. suspect_overlaps() is checked against
// its quadratic definition.
//
// Input: byte 0 = entry count (mod 65). Each entry: flags (bit 0 blacklist, bit 1 IPv6), prefix
// length (mod width + 1), then 4 or 16 address bytes. The rest: probes of flags (bit 1 IPv6,
// bit 2 mapped) and 4 or 16 address bytes. Short input ends the lists early.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "acl/acl.hpp"
#include "tests/acl/acl_reference.hpp"

namespace {

using namespace icegate::acl;

class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> in) : in_(in) {}
  bool has(std::size_t n) const { return in_.size() - pos_ >= n; }
  std::uint8_t byte() { return in_[pos_++]; }
  Address address(bool v6) {
    std::array<std::uint8_t, 16> b{};
    for (unsigned i = 0; i < (v6 ? 16u : 4u); ++i) b[i] = byte();
    return v6 ? Address::v6(b) : Address::v4(std::array<std::uint8_t, 4>{b[0], b[1], b[2], b[3]});
  }

 private:
  std::span<const std::uint8_t> in_;
  std::size_t pos_ = 0;
};

Address flip(const Address& a, unsigned bit) {
  auto b = a.bytes();
  b[bit / 8] ^= static_cast<std::uint8_t>(0x80u >> (bit % 8));
  return a.is_v4() ? Address::v4(std::array<std::uint8_t, 4>{b[0], b[1], b[2], b[3]})
                   : Address::v6(b);
}

void expect_same(const Acl& acl, const Address& a) {
  const Decision got = acl.check(a);
  const Decision want = icegate::acl::testing::reference_check(acl, a);
  if (got.verdict != want.verdict || got.entry != want.entry) std::abort();
}

void check_overlaps(const Acl& acl) {
  std::size_t want = 0;
  for (const auto& w : acl.entries()) {
    for (const auto& b : acl.entries()) {
      want += w.kind == ListKind::whitelist && b.kind == ListKind::blacklist &&
              w.cidr.prefix_len() < b.cidr.prefix_len() && w.cidr.overlaps(b.cidr);
    }
  }
  const auto got = acl.suspect_overlaps();
  if (got.size() != want) std::abort();
  for (const auto& o : got) {
    if (o.whitelist->kind != ListKind::whitelist || o.blacklist->kind != ListKind::blacklist ||
        o.whitelist->cidr.prefix_len() >= o.blacklist->cidr.prefix_len() ||
        !o.whitelist->cidr.overlaps(o.blacklist->cidr)) {
      std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Reader in({data, size});
  if (!in.has(1)) return 0;
  const unsigned count = in.byte() % 65u;
  AclBuilder builder("fuzz");
  for (unsigned i = 0; i < count && in.has(2); ++i) {
    const std::uint8_t flags = in.byte();
    const bool v6 = (flags & 2u) != 0;
    const unsigned len = in.byte() % (v6 ? 129u : 33u);
    if (!in.has(v6 ? 16 : 4)) break;
    builder.add(Cidr(in.address(v6), len),
                (flags & 1u) != 0 ? ListKind::blacklist : ListKind::whitelist);
  }
  const auto acl = std::move(builder).build();

  // Around every entry: its network, the first address outside it (last prefix bit flipped),
  // the first host bit flipped, and the mapped form of IPv4 ones.
  for (const Entry& e : acl->entries()) {
    const Address& net = e.cidr.network();
    const unsigned len = e.cidr.prefix_len();
    expect_same(*acl, net);
    if (len > 0) expect_same(*acl, flip(net, len - 1));
    if (len < net.bit_width()) expect_same(*acl, flip(net, len));
    if (net.is_v4()) expect_same(*acl, icegate::acl::testing::mapped(net));
  }
  while (in.has(1)) {
    const std::uint8_t flags = in.byte();
    const bool v6 = (flags & 2u) != 0;
    if (!in.has(v6 ? 16 : 4)) break;
    const Address a = in.address(v6);
    expect_same(*acl, a);
    if (!v6 && (flags & 4u) != 0) expect_same(*acl, icegate::acl::testing::mapped(a));
  }
  check_overlaps(*acl);
  return 0;
}
