// A brute-force reading of behaviour.md §6, written independently of the trie, and seeded
// generators of ACLs and addresses. Shared by the ACL tests and the fuzz_acl target.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "acl/acl.hpp"

namespace icegate::acl::testing {

// Longest prefix wins; on equal prefixes (which means the same CIDR) the whitelist wins; with no
// match, whitelist-only ACLs deny and all others allow. Cidr::contains unmaps ::ffff:a.b.c.d.
inline Decision reference_check(const Acl& acl, const Address& a) {
  const Entry* best = nullptr;
  for (const Entry& e : acl.entries()) {
    if (!e.cidr.contains(a)) continue;
    if (best == nullptr || e.cidr.prefix_len() > best->cidr.prefix_len() ||
        (e.cidr.prefix_len() == best->cidr.prefix_len() && e.kind == ListKind::whitelist)) {
      best = &e;
    }
  }
  if (best == nullptr) {
    const bool whitelist_only = acl.has_whitelist() && !acl.has_blacklist();
    return {whitelist_only ? Verdict::deny : Verdict::allow, nullptr};
  }
  return {best->kind == ListKind::whitelist ? Verdict::allow : Verdict::deny, best};
}

inline Address random_address(std::mt19937_64& rng, bool v6) {
  if (!v6) return Address::v4(static_cast<std::uint32_t>(rng()));
  std::array<std::uint8_t, 16> b{};
  for (auto& x : b) x = static_cast<std::uint8_t>(rng());
  return Address::v6(b);
}

// `base` with every bit from `from` on replaced by random bits: an address inside `base`/from.
inline Address randomize_host_bits(std::mt19937_64& rng, const Address& base, unsigned from) {
  auto b = base.bytes();
  for (unsigned i = from; i < base.bit_width(); ++i) {
    const auto bit = static_cast<std::uint8_t>(0x80u >> (i % 8));
    if ((rng() & 1u) != 0)
      b[i / 8] |= bit;
    else
      b[i / 8] &= static_cast<std::uint8_t>(~bit);
  }
  if (base.is_v4()) return Address::v4(std::array<std::uint8_t, 4>{b[0], b[1], b[2], b[3]});
  return Address::v6(b);
}

inline Address mapped(const Address& v4) {
  const auto& b = v4.bytes();
  return Address::v6({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, b[0], b[1], b[2], b[3]});
}

// Random ACL entries drawn around a few "hot" networks so that prefixes nest, collide and tie,
// in both families and both lists, with lengths spread over the whole range.
inline std::vector<Entry> random_entries(std::mt19937_64& rng, std::size_t count) {
  std::vector<Address> hot;
  for (int i = 0; i < 6; ++i) hot.push_back(random_address(rng, (i % 2) != 0));
  std::vector<Entry> out;
  for (std::size_t i = 0; i < count; ++i) {
    const Address& base = hot[rng() % hot.size()];
    const unsigned width = base.bit_width();
    // Lengths: mostly long, some short, a few /0 and host routes.
    const unsigned len = static_cast<unsigned>(rng() % (width + 1));
    // Keep the first bits of the hot network so entries overlap; randomise a few bits below.
    const unsigned keep = static_cast<unsigned>(rng() % (width + 1));
    const Address net = randomize_host_bits(rng, base, keep);
    const ListKind kind = (rng() % 2 == 0) ? ListKind::whitelist : ListKind::blacklist;
    out.push_back({Cidr(net, len), kind, "random:" + std::to_string(i)});
  }
  return out;
}

// Addresses worth asking about: inside entries (with random host bits), their mapped forms,
// networks themselves, and unrelated random addresses of both families.
inline std::vector<Address> probe_addresses(std::mt19937_64& rng, const std::vector<Entry>& entries,
                                            std::size_t count) {
  std::vector<Address> out;
  for (std::size_t i = 0; i < count; ++i) {
    const auto pick = rng() % 4;
    if (entries.empty() || pick == 0) {
      out.push_back(random_address(rng, (rng() & 1u) != 0));
      continue;
    }
    const Cidr& c = entries[rng() % entries.size()].cidr;
    // Sometimes a little outside the prefix: keep fewer bits than the prefix length.
    const unsigned from = pick == 1 && c.prefix_len() > 0
                              ? static_cast<unsigned>(rng() % c.prefix_len())
                              : c.prefix_len();
    Address a = randomize_host_bits(rng, c.network(), from);
    if (pick == 3) a = c.network();
    if (a.is_v4() && (rng() % 4 == 0)) a = mapped(a);
    out.push_back(a);
  }
  return out;
}

}  // namespace icegate::acl::testing
