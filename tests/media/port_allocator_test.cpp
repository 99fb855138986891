// The RTP port allocator: shapes, uniqueness, quarantine (injected clock), exhaustion, ports
// held by someone else. Binds real sockets on 127.58.0.1 in a test-chosen high range.
#include <gtest/gtest.h>

#include <cerrno>
#include <set>
#include <vector>

#include "media/ports/port_allocator.hpp"

namespace icegate::media::ports {
namespace {

using namespace std::chrono_literals;

const acl::Address kAddr = acl::Address::v4(0x7f3a0001);  // 127.58.0.1

struct FakeClock {
  Clock::time_point t = Clock::time_point{} + 1h;
  NowFn fn() {
    return [this] { return t; };
  }
};

PortAllocator make(std::uint16_t min, std::uint16_t max, FakeClock& clock,
                   std::chrono::milliseconds quarantine = 10s) {
  AllocatorConfig c;
  c.address = kAddr;
  c.min_port = min;
  c.max_port = max;
  c.quarantine = quarantine;
  c.bad_port_retry = 60s;
  c.now = clock.fn();
  auto a = PortAllocator::create(std::move(c));
  EXPECT_TRUE(a) << a.error();
  return std::move(a).value();
}

TEST(PortAllocator, PairIsEvenRtpAndOddRtcpBoundOnTheMediaAddress) {
  FakeClock clock;
  auto alloc = make(47001, 47010, clock);  // odd min: 47001 alone, first pair 47002/47003
  auto l = alloc.allocate(PortShape::pair);
  ASSERT_TRUE(l) << l.error().detail;
  EXPECT_EQ(l->rtp_port(), 47002);
  ASSERT_NE(l->rtcp(), nullptr);
  EXPECT_EQ(l->rtcp()->local().port, 47003);
  EXPECT_EQ(l->rtp().local().address, kAddr);
  EXPECT_TRUE(l->rtp().valid());
}

TEST(PortAllocator, SinglesUseLonePortsBeforeSplittingPairs) {
  FakeClock clock;
  auto alloc = make(47021, 47026, clock);  // 47021 lone, pairs 22/23 24/25, 47026 lone
  EXPECT_EQ(alloc.stats().free_pairs, 2u);
  EXPECT_EQ(alloc.stats().free_singles, 2u);
  auto s1 = alloc.allocate(PortShape::single);
  auto s2 = alloc.allocate(PortShape::single);
  ASSERT_TRUE(s1 && s2);
  EXPECT_EQ(s1->rtcp(), nullptr);
  EXPECT_EQ(std::set<std::uint16_t>({s1->rtp_port(), s2->rtp_port()}),
            (std::set<std::uint16_t>{47021, 47026}));
  EXPECT_EQ(alloc.stats().free_pairs, 2u);
  // The next single splits a pair; the one after takes its sibling, keeping the other pair.
  auto s3 = alloc.allocate(PortShape::single);
  auto s4 = alloc.allocate(PortShape::single);
  ASSERT_TRUE(s3 && s4);
  EXPECT_EQ(s3->rtp_port() / 2, s4->rtp_port() / 2);
  EXPECT_EQ(alloc.stats().free_pairs, 1u);
}

TEST(PortAllocator, NoPortIsHandedOutTwice) {
  FakeClock clock;
  auto alloc = make(47100, 47139, clock);
  std::vector<PortLease> leases;
  std::multiset<std::uint16_t> ports;
  for (int i = 0;; ++i) {
    auto l = alloc.allocate(i % 3 == 0 ? PortShape::single : PortShape::pair);
    if (!l) {
      // Pairs may run out while singles remain; drain those too.
      l = alloc.allocate(PortShape::single);
      if (!l) break;
    }
    ports.insert(l->rtp_port());
    if (l->rtcp()) {
      EXPECT_EQ(l->rtp_port() % 2, 0);
      EXPECT_EQ(l->rtcp()->local().port, l->rtp_port() + 1);
      ports.insert(l->rtcp()->local().port);
    }
    leases.push_back(std::move(*l));
  }
  EXPECT_EQ(ports.size(), 40u);
  EXPECT_EQ(std::set<std::uint16_t>(ports.begin(), ports.end()).size(), 40u);
  EXPECT_EQ(alloc.stats().in_use, 40u);
}

TEST(PortAllocator, ExhaustionIsAnErrorAndReuseWaitsForTheQuarantine) {
  FakeClock clock;
  auto alloc = make(47200, 47201, clock, 10s);
  auto l = alloc.allocate(PortShape::pair);
  ASSERT_TRUE(l);
  auto none = alloc.allocate(PortShape::pair);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, PortErrc::exhausted);
  EXPECT_NE(none.error().detail.find("47200-47201"), std::string::npos) << none.error().detail;
  EXPECT_EQ(alloc.stats().exhausted, 1u);

  l->reset();  // call ended: sockets closed, ports quarantined
  EXPECT_EQ(alloc.stats().quarantined, 2u);
  EXPECT_FALSE(alloc.allocate(PortShape::pair));
  EXPECT_FALSE(alloc.allocate(PortShape::single));
  clock.t += 9999ms;
  EXPECT_FALSE(alloc.allocate(PortShape::pair));
  clock.t += 1ms;
  auto again = alloc.allocate(PortShape::pair);
  ASSERT_TRUE(again) << again.error().detail;
  EXPECT_EQ(again->rtp_port(), 47200);
}

TEST(PortAllocator, ReleasedPortsGoToTheBackOfTheLine) {
  FakeClock clock;
  auto alloc = make(47300, 47305, clock, 0s);
  auto a = alloc.allocate(PortShape::pair);
  ASSERT_TRUE(a);
  const auto first = a->rtp_port();
  a->reset();
  auto b = alloc.allocate(PortShape::pair);
  ASSERT_TRUE(b);
  EXPECT_NE(b->rtp_port(), first);  // least recently used first, even with zero quarantine
}

TEST(PortAllocator, PortHeldByAnotherSocketIsSkippedReportedAndRetriedLater) {
  FakeClock clock;
  auto holder = UdpSocket::bind(Endpoint{kAddr, 47402});
  ASSERT_TRUE(holder) << "test port 47402 busy: " << holder.error();
  auto alloc = make(47400, 47405, clock);
  auto p1 = alloc.allocate(PortShape::pair);
  auto p2 = alloc.allocate(PortShape::pair);
  ASSERT_TRUE(p1 && p2);
  EXPECT_EQ(p1->rtp_port(), 47400);
  EXPECT_EQ(p2->rtp_port(), 47404);  // 47402 is taken by `holder`
  auto failures = alloc.take_bind_failures();
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].port, 47402);
  EXPECT_EQ(failures[0].error, EADDRINUSE);
  EXPECT_TRUE(alloc.take_bind_failures().empty());
  auto st = alloc.stats();
  EXPECT_EQ(st.bind_failures, 1u);
  EXPECT_EQ(st.unbindable, 1u);
  // 47403 stays usable as a single; 47402 is held out.
  auto s = alloc.allocate(PortShape::single);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->rtp_port(), 47403);
  EXPECT_FALSE(alloc.allocate(PortShape::single));

  // The other process lets go; after bad_port_retry the port is back in service.
  holder->close();
  s->reset();
  clock.t += 60s;
  auto pair = alloc.allocate(PortShape::pair);
  ASSERT_TRUE(pair) << pair.error().detail;
  EXPECT_EQ(pair->rtp_port(), 47402);
}

TEST(PortAllocator, DroppingTheLeaseClosesTheSockets) {
  FakeClock clock;
  auto alloc = make(47500, 47501, clock);
  {
    auto l = alloc.allocate(PortShape::pair);
    ASSERT_TRUE(l);
    EXPECT_FALSE(UdpSocket::bind(Endpoint{kAddr, 47500}));  // ours while leased
  }
  EXPECT_TRUE(UdpSocket::bind(Endpoint{kAddr, 47500}));  // closed, though still in quarantine
  EXPECT_EQ(alloc.stats().quarantined, 2u);
}

TEST(PortAllocator, LeaseOutlivingTheAllocatorIsSafe) {
  FakeClock clock;
  PortLease kept;
  {
    auto alloc = make(47600, 47601, clock);
    auto l = alloc.allocate(PortShape::single);
    ASSERT_TRUE(l);
    kept = std::move(*l);
  }
  EXPECT_TRUE(kept.valid());
  kept.reset();
  EXPECT_FALSE(kept.valid());
}

TEST(PortAllocator, BindErrorThatIsNotAboutThePortIsReportedNotSkipped) {
  FakeClock clock;
  AllocatorConfig c;
  c.address = acl::Address::v4(0xc0000201);  // 192.0.2.1 (TEST-NET-1): not a local address
  c.min_port = 47700;
  c.max_port = 47703;
  c.now = clock.fn();
  auto alloc = PortAllocator::create(c);
  ASSERT_TRUE(alloc);
  auto l = alloc->allocate(PortShape::pair);
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error().code, PortErrc::bind_error);
  EXPECT_EQ(alloc->stats().unbindable, 0u);
  EXPECT_EQ(alloc->stats().free_pairs, 2u);  // nothing lost
}

TEST(PortAllocator, Ipv6MediaAddress) {
  auto probe = UdpSocket::bind(Endpoint{acl::Address::parse("::1").value(), 0});
  if (!probe) GTEST_SKIP() << "no IPv6 loopback here";
  FakeClock clock;
  AllocatorConfig c;
  c.address = acl::Address::parse("::1").value();
  c.min_port = 47800;
  c.max_port = 47801;
  c.now = clock.fn();
  auto alloc = PortAllocator::create(c);
  ASSERT_TRUE(alloc);
  auto l = alloc->allocate(PortShape::pair);
  ASSERT_TRUE(l) << l.error().detail;
  EXPECT_FALSE(l->rtp().local().address.is_v4());
  EXPECT_EQ(l->rtp().local().port, 47800);
}

TEST(PortAllocator, RejectsAnEmptyRange) {
  AllocatorConfig c;
  c.min_port = 40010;
  c.max_port = 40000;
  EXPECT_FALSE(PortAllocator::create(c));
  c.min_port = 0;
  c.max_port = 10;
  EXPECT_FALSE(PortAllocator::create(c));
}

}  // namespace
}  // namespace icegate::media::ports
