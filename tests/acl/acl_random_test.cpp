// Randomised cross-check of the ACL lookup against the brute-force reference (seeded, so every
// run checks the same cases), and direct tests of the prefix trie under it.
#include <gtest/gtest.h>

#include <array>
#include <map>
#include <random>
#include <unordered_map>

#include "acl/acl.hpp"
#include "acl/prefix_trie.hpp"
#include "tests/acl/acl_reference.hpp"

namespace icegate::acl {
namespace {

using detail::Key128;
using detail::PrefixTrie;

// The bits at positions >= len.
Key128 host_mask(unsigned len) {
  const std::uint64_t ones = ~std::uint64_t{0};
  return {len >= 64 ? 0 : ones >> len, len <= 64 ? ones : len >= 128 ? 0 : ones >> (len - 64)};
}

// `net`'s first `len` bits, then `noise` bits.
Key128 inside(const Key128& net, unsigned len, const Key128& noise) {
  const Key128 m = host_mask(len);
  const Key128 top = detail::masked(net, len);
  return {top.hi | (noise.hi & m.hi), top.lo | (noise.lo & m.lo)};
}

std::shared_ptr<const Acl> build(const std::vector<Entry>& entries) {
  AclBuilder b("random");
  for (const auto& e : entries) b.add(e.cidr, e.kind, e.origin);
  return std::move(b).build();
}

void cross_check(std::uint64_t seed, std::size_t entries, std::size_t probes) {
  SCOPED_TRACE("seed " + std::to_string(seed) + ", " + std::to_string(entries) + " entries");
  std::mt19937_64 rng(seed);
  const auto acl = build(testing::random_entries(rng, entries));
  int mismatches = 0;
  for (const Address& a : testing::probe_addresses(rng, acl->entries(), probes)) {
    const Decision got = acl->check(a);
    const Decision want = testing::reference_check(*acl, a);
    if (got.verdict != want.verdict || got.entry != want.entry) {
      ADD_FAILURE() << a.to_string() << ": got " << got.explain() << ", want " << want.explain();
      if (++mismatches > 10) return;
    }
  }
}

TEST(AclRandom, MatchesReferenceSmall) {
  for (std::uint64_t seed = 1; seed <= 200; ++seed) cross_check(seed, seed % 12, 200);
}

TEST(AclRandom, MatchesReferenceMedium) {
  for (std::uint64_t seed = 1000; seed < 1040; ++seed) cross_check(seed, 50 + seed % 200, 1000);
}

TEST(AclRandom, MatchesReferenceLarge) {
  cross_check(7, 5000, 4000);
}

// Whitelist-only and blacklist-only ACLs take the other default path.
TEST(AclRandom, MatchesReferenceSingleKind) {
  for (ListKind kind : {ListKind::whitelist, ListKind::blacklist}) {
    std::mt19937_64 rng(kind == ListKind::whitelist ? 11 : 12);
    auto entries = testing::random_entries(rng, 300);
    // Without catch-alls, so that some probes match nothing.
    std::erase_if(entries, [](const Entry& e) { return e.cidr.prefix_len() < 4; });
    for (auto& e : entries) e.kind = kind;
    const auto acl = build(entries);
    int defaults = 0;
    for (const Address& a : testing::probe_addresses(rng, acl->entries(), 3000)) {
      const Decision got = acl->check(a);
      const Decision want = testing::reference_check(*acl, a);
      ASSERT_EQ(got.verdict, want.verdict) << a.to_string();
      ASSERT_EQ(got.entry, want.entry) << a.to_string();
      defaults += got.entry == nullptr;
    }
    EXPECT_GT(defaults, 0);  // the default path was exercised
  }
}

// Many random prefixes of a realistic shape: the trie compresses paths, so check it also where
// entries are sparse (long skipped runs) rather than clustered.
TEST(AclRandom, MatchesReferenceSparse) {
  std::mt19937_64 rng(99);
  std::vector<Entry> entries;
  for (int i = 0; i < 2000; ++i) {
    const bool v6 = rng() % 2 == 0;
    const unsigned len =
        v6 ? 16 + static_cast<unsigned>(rng() % 113) : 8 + static_cast<unsigned>(rng() % 25);
    entries.push_back({Cidr(testing::random_address(rng, v6), len),
                       rng() % 2 == 0 ? ListKind::whitelist : ListKind::blacklist, ""});
  }
  const auto acl = build(entries);
  for (const Address& a : testing::probe_addresses(rng, acl->entries(), 5000)) {
    const Decision got = acl->check(a);
    const Decision want = testing::reference_check(*acl, a);
    ASSERT_EQ(got.verdict, want.verdict) << a.to_string();
    ASSERT_EQ(got.entry, want.entry) << a.to_string();
  }
}

// At scale (a larger root, more levels) against a second, independent reference: look every
// prefix of the address up in a hash map, longest first. O(width) per probe instead of O(n).
TEST(AclRandom, MatchesHashReferenceAtScale) {
  std::mt19937_64 rng(2026);
  AclBuilder b("scale");
  for (int i = 0; i < 100'000; ++i) {
    const bool v6 = rng() % 2 == 0;
    // Lengths over the whole range, biased long as in real lists.
    const unsigned width = v6 ? 128 : 32;
    const unsigned len = rng() % 4 == 0 ? static_cast<unsigned>(rng() % (width + 1))
                                        : width - static_cast<unsigned>(rng() % (width / 4));
    b.add(Cidr(testing::random_address(rng, v6), len),
          rng() % 3 == 0 ? ListKind::whitelist : ListKind::blacklist);
  }
  const auto acl = std::move(b).build();
  struct CidrKey {
    std::array<std::uint8_t, 16> bytes;
    bool v4;
    unsigned len;
    bool operator==(const CidrKey&) const = default;
  };
  struct Hash {
    std::size_t operator()(const CidrKey& k) const {
      std::size_t h = k.len * 2 + (k.v4 ? 1 : 0);
      for (auto x : k.bytes) h = (h ^ x) * 0x100000001b3ull;  // FNV-1a
      return h;
    }
  };
  // CIDR -> the entry the lookup must return for it.
  std::unordered_map<CidrKey, const Entry*, Hash> by_cidr;
  auto key = [](const Cidr& c) {
    return CidrKey{c.network().bytes(), c.network().is_v4(), c.prefix_len()};
  };
  for (const Entry& e : acl->entries()) {
    auto [it, fresh] = by_cidr.emplace(key(e.cidr), &e);
    if (!fresh && e.kind == ListKind::whitelist) it->second = &e;  // whitelist wins the CIDR
  }
  int matched = 0;
  for (const Address& probe : testing::probe_addresses(rng, acl->entries(), 10'000)) {
    const Address a = probe.unmapped();
    const Entry* want = nullptr;
    for (int len = static_cast<int>(a.bit_width()); len >= 0 && want == nullptr; --len) {
      auto it = by_cidr.find(key(Cidr(a, static_cast<unsigned>(len))));
      if (it != by_cidr.end()) want = it->second;
    }
    const Decision got = acl->check(probe);
    ASSERT_EQ(got.entry, want) << probe.to_string() << ": got " << got.explain();
    matched += want != nullptr;
  }
  EXPECT_GT(matched, 5'000);
}

TEST(PrefixTrie, KeyBits) {
  const Key128 k{0x0123456789abcdefull, 0xfedcba9876543210ull};
  EXPECT_EQ(detail::key_bits(k, 0, 8), 0x01u);
  EXPECT_EQ(detail::key_bits(k, 4, 16), 0x1234u);
  EXPECT_EQ(detail::key_bits(k, 56, 8), 0xefu);
  EXPECT_EQ(detail::key_bits(k, 60, 8), 0xffu);  // straddles: f | f
  EXPECT_EQ(detail::key_bits(k, 62, 6), 0x3fu);  // 11 | 1111
  EXPECT_EQ(detail::key_bits(k, 64, 6), 0x3fu);  // 111111
  EXPECT_EQ(detail::key_bits(k, 120, 8), 0x10u);
  EXPECT_EQ(detail::key_bits(k, 124, 6), 0u);  // 0000 then zeros past bit 127
  EXPECT_EQ(detail::key_bits(Key128{0, 1}, 122, 6), 0x1u);
  EXPECT_EQ(detail::key_bits(Key128{0, 1}, 126, 6), 0x10u);  // 01 then 0000
  EXPECT_EQ(detail::key_bits(Key128{~0ull, 0}, 0, 32), 0xffffffffu);
}

TEST(PrefixTrie, MaskedAndCommonBits) {
  const Key128 k{~0ull, ~0ull};
  EXPECT_EQ(detail::masked(k, 0), (Key128{0, 0}));
  EXPECT_EQ(detail::masked(k, 1), (Key128{1ull << 63, 0}));
  EXPECT_EQ(detail::masked(k, 64), (Key128{~0ull, 0}));
  EXPECT_EQ(detail::masked(k, 65), (Key128{~0ull, 1ull << 63}));
  EXPECT_EQ(detail::masked(k, 128), k);
  EXPECT_EQ(detail::common_bits(k, k), 128u);
  EXPECT_EQ(detail::common_bits(k, Key128{~0ull, ~1ull}), 127u);
  EXPECT_EQ(detail::common_bits(k, Key128{0, 0}), 0u);
  EXPECT_EQ(detail::common_bits(k, Key128{~0ull, 0}), 64u);
}

TEST(PrefixTrie, RejectsBrokenContract) {
  using P = detail::Prefix;
  EXPECT_THROW(PrefixTrie({P{{0, 0}, 8, 0}}, 32), std::invalid_argument);           // kNone
  EXPECT_THROW(PrefixTrie({P{{1ull << 40, 0}, 8, 1}}, 32), std::invalid_argument);  // host bits
  EXPECT_THROW(PrefixTrie({P{{0, 0}, 33, 1}}, 32), std::invalid_argument);          // too long
  EXPECT_THROW(PrefixTrie({P{{0, 0}, 8, 1}, P{{0, 0}, 8, 2}}, 32), std::invalid_argument);
  EXPECT_THROW(PrefixTrie({}, 0), std::invalid_argument);
  EXPECT_EQ(PrefixTrie({}, 128).lookup(Key128{1, 2}), PrefixTrie::kNone);
}

// Random prefixes in a 128-bit space against a map-based longest-prefix match.
TEST(PrefixTrie, MatchesBruteForce) {
  for (std::uint64_t seed = 1; seed <= 16; ++seed) {
    std::mt19937_64 rng(seed);
    std::map<std::pair<Key128, unsigned>, std::uint32_t> ref;
    const std::size_t n = 1 + rng() % 4000;
    // Few distinct top bits so prefixes nest and the trie branches at every depth.
    const Key128 base{rng(), rng()};
    while (ref.size() < n) {
      const unsigned keep = static_cast<unsigned>(rng() % 129);
      const Key128 k = inside(base, keep, Key128{rng(), rng()});
      const unsigned len = static_cast<unsigned>(rng() % 129);
      ref.emplace(std::make_pair(detail::masked(k, len), len),
                  static_cast<std::uint32_t>(ref.size() + 1));
    }
    std::vector<detail::Prefix> prefixes;
    for (const auto& [kl, v] : ref) prefixes.push_back({kl.first, kl.second, v});
    std::shuffle(prefixes.begin(), prefixes.end(), rng);  // the trie sorts by itself
    const PrefixTrie trie(prefixes, 128);
    for (int i = 0; i < 2000; ++i) {
      const auto& p = prefixes[rng() % prefixes.size()];
      // An address inside a random prefix, with some bits of its prefix flipped now and then.
      Key128 q = inside(p.key, p.len, Key128{rng(), rng()});
      if (rng() % 3 == 0) {
        const unsigned bit = static_cast<unsigned>(rng() % 128);
        (bit < 64 ? q.hi : q.lo) ^= 1ull << (63 - bit % 64);
      }
      std::uint32_t want = PrefixTrie::kNone;
      for (int len = 128; len >= 0 && want == PrefixTrie::kNone; --len) {
        auto it =
            ref.find({detail::masked(q, static_cast<unsigned>(len)), static_cast<unsigned>(len)});
        if (it != ref.end()) want = it->second;
      }
      ASSERT_EQ(trie.lookup(q), want) << "seed " << seed << " probe " << i;
    }
  }
}

}  // namespace
}  // namespace icegate::acl
