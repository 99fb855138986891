// <user contact="sip:..."> (issue 11): a static contact for a user that never registers, read
// with Sofia-SIP's URL parser; every bad one is an error naming file and line.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "conf/config.hpp"
#include "conf/contact.hpp"

namespace icegate::conf {
namespace {

using ::testing::HasSubstr;

std::string doc(const std::string& user_attributes, const std::string& listeners =
                    "<listener transport=\"udp\" address=\"127.0.0.1\" port=\"5060\"/>") {
  return "<?xml version=\"1.0\"?>\n<icegate>\n<sip>" + listeners +
         "</sip>\n<media address=\"127.0.0.1\"/>\n<users>\n"
         "<user name=\"1001\" password=\"x\"/>\n"
         "<user name=\"1002\" password=\"y\" " +
         user_attributes + "/>\n</users>\n</icegate>\n";
}

TEST(StaticContact, ParsesHostPortAndTransport) {
  auto c = parse_static_contact("sip:1002@192.0.2.10:5070");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->uri, "sip:1002@192.0.2.10:5070");
  EXPECT_EQ(c->transport, Transport::udp);
  EXPECT_EQ(c->address.to_string(), "192.0.2.10");
  EXPECT_EQ(c->port, 5070);

  c = parse_static_contact("sip:desk@192.0.2.11;transport=TCP;lr");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->transport, Transport::tcp) << "URI parameters are case-insensitive";
  EXPECT_EQ(c->port, 5060);

  c = parse_static_contact("sips:desk@[2001:db8::10]");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->transport, Transport::tls);
  EXPECT_EQ(c->address.to_string(), "2001:db8::10");
  EXPECT_EQ(c->port, 5061) << "RFC 3261 §19.1.2: 5061 for TLS";

  c = parse_static_contact("sip:192.0.2.12");  // no user part: fine
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->address.to_string(), "192.0.2.12");
}

TEST(StaticContact, RefusesWhatCannotBeSentTo) {
  const auto why = [](const char* text) {
    auto c = parse_static_contact(text);
    EXPECT_FALSE(c) << text;
    return c ? std::string() : c.error();
  };
  EXPECT_THAT(why(""), HasSubstr("is not a SIP URI"));
  EXPECT_THAT(why("tel:+4930123"), HasSubstr("must be a sip: or sips: URI"));
  EXPECT_THAT(why("http://192.0.2.1/"), HasSubstr("must be a sip: or sips: URI"));
  EXPECT_THAT(why("sip:1002@desk.example.com"), HasSubstr("the host must be an IP address"));
  EXPECT_THAT(why("sip:1002@192.0.2.10:99999"), HasSubstr("out of range"));
  EXPECT_THAT(why("sip:1002@192.0.2.10:50x"), HasSubstr("is not a SIP URI"));  // Sofia refuses it
  EXPECT_THAT(why("sip:1002@192.0.2.10;transport=sctp"), HasSubstr("is not one of udp, tcp, tls"));
  EXPECT_THAT(why("sips:1002@192.0.2.10;transport=udp"), HasSubstr("needs transport tls"));
  EXPECT_THAT(why("sip:1002@192.0.2.10?Subject=x"), HasSubstr("must not carry headers"));
  EXPECT_THAT(why("1002@192.0.2.10"), HasSubstr("must be a sip: or sips: URI"));
}

TEST(StaticContact, LoadedIntoTheUser) {
  auto r = load_string(doc("contact=\"sip:1002@192.0.2.10:5060\""), "test.xml", "/tmp");
  ASSERT_TRUE(r) << r.error().front().to_string();
  const User* u = r->config->find_user("1002");
  ASSERT_NE(u, nullptr);
  ASSERT_TRUE(u->contact);
  EXPECT_EQ(u->contact->uri, "sip:1002@192.0.2.10:5060");
  EXPECT_FALSE(r->config->find_user("1001")->contact);
}

TEST(StaticContact, BadContactIsAnErrorWithFileAndLine) {
  auto r = load_string(doc("contact=\"sip:1002@pbx.example.com\""), "test.xml", "/tmp");
  ASSERT_FALSE(r);
  ASSERT_EQ(r.error().size(), 1U);
  EXPECT_EQ(r.error()[0].to_string(),
            "/tmp/test.xml:7: error: contact: \"sip:1002@pbx.example.com\": the host must be an IP "
            "address (a static contact is not looked up in DNS)");
}

TEST(StaticContact, TransportNeedsAListener) {
  auto r = load_string(doc("contact=\"sip:1002@192.0.2.10;transport=tcp\""), "test.xml", "/tmp");
  ASSERT_FALSE(r);
  ASSERT_EQ(r.error().size(), 1U);
  EXPECT_EQ(r.error()[0].to_string(),
            "/tmp/test.xml:7: error: user \"1002\": contact transport tcp needs a tcp <listener> "
            "to send from");
  r = load_string(doc("contact=\"sip:1002@192.0.2.10;transport=tcp\"",
                      "<listener transport=\"udp\" address=\"127.0.0.1\"/>"
                      "<listener transport=\"tcp\" address=\"127.0.0.1\"/>"),
                  "test.xml", "/tmp");
  ASSERT_TRUE(r) << r.error().front().to_string();
}

}  // namespace
}  // namespace icegate::conf
