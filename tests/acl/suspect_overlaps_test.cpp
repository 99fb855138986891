// Acl::suspect_overlaps: whitelist entries less specific than a blacklist entry inside them.
#include <gtest/gtest.h>

#include <algorithm>
#include <initializer_list>
#include <random>
#include <set>
#include <utility>

#include "acl/acl.hpp"
#include "tests/acl/acl_reference.hpp"

namespace icegate::acl {
namespace {

using Pair = std::pair<std::string, std::string>;  // (whitelist cidr, blacklist cidr)

std::shared_ptr<const Acl> make(std::initializer_list<std::pair<const char*, ListKind>> defs) {
  AclBuilder b("overlaps");
  for (const auto& [cidr, kind] : defs) b.add(*Cidr::parse(cidr), kind, cidr);
  return std::move(b).build();
}

std::set<Pair> pairs(const Acl& acl) {
  std::set<Pair> out;
  for (const auto& o : acl.suspect_overlaps()) {
    EXPECT_EQ(o.whitelist->kind, ListKind::whitelist);
    EXPECT_EQ(o.blacklist->kind, ListKind::blacklist);
    EXPECT_TRUE(out.insert({o.whitelist->cidr.to_string(), o.blacklist->cidr.to_string()}).second)
        << "reported twice";
  }
  return out;
}

constexpr auto W = ListKind::whitelist;
constexpr auto B = ListKind::blacklist;

TEST(SuspectOverlaps, WhitelistWithBlacklistHole) {
  EXPECT_EQ(pairs(*make({{"10.0.0.0/8", W}, {"10.1.2.0/24", B}})),
            (std::set<Pair>{{"10.0.0.0/8", "10.1.2.0/24"}}));
  // Definition order does not matter.
  EXPECT_EQ(pairs(*make({{"10.1.2.0/24", B}, {"10.0.0.0/8", W}})),
            (std::set<Pair>{{"10.0.0.0/8", "10.1.2.0/24"}}));
}

TEST(SuspectOverlaps, SpecExampleIsNotSuspect) {
  // The whitelist is the more specific one: the intended "hole in a blacklist".
  EXPECT_TRUE(pairs(*make({{"192.168.0.0/16", B}, {"192.168.1.0/24", W}})).empty());
}

TEST(SuspectOverlaps, SameCidrAndDisjointAreNotSuspect) {
  EXPECT_TRUE(pairs(*make({{"10.0.0.0/8", W}, {"10.0.0.0/8", B}})).empty());
  EXPECT_TRUE(pairs(*make({{"10.0.0.0/8", W}, {"11.0.0.0/8", B}})).empty());
  EXPECT_TRUE(pairs(*make({{"10.0.0.0/8", W}, {"10.0.0.0/16", W}})).empty());
  EXPECT_TRUE(pairs(*make({{"10.0.0.0/8", B}, {"10.0.0.0/16", B}})).empty());
  EXPECT_TRUE(pairs(*make({})).empty());
}

TEST(SuspectOverlaps, FamiliesDoNotOverlap) {
  EXPECT_TRUE(pairs(*make({{"::/0", W}, {"10.0.0.0/8", B}})).empty());
  EXPECT_TRUE(pairs(*make({{"0.0.0.0/0", W}, {"2001:db8::/32", B}})).empty());
  EXPECT_EQ(pairs(*make({{"::/0", W}, {"2001:db8::/32", B}})),
            (std::set<Pair>{{"::/0", "2001:db8::/32"}}));
  // A mapped blacklist prefix is an IPv4 prefix.
  EXPECT_EQ(pairs(*make({{"10.0.0.0/8", W}, {"::ffff:10.1.0.0/112", B}})),
            (std::set<Pair>{{"10.0.0.0/8", "10.1.0.0/16"}}));
}

TEST(SuspectOverlaps, EveryEnclosingWhitelistIsReported) {
  const auto acl = make({{"10.0.0.0/8", W},
                         {"10.1.0.0/16", W},
                         {"10.1.2.0/24", B},    // inside both whitelists
                         {"10.2.0.0/24", B},    // inside the /8 only
                         {"10.1.2.128/25", W},  // more specific than the /24 blacklist: fine
                         {"10.1.2.130", B},     // inside all three whitelists
                         {"11.0.0.0/8", B}});
  EXPECT_EQ(pairs(*acl), (std::set<Pair>{{"10.0.0.0/8", "10.1.2.0/24"},
                                         {"10.1.0.0/16", "10.1.2.0/24"},
                                         {"10.0.0.0/8", "10.2.0.0/24"},
                                         {"10.0.0.0/8", "10.1.2.130/32"},
                                         {"10.1.0.0/16", "10.1.2.130/32"},
                                         {"10.1.2.128/25", "10.1.2.130/32"}}));
}

TEST(SuspectOverlaps, PointersIntoEntries) {
  const auto acl = make({{"10.0.0.0/8", W}, {"10.1.2.0/24", B}});
  const auto found = acl->suspect_overlaps();
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].whitelist, &acl->entries()[0]);
  EXPECT_EQ(found[0].blacklist, &acl->entries()[1]);
  EXPECT_EQ(found[0].blacklist->origin, "10.1.2.0/24");
}

// Against the quadratic definition on random ACLs.
TEST(SuspectOverlaps, MatchesQuadraticReference) {
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    std::mt19937_64 rng(seed);
    AclBuilder b("random");
    for (const auto& e : testing::random_entries(rng, 1 + rng() % 300)) b.add(e.cidr, e.kind);
    const auto acl = std::move(b).build();
    std::set<std::pair<const Entry*, const Entry*>> want;
    for (const auto& w : acl->entries()) {
      for (const auto& bl : acl->entries()) {
        if (w.kind == W && bl.kind == B && w.cidr.prefix_len() < bl.cidr.prefix_len() &&
            w.cidr.overlaps(bl.cidr)) {
          want.insert({&w, &bl});
        }
      }
    }
    std::set<std::pair<const Entry*, const Entry*>> got;
    const auto found = acl->suspect_overlaps();
    for (const auto& o : found) got.insert({o.whitelist, o.blacklist});
    EXPECT_EQ(got.size(), found.size()) << "duplicates, seed " << seed;
    EXPECT_EQ(got, want) << "seed " << seed;
  }
}

}  // namespace
}  // namespace icegate::acl
