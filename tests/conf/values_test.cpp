#include <gtest/gtest.h>

#include "conf/values.hpp"

namespace icegate::conf {
namespace {
using namespace std::chrono_literals;

TEST(ConfigValues, Durations) {
  EXPECT_EQ(*parse_duration("30"), 30s);
  EXPECT_EQ(*parse_duration("30s"), 30s);
  EXPECT_EQ(*parse_duration("250ms"), 250ms);
  EXPECT_EQ(*parse_duration("2m"), 120s);
  EXPECT_EQ(*parse_duration("1h"), 3600s);
  for (const char* bad : {"", "s", "-1", "1.5s", "10 s", "3d", "1234567890"}) {
    EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
  }
  EXPECT_EQ(format_duration(90s), "90s");
  EXPECT_EQ(format_duration(2h), "2h");
  EXPECT_EQ(format_duration(120s), "2m");
  EXPECT_EQ(format_duration(1500ms), "1500ms");
}

TEST(ConfigValues, Ports) {
  EXPECT_EQ(*parse_port("1"), 1);
  EXPECT_EQ(*parse_port("65535"), 65535);
  EXPECT_EQ(parse_port("0").error(), "port 0 is out of range (1-65535)");
  EXPECT_EQ(parse_port("65536").error(), "port 65536 is out of range (1-65535)");
  EXPECT_EQ(parse_port("99999999999999999999").error(),
            "port 99999999999999999999 is out of range (1-65535)");
  EXPECT_EQ(parse_port("5060x").error(), "port \"5060x\" is not a number");
  EXPECT_FALSE(parse_port("").has_value());
  EXPECT_FALSE(parse_port(" 5060").has_value());
}

TEST(ConfigValues, BooleansTransportsProfiles) {
  EXPECT_TRUE(*parse_bool("on"));
  EXPECT_FALSE(*parse_bool("no"));
  EXPECT_FALSE(parse_bool("True").has_value());
  EXPECT_EQ(*parse_transport("tcp"), Transport::tcp);
  EXPECT_FALSE(parse_transport("sctp").has_value());
  EXPECT_EQ(*parse_media_profile("sdes"), MediaProfile::sdes);
  EXPECT_FALSE(parse_media_profile("zrtp").has_value());
}

TEST(ConfigValues, NamesHostsPrefixes) {
  EXPECT_TRUE(parse_name("sip_peers-2.a").has_value());
  EXPECT_FALSE(parse_name("sip peers").has_value());
  EXPECT_FALSE(parse_name("").has_value());
  EXPECT_FALSE(parse_name(std::string(65, 'a')).has_value());
  EXPECT_TRUE(parse_user_name("1001").has_value());
  EXPECT_TRUE(parse_user_name("alice.smith").has_value());
  EXPECT_FALSE(parse_user_name("alice@example.com").has_value());
  EXPECT_FALSE(parse_user_name("a b").has_value());
  EXPECT_TRUE(parse_host("stun.example.net").has_value());
  EXPECT_TRUE(parse_host("192.0.2.1").has_value());
  EXPECT_TRUE(parse_host("2001:db8::1").has_value());
  EXPECT_FALSE(parse_host("-bad.example").has_value());
  EXPECT_FALSE(parse_host("a..b").has_value());
  EXPECT_FALSE(parse_host("under_score.example").has_value());
  EXPECT_FALSE(parse_host("").has_value());
  EXPECT_TRUE(parse_prefix("").has_value());
  EXPECT_TRUE(parse_prefix("+49*#").has_value());
  EXPECT_FALSE(parse_prefix("49a").has_value());
}

}  // namespace
}  // namespace icegate::conf
