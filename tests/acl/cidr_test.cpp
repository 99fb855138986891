// CIDR parsing: every prefix length, host bits, IPv4-mapped prefixes, errors and their columns.
#include <gtest/gtest.h>

#include <string>

#include "acl/address.hpp"

namespace icegate::acl {
namespace {

Cidr parse(std::string_view text) {
  auto c = Cidr::parse(text);
  EXPECT_TRUE(c.has_value()) << text << ": " << (c ? "" : c.error().reason);
  return c ? *c : Cidr{};
}

Address addr(std::string_view text) {
  return *Address::parse(text);
}

std::uint32_t v4_mask(unsigned len) {
  return len == 0 ? 0 : ~std::uint32_t{0} << (32 - len);
}

TEST(Cidr, EveryIpv4PrefixLength) {
  for (unsigned len = 0; len <= 32; ++len) {
    SCOPED_TRACE(len);
    // All host bits set: the network is the mask itself and the host bits are reported.
    const Cidr ones = parse("255.255.255.255/" + std::to_string(len));
    EXPECT_EQ(ones.family(), Family::v4);
    EXPECT_EQ(ones.prefix_len(), len);
    EXPECT_EQ(ones.network(), Address::v4(v4_mask(len)));
    EXPECT_EQ(ones.had_host_bits(), len < 32);
    EXPECT_EQ(ones.to_string(), Address::v4(v4_mask(len)).to_string() + "/" + std::to_string(len));
    // The canonical network parses back unchanged and without host bits.
    const Cidr canon = parse(ones.to_string());
    EXPECT_EQ(canon, ones);
    EXPECT_FALSE(canon.had_host_bits());
    // The prefix contains exactly the addresses that agree on the first `len` bits.
    EXPECT_TRUE(ones.contains(Address::v4(0xffffffffu)));
    EXPECT_EQ(ones.contains(Address::v4(0)), len == 0);
    if (len > 0) {
      EXPECT_FALSE(ones.contains(Address::v4(v4_mask(len) ^ (1u << (32 - len)))));
    }
  }
}

TEST(Cidr, EveryIpv6PrefixLength) {
  for (unsigned len = 0; len <= 128; ++len) {
    SCOPED_TRACE(len);
    const Cidr ones = parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/" + std::to_string(len));
    EXPECT_EQ(ones.family(), Family::v6);
    EXPECT_EQ(ones.prefix_len(), len);
    EXPECT_EQ(ones.had_host_bits(), len < 128);
    std::array<std::uint8_t, 16> want{};
    for (unsigned i = 0; i < len; ++i) want[i / 8] |= static_cast<std::uint8_t>(0x80u >> (i % 8));
    EXPECT_EQ(ones.network(), Address::v6(want));
    for (unsigned i = 0; i < 128; ++i) EXPECT_EQ(ones.network().bit(i), i < len) << i;
    const Cidr canon = parse(ones.to_string());
    EXPECT_EQ(canon, ones);
    EXPECT_FALSE(canon.had_host_bits());
    // An address that differs in the last prefix bit is outside; one inside is inside.
    if (len > 0) {
      auto outside = want;
      outside[(len - 1) / 8] ^= static_cast<std::uint8_t>(0x80u >> ((len - 1) % 8));
      EXPECT_FALSE(ones.contains(Address::v6(outside)));
    }
    EXPECT_TRUE(ones.contains(Address::v6(want)));
  }
}

TEST(Cidr, HostBits) {
  EXPECT_FALSE(parse("10.0.0.0/8").had_host_bits());
  const Cidr c = parse("10.1.2.3/8");
  EXPECT_TRUE(c.had_host_bits());
  EXPECT_EQ(c, parse("10.0.0.0/8"));
  EXPECT_EQ(c.to_string(), "10.0.0.0/8");
  EXPECT_TRUE(parse("2001:db8::1/32").had_host_bits());
  EXPECT_EQ(parse("2001:db8::1/32").to_string(), "2001:db8::/32");
  EXPECT_TRUE(Cidr(addr("192.0.2.7"), 24).had_host_bits());
  EXPECT_EQ(Cidr(addr("192.0.2.7"), 24).to_string(), "192.0.2.0/24");
}

TEST(Cidr, BareAddressIsAHostPrefix) {
  EXPECT_EQ(parse("192.0.2.7").prefix_len(), 32u);
  EXPECT_EQ(parse("192.0.2.7").to_string(), "192.0.2.7/32");
  EXPECT_EQ(parse("2001:db8::7").prefix_len(), 128u);
  EXPECT_EQ(parse("2001:db8::7").to_string(), "2001:db8::7/128");
}

TEST(Cidr, MappedPrefixesBecomeIpv4) {
  const Cidr a = parse("::ffff:0:0/104");
  EXPECT_EQ(a.family(), Family::v4);
  EXPECT_EQ(a, parse("0.0.0.0/8"));
  EXPECT_EQ(a.to_string(), "0.0.0.0/8");
  EXPECT_EQ(parse("::ffff:10.1.2.3"), parse("10.1.2.3/32"));
  EXPECT_EQ(parse("::ffff:10.0.0.0/104"), parse("10.0.0.0/8"));
  EXPECT_EQ(parse("::ffff:0:0/96"), parse("0.0.0.0/0"));
  EXPECT_TRUE(parse("::ffff:10.1.2.3/104").had_host_bits());
  // Shorter than /96, the prefix reaches outside the mapped range and stays IPv6.
  const Cidr wide = parse("::ffff:0:0/95");
  EXPECT_EQ(wide.family(), Family::v6);
  EXPECT_EQ(wide.prefix_len(), 95u);
  // The constructor canonicalises the same way.
  EXPECT_EQ(Cidr(addr("::ffff:10.9.8.7"), 112), parse("10.9.0.0/16"));
}

TEST(Cidr, FamiliesDoNotMix) {
  const Cidr v4 = parse("10.0.0.0/8");
  const Cidr v6 = parse("2001:db8::/32");
  EXPECT_FALSE(v4.contains(addr("2001:db8::1")));
  EXPECT_FALSE(v4.contains(addr("::a00:1")));  // IPv4-compatible, not mapped
  EXPECT_FALSE(v6.contains(addr("10.0.0.1")));
  EXPECT_FALSE(parse("::/0").contains(addr("10.0.0.1")));
  EXPECT_FALSE(parse("0.0.0.0/0").contains(addr("::1")));
  // A mapped address is the IPv4 address it carries, so only IPv4 prefixes contain it.
  EXPECT_TRUE(v4.contains(addr("::ffff:10.1.2.3")));
  EXPECT_FALSE(v4.contains(addr("::ffff:11.1.2.3")));
  EXPECT_FALSE(parse("::/0").contains(addr("::ffff:10.1.2.3")));
  EXPECT_FALSE(v4.overlaps(parse("::/0")));
  EXPECT_FALSE(parse("::/0").overlaps(v4));
}

TEST(Cidr, Overlaps) {
  const Cidr a = parse("10.0.0.0/8");
  const Cidr b = parse("10.1.0.0/16");
  const Cidr c = parse("11.0.0.0/8");
  EXPECT_TRUE(a.overlaps(b));
  EXPECT_TRUE(b.overlaps(a));
  EXPECT_TRUE(a.overlaps(a));
  EXPECT_FALSE(a.overlaps(c));
  EXPECT_FALSE(b.overlaps(c));
  EXPECT_TRUE(parse("::/0").overlaps(parse("2001:db8::1")));
  EXPECT_FALSE(parse("2001:db8::/33").overlaps(parse("2001:db8:8000::/33")));
}

struct BadCidr {
  std::string_view text;
  std::string_view reason;  // a substring of the expected reason
  std::size_t column;
};

TEST(Cidr, RejectsGarbageWithReasonAndColumn) {
  const BadCidr cases[] = {
      {"", "empty address", 0},
      {"/8", "empty address", 0},
      {"10.0.0.0/", "missing prefix length after '/'", 9},
      {"10.0.0.0/abc", "prefix length \"abc\" is not a number", 9},
      {"1.2.3", "\"1.2.3\" is not an IPv4 address", 0},
      {"10.0.0.0/8/8", "prefix length \"8/8\" is not a number", 9},
      {" 10.0.0.0/8", "is not an IPv4 address", 0},
      {"10.0.0.0/8 ", "prefix length \"8 \" is not a number", 9},
      {"::g", "\"::g\" is not an IPv6 address", 0},
      {"1.2.3.4/-1", "prefix length \"-1\" is not a number", 8},
      {"1.2.3.4/+8", "is not a number", 8},
      {"[::1]", "is not an IPv6 address", 0},
      {"[::1]/64", "is not an IPv6 address", 0},
      {"10.0.0.0/33", "prefix length 33 exceeds 32 for IPv4", 9},
      {"10.0.0.0/999", "prefix length 999 exceeds 32 for IPv4", 9},
      {"10.0.0.0/0032", "prefix length \"0032\" has too many digits", 9},
      {"2001:db8::/129", "prefix length 129 exceeds 128 for IPv6", 11},
      {"::ffff:1.2.3.4/129", "prefix length 129 exceeds 128 for IPv6", 15},
      {std::string_view("10.0.0.0\0/8", 11), "NUL", 0},
  };
  for (const auto& bad : cases) {
    SCOPED_TRACE(std::string(bad.text));
    auto c = Cidr::parse(bad.text);
    ASSERT_FALSE(c.has_value()) << "parsed as " << c->to_string();
    EXPECT_NE(c.error().reason.find(bad.reason), std::string::npos) << c.error().reason;
    EXPECT_EQ(c.error().column, bad.column);
  }
}

TEST(Cidr, LeadingZerosInLengthAreAccepted) {
  EXPECT_EQ(parse("10.0.0.0/08"), parse("10.0.0.0/8"));
  EXPECT_EQ(parse("2001:db8::/032"), parse("2001:db8::/32"));
}

}  // namespace
}  // namespace icegate::acl
