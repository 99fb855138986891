// Public address discovery over real loopback sockets: the choice among servers, the "several
// public IPs" warning, the unreachable warning with back-off, and picking the address up later.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "gateway/daemon/public_address.hpp"
#include "stun_fake_server.hpp"

namespace icegate::gateway {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using testing::FakeStunServer;

conf::StunServer server(std::string name, std::uint16_t port) {
  conf::StunServer s;
  s.name = std::move(name);
  s.host = "127.0.0.1";
  s.port = port;
  return s;
}

// Collects the sink's addresses and the log lines; waits with a bounded deadline.
struct Recorder {
  std::mutex m;
  std::condition_variable cv;
  std::vector<acl::Address> addresses;
  std::vector<std::string> lines;

  PublicAddressDiscovery::Sink sink() {
    return [this](const acl::Address& a) {
      std::lock_guard l(m);
      addresses.push_back(a);
      cv.notify_all();
    };
  }
  PublicAddressDiscovery::Log log() {
    return [this](PublicAddressDiscovery::Level lvl, const std::string& s) {
      std::lock_guard l(m);
      lines.push_back((lvl == PublicAddressDiscovery::Level::warn ? "WARN " : "INFO ") + s);
      cv.notify_all();
    };
  }
  bool wait(const std::function<bool()>& pred, std::chrono::milliseconds limit = 10s) {
    std::unique_lock l(m);
    return cv.wait_for(l, limit, pred);
  }
  std::string all() {
    std::lock_guard l(m);
    std::string s;
    for (const auto& x : lines) s += x + "\n";
    return s;
  }
};

PublicAddressDiscovery::Options fast() {
  PublicAddressDiscovery::Options o;
  o.policy.rto = 2000ms;  // no retransmission on a loaded machine: "asked once" stays exact
  o.first_retry = 200ms;
  o.max_retry = 400ms;
  return o;
}

TEST(PublicAddressDiscovery, SeveralServersThatDisagreeAreReportedAndTheFirstWins) {
  FakeStunServer a("203.0.113.7"), b("198.51.100.9");
  ASSERT_TRUE(a.ok() && b.ok());
  conf::Stun stun;
  stun.enabled = true;
  stun.servers = {server("stun1", a.port()), server("stun2", b.port())};
  Recorder rec;
  PublicAddressDiscovery d(stun, acl::Address::v4(0x7f000001), rec.sink(), fast(), rec.log());
  ASSERT_TRUE(rec.wait([&] { return !rec.addresses.empty(); })) << rec.all();
  d.stop();
  EXPECT_EQ(rec.addresses, std::vector<acl::Address>{acl::Address::parse("203.0.113.7").value()});
  EXPECT_EQ(d.current(), acl::Address::parse("203.0.113.7").value());
  EXPECT_THAT(rec.all(), HasSubstr("WARN several public IPs or NICs: stun1 says 203.0.113.7, stun2 says "
                                   "198.51.100.9; using 203.0.113.7 (the first configured server "
                                   "that answered)"));
  EXPECT_THAT(rec.all(), HasSubstr("public address 203.0.113.7 from STUN server stun1"));
  EXPECT_EQ(a.requests(), 1) << "asked once, not per call and not again";
}

TEST(PublicAddressDiscovery, UnreachableServerIsRetriedUntilItAnswers) {
  const auto port = testing::unused_udp_port();
  conf::Stun stun;
  stun.enabled = true;
  stun.servers = {server("stun1", port)};
  Recorder rec;
  PublicAddressDiscovery d(stun, acl::Address::v4(0x7f000001), rec.sink(), fast(), rec.log());
  ASSERT_TRUE(rec.wait([&] { return rec.lines.size() >= 2; })) << rec.all();
  EXPECT_THAT(rec.all(), HasSubstr("WARN STUN server stun1 (127.0.0.1:" + std::to_string(port) +
                                   ") unreachable: no public candidate is offered; retrying in 1 s"));
  EXPECT_TRUE(rec.addresses.empty());
  FakeStunServer late("203.0.113.77", port);
  ASSERT_TRUE(late.ok());
  ASSERT_TRUE(rec.wait([&] { return !rec.addresses.empty(); })) << rec.all();
  EXPECT_EQ(rec.addresses.front(), acl::Address::parse("203.0.113.77").value());
}

TEST(PublicAddressDiscovery, NoNatIsSaidPlainly) {
  FakeStunServer a("127.0.0.1");
  conf::Stun stun;
  stun.enabled = true;
  stun.servers = {server("stun1", a.port())};
  Recorder rec;
  PublicAddressDiscovery d(stun, acl::Address::v4(0x7f000001), rec.sink(), fast(), rec.log());
  ASSERT_TRUE(rec.wait([&] { return !rec.addresses.empty(); })) << rec.all();
  d.stop();
  EXPECT_THAT(rec.all(), HasSubstr("not behind a NAT"));
}

TEST(PublicAddressDiscovery, OnlyStunSettingsThatMatterCount) {
  conf::Stun a;
  a.enabled = true;
  a.servers = {server("s", 3478)};
  conf::Stun b = a;
  b.servers[0].comment = "changed comment";
  EXPECT_TRUE(same_stun_settings(a, b));
  b.servers[0].port = 3479;
  EXPECT_FALSE(same_stun_settings(a, b));
  b = a;
  b.enabled = false;
  EXPECT_FALSE(same_stun_settings(a, b));
}

}  // namespace
}  // namespace icegate::gateway
