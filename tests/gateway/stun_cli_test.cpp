// The STUN/TURN operator commands through run_cli: stun-check against loopback STUN servers,
// ice-servers for users with and without a group, nat-detect's partial answer, and the helpers.
#include <gmock/gmock.h>
#include <unistd.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli_support.hpp"
#include "gateway/cli/cli.hpp"
#include "gateway/cli/json_output.hpp"
#include "gateway/cli/nat_report.hpp"
#include "gateway/cli/turn_ice_servers.hpp"
#include "gateway/stunio/stun_io.hpp"
#include "stun_fake_server.hpp"

namespace icegate::gateway {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::FakeStunServer;

using test::cli;

// A configuration file in the temp directory, removed at the end of the test.
struct TempConfig {
  std::filesystem::path path;
  explicit TempConfig(const std::string& stun_and_turn) {
    path = std::filesystem::temp_directory_path() /
           ("icegate-stun-cli-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".xml");
    std::ofstream(path) << R"(<icegate>
  <sip><listener name="udp" transport="udp" address="127.0.0.1" port="5060"/></sip>
  <media address="127.0.0.1" rtp-min="30000" rtp-max="30100"/>
  )" << stun_and_turn << R"(
  <users>
    <user name="1001" password="x")" << (stun_and_turn.find("<groups>") != std::string::npos ? " group=\"mobile\"" : "") << R"(/>
    <user name="1002" password="y"/>
  </users>
</icegate>
)";
  }
  ~TempConfig() { std::filesystem::remove(path); }
  std::string str() const { return path.string(); }
};

std::string stun_block(std::uint16_t p1, std::uint16_t p2) {
  return R"(<stun enabled="true"><server name="stun1" host="127.0.0.1" port=")" + std::to_string(p1) +
         R"("/><server name="stun2" host="127.0.0.1" port=")" + std::to_string(p2) + R"("/></stun>)";
}

TEST(StunCheck, AgreeingServersAndExpect) {
  FakeStunServer a("203.0.113.7"), b("203.0.113.7");
  TempConfig cfg(stun_block(a.port(), b.port()));
  auto r = cli({"stun-check", "-c", cfg.str(), "--expect", "203.0.113.7"});
  EXPECT_EQ(r.code, kExitOk) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("stun1 (127.0.0.1:" + std::to_string(a.port()) + "): mapped address 203.0.113.7:"));
  EXPECT_THAT(r.out, HasSubstr("matches --expect 203.0.113.7"));
  EXPECT_THAT(r.out, HasSubstr("all 2 answering servers agree: public IP 203.0.113.7"));
  EXPECT_THAT(r.out, HasSubstr("RTT "));

  r = cli({"stun-check", "-c", cfg.str(), "--expect", "203.0.113.8"});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.out, HasSubstr("DOES NOT MATCH --expect 203.0.113.8"));

  r = cli({"stun-check", "-c", cfg.str(), "--server", "stun2", "--json"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_THAT(r.out, HasSubstr("\"name\":\"stun2\""));
  EXPECT_THAT(r.out, Not(HasSubstr("\"name\":\"stun1\"")));
  EXPECT_THAT(r.out, HasSubstr("\"ok\":true"));

  r = cli({"stun-check", "-c", cfg.str(), "--server", "nope"});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.err, HasSubstr("no STUN server named \"nope\" (known: stun1 stun2)"));
}

TEST(StunCheck, DisagreeingAndUnreachableServersFail) {
  FakeStunServer a("203.0.113.7"), b("198.51.100.9");
  TempConfig cfg(stun_block(a.port(), b.port()));
  auto r = cli({"stun-check", "-c", cfg.str()});
  EXPECT_EQ(r.code, kExitOk) << "both answered; the disagreement is a warning";
  EXPECT_THAT(r.out, HasSubstr("WARNING: several public IPs or NICs: stun1 says 203.0.113.7, stun2 says 198.51.100.9"));

  TempConfig down(stun_block(a.port(), testing::unused_udp_port()));
  r = cli({"stun-check", "-c", down.str(), "--timeout", "2"});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.out, HasSubstr("stun2"));
  EXPECT_THAT(r.out, HasSubstr("UNREACHABLE"));
}

TEST(NatDetect, ServerWithoutRfc5780GivesAPartialAnswer) {
  // A loopback "public" address: the hairpinning test sends to it, and tests stay on loopback.
  FakeStunServer a("127.0.0.9");
  TempConfig cfg(stun_block(a.port(), a.port()));
  auto r = cli({"nat-detect", "-c", cfg.str(), "--timeout", "0.5"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("NAT                 yes"));
  EXPECT_THAT(r.out, HasSubstr("does not support RFC 5780"));
  EXPECT_THAT(r.out, HasSubstr("RFC 3489 class      unknown"));
  r = cli({"nat-detect", "-c", cfg.str(), "--timeout", "0.5", "--json"});
  EXPECT_THAT(r.out, HasSubstr("\"rfc5780\":false"));
  EXPECT_THAT(r.out, HasSubstr("\"public_ip\":\"127.0.0.9\""));
  EXPECT_EQ(cli({"nat-detect", "-c", cfg.str(), "--server", "stun1", "--stun", "x"}).code, kExitUsage);
}

TEST(IceServers, GroupTurnServersWithFreshCredentials) {
  TempConfig cfg(R"(<stun enabled="false"><server name="s" host="stun.example.net"/></stun>
  <turn>
    <server name="lt" host="turn1.example.net" port="3478" transport="udp" username="u" password="p"/>
    <server name="rest" host="2001:db8::1" port="5349" transport="tls" shared-secret="sekrit" credential-ttl="1h"/>
  </turn>
  <groups><group name="mobile" turn="lt rest"/></groups>)");
  auto r = cli({"ice-servers", "-c", cfg.str(), "1001", "--json"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("{\"urls\":[\"stun:stun.example.net:3478\"]}"));
  EXPECT_THAT(r.out, HasSubstr("{\"urls\":[\"turn:turn1.example.net:3478?transport=udp\"],\"username\":\"u\",\"credential\":\"p\"}"));
  EXPECT_THAT(r.out, HasSubstr("\"turns:[2001:db8::1]:5349?transport=tcp\""));
  EXPECT_THAT(r.out, HasSubstr(":1001\""));

  auto loaded = conf::load_file(cfg.str());
  ASSERT_TRUE(loaded);
  auto list = ice_servers_for(*loaded->config, "1001", 1700000000);
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 3u);
  const auto expected = media::stunclient::turn_rest_credentials("sekrit", "1001", 1700003600);
  EXPECT_EQ((*list)[2].username, "1700003600:1001");
  EXPECT_EQ((*list)[2].credential, expected.password);
  EXPECT_EQ((*list)[2].expires, 1700003600);

  r = cli({"ice-servers", "-c", cfg.str(), "1002"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_THAT(r.out, HasSubstr("stun:stun.example.net:3478"));
  EXPECT_THAT(r.out, Not(HasSubstr("turn:")));
  r = cli({"ice-servers", "-c", cfg.str(), "9999"});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.err, HasSubstr("no user named \"9999\""));
}

TEST(TurnCheck, UnknownServerAndUsage) {
  TempConfig cfg("");
  EXPECT_EQ(cli({"turn-check", "-c", cfg.str()}).code, kExitUsage);
  auto r = cli({"turn-check", "-c", cfg.str(), "nope"});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.err, HasSubstr("no TURN server named \"nope\""));
}

TEST(StunHelpers, HostPort) {
  EXPECT_EQ(parse_host_port("stun.example.net", 3478)->port, 3478);
  auto hp = parse_host_port("192.0.2.1:3479", 3478);
  EXPECT_EQ(hp->host, "192.0.2.1");
  EXPECT_EQ(hp->port, 3479);
  hp = parse_host_port("[2001:db8::1]:5000", 3478);
  EXPECT_EQ(hp->host, "2001:db8::1");
  EXPECT_EQ(hp->port, 5000);
  hp = parse_host_port("2001:db8::1", 3478);
  EXPECT_EQ(hp->host, "2001:db8::1");
  EXPECT_EQ(hp->port, 3478);
  EXPECT_FALSE(parse_host_port("host:0", 3478));
  EXPECT_FALSE(parse_host_port("host:99999", 3478));
  EXPECT_FALSE(parse_host_port("[::1", 3478));
  EXPECT_FALSE(resolve("127.0.0.1", 1, acl::Family::v6));
  EXPECT_EQ(resolve("localhost", 7, acl::Family::v4)->to_string(), "127.0.0.1:7");
}

TEST(StunHelpers, JsonOutputEscapes) {
  Json j = Json::object();
  j["a"] = "x\"y\n";
  j["b"] = Json::array({true, nullptr});
  EXPECT_EQ(json_line(j), R"({"a":"x\"y\n","b":[true,null]})" "\n");
  // Bytes from the network that are not UTF-8 are replaced, not thrown on.
  EXPECT_EQ(json_line(Json("a\xff")), "\"a\xef\xbf\xbd\"\n");
  EXPECT_EQ(json_line(Json(json_millis(std::chrono::nanoseconds(12345678)))), "12.346\n");
}

TEST(NatReport, RecommendationPerClass) {
  conf::Media m;
  media::stunclient::NatReport r;
  r.answered = true;
  r.rfc3489 = media::stunclient::Rfc3489Class::symmetric;
  EXPECT_THAT(nat_recommendation(r, m), HasSubstr("will not work for media"));
  EXPECT_THAT(nat_recommendation(r, m), HasSubstr("30000-33000/udp 1:1"));
  EXPECT_THAT(nat_recommendation(r, m), HasSubstr("TURN"));
  r.rfc3489 = media::stunclient::Rfc3489Class::port_restricted_cone;
  EXPECT_THAT(nat_recommendation(r, m), HasSubstr("works with pin-hole punching"));
  r.rfc3489 = media::stunclient::Rfc3489Class::open_internet;
  EXPECT_THAT(nat_recommendation(r, m), HasSubstr("STUN is not needed"));
}

}  // namespace
}  // namespace icegate::gateway
