// Address parsing and printing (RFC 4291 text in, RFC 5952 canonical text out).
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "acl/address.hpp"
#include "tests/acl/acl_reference.hpp"

namespace icegate::acl {
namespace {

Address parse(std::string_view text) {
  auto a = Address::parse(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a ? *a : Address{};
}

TEST(Address, ParsesIpv4) {
  const Address a = parse("192.0.2.7");
  EXPECT_TRUE(a.is_v4());
  EXPECT_EQ(a, Address::v4(0xc0000207u));
  EXPECT_EQ(a.bit_width(), 32u);
  EXPECT_EQ(a.to_string(), "192.0.2.7");
  EXPECT_TRUE(a.bit(0));
  EXPECT_TRUE(a.bit(1));
  EXPECT_FALSE(a.bit(2));
  EXPECT_TRUE(a.bit(31));
}

TEST(Address, ParsesIpv6) {
  const Address a = parse("2001:db8::1");
  EXPECT_FALSE(a.is_v4());
  EXPECT_EQ(a.bit_width(), 128u);
  EXPECT_EQ(a.bytes()[0], 0x20);
  EXPECT_EQ(a.bytes()[1], 0x01);
  EXPECT_EQ(a.bytes()[15], 0x01);
  EXPECT_TRUE(a.bit(127));
  EXPECT_FALSE(a.bit(126));
}

// RFC 5952 §4: lowercase, no leading zeros, "::" for the longest run of >= 2 zero groups (the
// first on a tie), never for a single group; §5: mapped addresses keep the dotted tail.
TEST(Address, PrintsCanonicalIpv6) {
  const std::pair<const char*, const char*> cases[] = {
      {"2001:DB8:0:0:0:0:0:1", "2001:db8::1"},
      {"2001:0db8:0000:0000:0000:ff00:0042:8329", "2001:db8::ff00:42:8329"},
      {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},     // tie: the first run
      {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},  // a single zero group stays
      {"1:0:0:1:0:0:0:1", "1:0:0:1::1"},                 // the longest run, not the first
      {"fe80:0:0:0:1:0:0:0", "fe80::1:0:0:0"},           // tie of 3 and 3
      {"0:0:0:0:0:0:0:0", "::"},
      {"0:0:0:0:0:0:0:1", "::1"},
      {"1:0:0:0:0:0:0:0", "1::"},
      {"0:0:1:0:0:0:0:0", "0:0:1::"},
      {"::1:2", "::1:2"},  // not the deprecated "::0.1.0.2"
      {"::0.1.0.2", "::1:2"},
      {"::FFFF:0102:0304", "::ffff:1.2.3.4"},  // mapped: dotted tail
      {"::ffff:10.1.2.3", "::ffff:10.1.2.3"},
      {"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"},
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(parse(in).to_string(), want) << in;
}

TEST(Address, RandomIpv6RoundTrips) {
  std::mt19937_64 rng(5952);
  for (int i = 0; i < 2000; ++i) {
    // Sparse addresses so that zero runs of every length and position occur.
    std::array<std::uint8_t, 16> b{};
    for (unsigned g = 0; g < 8; ++g) {
      if (rng() % 2 == 0) continue;
      b[2 * g] = static_cast<std::uint8_t>(rng() % 3 == 0 ? rng() : 0);
      b[2 * g + 1] = static_cast<std::uint8_t>(rng());
    }
    const Address a = Address::v6(b);
    const std::string text = a.to_string();
    auto back = Address::parse(text);
    ASSERT_TRUE(back.has_value()) << text;
    EXPECT_EQ(*back, a) << text;
    EXPECT_EQ(text.find(":::"), std::string::npos) << text;
    EXPECT_EQ(text.find("::"), text.rfind("::")) << text;  // "::" at most once
  }
}

TEST(Address, RejectsGarbage) {
  const std::string_view bad[] = {"",
                                  "1.2.3",
                                  "1.2.3.4.5",
                                  "256.1.1.1",
                                  "01.2.3.4",
                                  " 1.2.3.4",
                                  "1.2.3.4 ",
                                  "::g",
                                  "[::1]",
                                  "fe80::1%eth0",
                                  "1:2:3:4:5:6:7:8:9",
                                  "1::2::3",
                                  "10.0.0.0/8",
                                  "localhost",
                                  std::string_view("1.2.3.4\0x", 9)};
  for (auto text : bad) {
    auto a = Address::parse(text);
    EXPECT_FALSE(a.has_value()) << "\"" << text << "\" parsed as " << a->to_string();
    if (!a) {
      EXPECT_FALSE(a.error().empty());
    }
  }
  EXPECT_EQ(Address::parse("").error(), "empty address");
  EXPECT_EQ(Address::parse(std::string_view("1.2.3.4\0", 8)).error(),
            "address contains a NUL byte");
  EXPECT_EQ(Address::parse("1.2.3").error(), "\"1.2.3\" is not an IPv4 address");
  EXPECT_EQ(Address::parse("::g").error(), "\"::g\" is not an IPv6 address");
  EXPECT_EQ(Address::parse(std::string(60, '1')).error(), "address too long");
}

TEST(Address, Loopback) {
  for (auto t : {"127.0.0.1", "127.255.255.254", "::1", "::ffff:127.0.0.1"}) {
    EXPECT_TRUE(parse(t).is_loopback()) << t;
  }
  for (auto t : {"128.0.0.1", "126.255.255.255", "0.0.0.0", "::2", "::", "::ffff:128.0.0.1",
                 "::127.0.0.1", "fe80::1"}) {
    EXPECT_FALSE(parse(t).is_loopback()) << t;
  }
}

TEST(Address, Unspecified) {
  EXPECT_TRUE(parse("0.0.0.0").is_unspecified());
  EXPECT_TRUE(parse("::").is_unspecified());
  EXPECT_FALSE(parse("0.0.0.1").is_unspecified());
  EXPECT_FALSE(parse("::1").is_unspecified());
}

TEST(Address, Unmapped) {
  const Address m = parse("::ffff:10.1.2.3");
  EXPECT_TRUE(m.is_v4_mapped());
  EXPECT_EQ(m.unmapped(), parse("10.1.2.3"));
  EXPECT_TRUE(m.unmapped().is_v4());
  // Not mapped: returned unchanged.
  for (auto t :
       {"10.1.2.3", "::10.1.2.3", "2001:db8::1", "::fffe:10.1.2.3", "0:0:0:0:1:ffff:a01:203"}) {
    const Address a = parse(t);
    EXPECT_FALSE(a.is_v4_mapped()) << t;
    EXPECT_EQ(a.unmapped(), a) << t;
  }
  EXPECT_EQ(testing::mapped(parse("192.0.2.1")), parse("::ffff:192.0.2.1"));
}

TEST(Address, OrdersByFamilyThenBytes) {
  EXPECT_LT(parse("10.0.0.1"), parse("10.0.0.2"));
  EXPECT_LT(parse("255.255.255.255"), parse("::"));
  EXPECT_NE(parse("0.0.0.0"), parse("::"));
}

}  // namespace
}  // namespace icegate::acl
