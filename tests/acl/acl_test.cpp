// ACL semantics (behaviour.md §6): longest prefix wins, whitelist wins ties, defaults.
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

#include "acl/acl.hpp"
#include "tests/acl/acl_reference.hpp"

namespace icegate::acl {
namespace {

struct Def {
  const char* cidr;
  ListKind kind;
  const char* origin = "";
};

std::shared_ptr<const Acl> make(std::initializer_list<Def> defs) {
  AclBuilder b("test");
  for (const auto& d : defs) {
    auto c = Cidr::parse(d.cidr);
    EXPECT_TRUE(c.has_value()) << d.cidr;
    b.add(*c, d.kind, d.origin);
  }
  return std::move(b).build();
}

Address addr(std::string_view text) {
  return *Address::parse(text);
}

constexpr auto W = ListKind::whitelist;
constexpr auto B = ListKind::blacklist;

bool allowed(const Acl& acl, std::string_view a) {
  const Decision d = acl.check(addr(a));
  // Every verdict is also checked against the brute-force reading of the spec.
  const Decision ref = testing::reference_check(acl, addr(a));
  EXPECT_EQ(d.verdict, ref.verdict) << a;
  EXPECT_EQ(d.entry, ref.entry) << a;
  return d.allowed();
}

TEST(Acl, ListKindNames) {
  EXPECT_EQ(to_string(ListKind::whitelist), "whitelist");
  EXPECT_EQ(to_string(ListKind::blacklist), "blacklist");
}

// behaviour.md §6 example.
TEST(Acl, SpecExampleBlacklistWithWhitelistHole) {
  const auto acl = make({{"192.168.0.0/16", B}, {"192.168.1.0/24", W}});
  EXPECT_TRUE(allowed(*acl, "192.168.1.0"));
  EXPECT_TRUE(allowed(*acl, "192.168.1.77"));
  EXPECT_TRUE(allowed(*acl, "192.168.1.255"));
  EXPECT_FALSE(allowed(*acl, "192.168.0.255"));
  EXPECT_FALSE(allowed(*acl, "192.168.2.0"));
  EXPECT_FALSE(allowed(*acl, "192.168.255.1"));
  EXPECT_FALSE(allowed(*acl, "192.168.0.0"));
  // Neither matches and both kinds are present: allowed.
  EXPECT_TRUE(allowed(*acl, "10.0.0.1"));
  EXPECT_TRUE(allowed(*acl, "192.169.0.1"));
  EXPECT_TRUE(allowed(*acl, "2001:db8::1"));
}

TEST(Acl, WhitelistOnlyDeniesTheRest) {
  const auto acl = make({{"10.0.0.0/8", W}, {"2001:db8::/32", W}, {"127.0.0.1", W}});
  EXPECT_TRUE(acl->has_whitelist());
  EXPECT_FALSE(acl->has_blacklist());
  EXPECT_TRUE(allowed(*acl, "10.255.0.1"));
  EXPECT_TRUE(allowed(*acl, "2001:db8:ffff::1"));
  EXPECT_TRUE(allowed(*acl, "127.0.0.1"));
  EXPECT_FALSE(allowed(*acl, "127.0.0.2"));
  EXPECT_FALSE(allowed(*acl, "11.0.0.1"));
  EXPECT_FALSE(allowed(*acl, "2001:db9::1"));
  EXPECT_FALSE(allowed(*acl, "::1"));
  const Decision d = acl->check(addr("11.0.0.1"));
  EXPECT_EQ(d.entry, nullptr);
  EXPECT_EQ(d.explain(), "default deny: not in any whitelist entry");
}

TEST(Acl, BlacklistOnlyAllowsTheRest) {
  const auto acl = make({{"10.0.50.0/24", B}, {"2001:db8::bad", B}});
  EXPECT_FALSE(acl->has_whitelist());
  EXPECT_TRUE(acl->has_blacklist());
  EXPECT_FALSE(allowed(*acl, "10.0.50.118"));
  EXPECT_FALSE(allowed(*acl, "2001:db8::bad"));
  EXPECT_TRUE(allowed(*acl, "2001:db8::bae"));
  EXPECT_TRUE(allowed(*acl, "10.0.51.1"));
  const Decision d = acl->check(addr("10.0.51.1"));
  EXPECT_EQ(d.entry, nullptr);
  EXPECT_EQ(d.explain(), "default allow: no entry matches");
}

TEST(Acl, EmptyAclAllowsEverything) {
  const auto acl = make({});
  EXPECT_EQ(acl->name(), "test");
  EXPECT_EQ(acl->size(), 0u);
  EXPECT_FALSE(acl->has_whitelist());
  EXPECT_FALSE(acl->has_blacklist());
  for (auto a : {"0.0.0.0", "10.0.0.1", "255.255.255.255", "::", "::1", "::ffff:1.2.3.4"}) {
    EXPECT_TRUE(allowed(*acl, a)) << a;
  }
  EXPECT_TRUE(acl->suspect_overlaps().empty());
}

// Where "longest prefix wins" and "whitelist always wins" disagree, the longer prefix decides.
TEST(Acl, LongerBlacklistInsideWhitelistDenies) {
  const auto acl = make({{"10.0.0.0/8", W, "a.xml:1"}, {"10.1.2.0/24", B, "a.xml:2"}});
  EXPECT_FALSE(allowed(*acl, "10.1.2.5"));
  EXPECT_TRUE(allowed(*acl, "10.1.3.5"));
  EXPECT_TRUE(allowed(*acl, "10.1.1.255"));
  EXPECT_TRUE(allowed(*acl, "11.0.0.1"));  // both kinds present: no match allows
  const Decision deny = acl->check(addr("10.1.2.5"));
  ASSERT_NE(deny.entry, nullptr);
  EXPECT_EQ(deny.entry, &acl->entries()[1]);
  EXPECT_EQ(deny.explain(), "blacklist 10.1.2.0/24 (a.xml:2)");
  const Decision allow = acl->check(addr("10.1.3.5"));
  EXPECT_EQ(allow.entry, &acl->entries()[0]);
  EXPECT_EQ(allow.explain(), "whitelist 10.0.0.0/8 (a.xml:1)");
}

// On the same CIDR, the whitelist wins, in either definition order.
TEST(Acl, SameCidrInBothListsResolvesToWhitelist) {
  for (bool whitelist_first : {true, false}) {
    SCOPED_TRACE(whitelist_first);
    const auto acl = whitelist_first ? make({{"10.0.0.0/8", W, "w"}, {"10.0.0.0/8", B, "b"}})
                                     : make({{"10.0.0.0/8", B, "b"}, {"10.0.0.0/8", W, "w"}});
    // Both entries stay visible (a config check may point at the dead blacklist entry).
    EXPECT_EQ(acl->size(), 2u);
    EXPECT_TRUE(acl->has_whitelist());
    EXPECT_TRUE(acl->has_blacklist());
    const Decision d = acl->check(addr("10.20.30.40"));
    EXPECT_TRUE(d.allowed());
    ASSERT_NE(d.entry, nullptr);
    EXPECT_EQ(d.entry->kind, ListKind::whitelist);
    EXPECT_EQ(d.explain(), "whitelist 10.0.0.0/8 (w)");
    EXPECT_TRUE(allowed(*acl, "10.20.30.40"));
    EXPECT_TRUE(allowed(*acl, "11.0.0.1"));
  }
  const auto host = make({{"2001:db8::1", B}, {"2001:db8::1/128", W}});
  EXPECT_TRUE(allowed(*host, "2001:db8::1"));
}

TEST(Acl, DuplicatesAreKeptOnceWithTheFirstOrigin) {
  const auto acl = make({{"10.0.0.0/8", B, "x:1"},
                         {"192.0.2.0/24", W, "x:2"},
                         {"10.9.9.9/8", B, "x:3"},  // same CIDR after clearing host bits
                         {"10.0.0.0/8", B, "x:4"}});
  ASSERT_EQ(acl->size(), 2u);
  EXPECT_EQ(acl->entries()[0].origin, "x:1");
  EXPECT_EQ(acl->entries()[1].origin, "x:2");  // insertion order kept
  EXPECT_EQ(acl->check(addr("10.1.1.1")).explain(), "blacklist 10.0.0.0/8 (x:1)");
  EXPECT_TRUE(acl->has_blacklist());
  EXPECT_TRUE(acl->has_whitelist());
}

TEST(Acl, MappedAddressesAreLookedUpAsIpv4) {
  const auto acl = make({{"10.0.0.0/8", W}, {"::ffff:192.0.2.0/120", W}});
  EXPECT_EQ(acl->entries()[1].cidr.to_string(), "192.0.2.0/24");
  EXPECT_TRUE(allowed(*acl, "::ffff:10.1.2.3"));
  EXPECT_TRUE(allowed(*acl, "::ffff:192.0.2.9"));
  EXPECT_TRUE(allowed(*acl, "192.0.2.9"));
  EXPECT_FALSE(allowed(*acl, "::ffff:11.1.2.3"));
  EXPECT_FALSE(allowed(*acl, "::10.1.2.3"));  // IPv4-compatible is plain IPv6
  EXPECT_EQ(acl->check(addr("::ffff:10.1.2.3")).entry, &acl->entries()[0]);
  // An IPv6 catch-all does not cover mapped addresses: they are IPv4 peers.
  const auto v6all = make({{"::/0", B}});
  EXPECT_FALSE(allowed(*v6all, "2001:db8::1"));
  EXPECT_TRUE(allowed(*v6all, "::ffff:10.1.2.3"));
}

TEST(Acl, FamiliesAreSeparate) {
  const auto acl = make({{"0.0.0.0/0", B}, {"2001:db8::/32", W}});
  EXPECT_FALSE(allowed(*acl, "1.2.3.4"));
  EXPECT_FALSE(allowed(*acl, "::ffff:1.2.3.4"));
  EXPECT_TRUE(allowed(*acl, "2001:db8::1"));
  EXPECT_TRUE(allowed(*acl, "2001:db9::1"));  // no IPv6 entry matches: default allow
  const auto v6only = make({{"::/0", W}});
  EXPECT_TRUE(allowed(*v6only, "::"));
  EXPECT_FALSE(allowed(*v6only, "1.2.3.4"));
}

TEST(Acl, CatchAllsAndHostRoutes) {
  const auto acl = make({{"0.0.0.0/0", W, "all4"},
                         {"::/0", W, "all6"},
                         {"203.0.113.7", B, "host4"},
                         {"2001:db8::7", B, "host6"},
                         {"203.0.113.0/24", B, "net4"},
                         {"203.0.113.7/31", W, "pair4"}});
  EXPECT_EQ(acl->check(addr("203.0.113.7")).explain(), "blacklist 203.0.113.7/32 (host4)");
  EXPECT_EQ(acl->check(addr("203.0.113.6")).explain(), "whitelist 203.0.113.6/31 (pair4)");
  EXPECT_EQ(acl->check(addr("203.0.113.8")).explain(), "blacklist 203.0.113.0/24 (net4)");
  EXPECT_EQ(acl->check(addr("203.0.114.8")).explain(), "whitelist 0.0.0.0/0 (all4)");
  EXPECT_EQ(acl->check(addr("2001:db8::7")).explain(), "blacklist 2001:db8::7/128 (host6)");
  EXPECT_EQ(acl->check(addr("2001:db8::6")).explain(), "whitelist ::/0 (all6)");
  EXPECT_EQ(acl->check(addr("2001:db8::8")).explain(), "whitelist ::/0 (all6)");
}

TEST(Acl, ExplainWithoutOrigin) {
  const auto acl = make({{"10.0.0.0/8", W}});
  EXPECT_EQ(acl->check(addr("10.0.0.1")).explain(), "whitelist 10.0.0.0/8");
}

// Prefix lengths straddling every trie level boundary, one after the other on one address.
TEST(Acl, NestedChainOfEveryLength) {
  for (const char* base : {"255.255.255.255", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}) {
    SCOPED_TRACE(base);
    const Address top = addr(base);
    AclBuilder b("chain");
    for (unsigned len = 0; len <= top.bit_width(); ++len) {
      b.add(Cidr(top, len), len % 2 == 0 ? W : B, std::to_string(len));
    }
    const auto acl = std::move(b).build();
    // Flipping bit i leaves exactly the prefixes of length <= i: the /i entry decides.
    for (unsigned i = 0; i < top.bit_width(); ++i) {
      auto bytes = top.bytes();
      bytes[i / 8] ^= static_cast<std::uint8_t>(0x80u >> (i % 8));
      const Address a =
          top.is_v4()
              ? Address::v4(std::array<std::uint8_t, 4>{bytes[0], bytes[1], bytes[2], bytes[3]})
              : Address::v6(bytes);
      const Decision d = acl->check(a);
      ASSERT_NE(d.entry, nullptr) << i;
      EXPECT_EQ(d.entry->cidr.prefix_len(), i);
      EXPECT_EQ(d.allowed(), i % 2 == 0);
    }
    EXPECT_EQ(acl->check(top).entry->cidr.prefix_len(), top.bit_width());
  }
}

TEST(Acl, DecisionEntriesPointIntoEntries) {
  std::mt19937_64 rng(42);
  AclBuilder b("ptr");
  for (const auto& e : testing::random_entries(rng, 500)) b.add(e.cidr, e.kind, e.origin);
  const auto acl = std::move(b).build();
  const Entry* first = acl->entries().data();
  const Entry* last = first + acl->entries().size();
  int decided_by_entry = 0;
  for (const Address& a : testing::probe_addresses(rng, acl->entries(), 2000)) {
    const Decision d = acl->check(a);
    if (d.entry == nullptr) continue;
    ++decided_by_entry;
    EXPECT_GE(d.entry, first);
    EXPECT_LT(d.entry, last);
    EXPECT_TRUE(d.entry->cidr.contains(a));
    EXPECT_EQ(d.allowed(), d.entry->kind == ListKind::whitelist);
  }
  EXPECT_GT(decided_by_entry, 1000);
}

}  // namespace
}  // namespace icegate::acl
