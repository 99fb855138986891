#include <gtest/gtest.h>

#include "sip/registrar.hpp"

namespace icegate::sip {
namespace {
using namespace std::chrono_literals;

RegisterRequest req(const std::string& contact, std::optional<std::uint32_t> expires,
                    std::uint32_t cseq = 1, const std::string& call_id = "cid-1",
                    const std::string& source = "192.0.2.7", std::uint16_t port = 61002) {
  RegisterRequest r;
  r.user = "1001";
  if (!contact.empty()) r.contacts.push_back({contact, std::nullopt});
  r.expires = expires;
  r.call_id = call_id;
  r.cseq = cseq;
  r.source = *acl::Address::parse(source);
  r.source_port = port;
  r.transport = conf::Transport::udp;
  r.profile = "udp-lo";
  return r;
}

class RegistrarTest : public ::testing::Test {
 protected:
  Registrar reg{conf::Registrar{}};  // min 60 s, default 600 s, max 3600 s
  Registrar::Clock::time_point t0{};
};

TEST_F(RegistrarTest, BindingRoutesToObservedSourceAndKeepsOriginalContact) {
  const auto out = reg.apply(req("sip:1001@10.0.0.5:5060", 600), t0);
  ASSERT_EQ(out.status, 200);
  ASSERT_EQ(out.bindings.size(), 1u);
  const auto b = reg.lookup("1001", t0 + 1s);
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->contact, "sip:1001@10.0.0.5:5060");  // what the NATed phone claimed
  EXPECT_EQ(b->route_uri, "sip:1001@192.0.2.7:61002;transport=udp");  // where it really is
  EXPECT_EQ(b->profile, "udp-lo");
}

TEST_F(RegistrarTest, ExpiryIsClampedAndEnforced) {
  EXPECT_EQ(reg.apply(req("sip:a@h", 30), t0).status, 423);  // below min-expires
  EXPECT_EQ(reg.apply(req("sip:a@h", 30), t0).min_expires, 60u);
  ASSERT_EQ(reg.apply(req("sip:a@h", 100000), t0).status, 200);  // clamped to max 3600
  EXPECT_TRUE(reg.lookup("1001", t0 + 3599s).has_value());
  EXPECT_FALSE(reg.lookup("1001", t0 + 3601s).has_value());
  EXPECT_EQ(reg.expire(t0 + 3601s), 1u);
  EXPECT_EQ(reg.size(), 0u);
  // No Expires at all: the default (600 s).
  ASSERT_EQ(reg.apply(req("sip:a@h", std::nullopt), t0).status, 200);
  EXPECT_TRUE(reg.lookup("1001", t0 + 599s).has_value());
  EXPECT_FALSE(reg.lookup("1001", t0 + 601s).has_value());
}

TEST_F(RegistrarTest, RefreshExtendsAndExpiresZeroRemoves) {
  reg.apply(req("sip:a@h", 600, 1), t0);
  reg.apply(req("sip:a@h", 600, 2), t0 + 500s);
  EXPECT_TRUE(reg.lookup("1001", t0 + 1000s).has_value());
  const auto out = reg.apply(req("sip:a@h", 0, 3), t0 + 1000s);
  EXPECT_EQ(out.status, 200);
  EXPECT_TRUE(out.bindings.empty());
  EXPECT_FALSE(reg.lookup("1001", t0 + 1000s).has_value());
}

TEST_F(RegistrarTest, OutOfOrderRefreshIsIgnored) {
  reg.apply(req("sip:a@h", 600, 5), t0);
  reg.apply(req("sip:a@h", 0, 4), t0 + 1s);  // older CSeq of the same Call-ID
  EXPECT_TRUE(reg.lookup("1001", t0 + 2s).has_value());
}

TEST_F(RegistrarTest, ContactStarUnregistersEverythingButOnlyWithExpiresZero) {
  reg.apply(req("sip:a@h", 600, 1, "cid-1"), t0);
  reg.apply(req("sip:b@h", 600, 1, "cid-2"), t0);
  EXPECT_EQ(reg.bindings("1001", t0).size(), 2u);
  auto star = req("", 600, 2);
  star.star = true;
  EXPECT_EQ(reg.apply(star, t0).status, 400);  // RFC 3261 §10.3: * needs Expires: 0
  star.expires = 0;
  EXPECT_EQ(reg.apply(star, t0).status, 200);
  EXPECT_FALSE(reg.lookup("1001", t0).has_value());
}

TEST_F(RegistrarTest, SeveralContactsCallsGoToMostRecentlyRefreshed) {
  reg.apply(req("sip:desk@h", 600, 1, "cid-desk", "192.0.2.1", 5060), t0);
  reg.apply(req("sip:mobile@h", 600, 1, "cid-mobile", "198.51.100.9", 40000), t0 + 10s);
  EXPECT_EQ(reg.lookup("1001", t0 + 11s)->contact, "sip:mobile@h");
  reg.apply(req("sip:desk@h", 600, 2, "cid-desk", "192.0.2.1", 5060), t0 + 20s);
  EXPECT_EQ(reg.lookup("1001", t0 + 21s)->contact, "sip:desk@h");
  EXPECT_EQ(reg.bindings("1001", t0 + 21s).size(), 2u);
}

TEST_F(RegistrarTest, Ipv6SourceIsBracketedInRouteUri) {
  reg.apply(req("sip:a@h", 600, 1, "c", "2001:db8::7", 5062), t0);
  EXPECT_EQ(reg.lookup("1001", t0)->route_uri, "sip:1001@[2001:db8::7]:5062;transport=udp");
}

}  // namespace
}  // namespace icegate::sip

namespace icegate::sip {
namespace {

TEST(RegistrarKeepalive, AllListsLiveBindingsAndRemoveDropsOne) {
  using namespace std::chrono_literals;
  Registrar reg{conf::Registrar{}};
  const Registrar::Clock::time_point t0{};
  ASSERT_EQ(reg.apply(req("sip:1001@10.0.0.5:5060", 600), t0).status, 200);
  ASSERT_EQ(reg.apply(req("sip:1001@10.0.0.6:5060", 60, 1, "cid-2"), t0).status, 200);
  EXPECT_EQ(reg.all(t0 + 1s).size(), 2U);
  EXPECT_EQ(reg.all(t0 + 61s).size(), 1U) << "expired bindings are not kept alive";
  EXPECT_TRUE(reg.remove("1001", "sip:1001@10.0.0.5:5060"));
  EXPECT_FALSE(reg.remove("1001", "sip:1001@10.0.0.5:5060"));
  EXPECT_EQ(reg.all(t0 + 1s).size(), 1U);
  EXPECT_TRUE(reg.remove("1001", "sip:1001@10.0.0.6:5060"));
  EXPECT_EQ(reg.size(), 0U);
}

}  // namespace
}  // namespace icegate::sip
