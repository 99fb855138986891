#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "conf/config.hpp"

namespace icegate::conf {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

const std::string kSource = ICEGATE_SOURCE_DIR;

// Minimal valid document around `body` (a listener and a media address are required).
std::string doc(const std::string& body, bool with_basics = true) {
  std::string s = "<?xml version=\"1.0\"?>\n<icegate>\n";
  if (with_basics) {
    s += "<sip><listener transport=\"udp\" address=\"127.0.0.1\" port=\"5060\"/></sip>\n";
    s += "<media address=\"127.0.0.1\"/>\n";
  }
  return s + body + "</icegate>\n";
}

std::vector<Diagnostic> errors_of(const std::string& xml) {
  auto r = load_string(xml, "test.xml", "/tmp");
  if (r) return {};
  return r.error();
}

// Exactly one error, with this line and a message containing `what`.
void expect_error(const std::string& xml, unsigned line, const std::string& what) {
  auto errs = errors_of(xml);
  ASSERT_EQ(errs.size(), 1u) << "for:\n" << xml;
  EXPECT_EQ(errs[0].where.file, "/tmp/test.xml");
  EXPECT_EQ(errs[0].where.line, line) << errs[0].to_string();
  EXPECT_THAT(errs[0].message, HasSubstr(what));
  EXPECT_THAT(errs[0].to_string(), HasSubstr("/tmp/test.xml:" + std::to_string(line) + ": error: "));
}

std::vector<std::string> warnings_of(const std::string& xml) {
  auto r = load_string(xml, "test.xml", "/tmp");
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().front().to_string());
  std::vector<std::string> out;
  if (r) {
    for (const auto& w : r->warnings) out.push_back(w.to_string());
  }
  return out;
}

TEST(ConfigLoader, DefaultConfigurationIsTheDocumentedContract) {
  auto r = load_file(kSource + "/conf/icegate.xml");
  ASSERT_TRUE(r.has_value()) << r.error().front().to_string();
  EXPECT_TRUE(r->warnings.empty()) << r->warnings.front().to_string();
  const Config& c = *r->config;
  ASSERT_EQ(c.sip.listeners.size(), 2u);
  EXPECT_EQ(c.sip.listeners[0].transport, Transport::udp);
  EXPECT_EQ(c.sip.listeners[1].transport, Transport::tcp);
  for (const auto& l : c.sip.listeners) {
    EXPECT_EQ(l.address.to_string(), "127.0.0.1");
    EXPECT_EQ(l.port, 5060);
  }
  EXPECT_EQ(c.media.address.to_string(), "127.0.0.1");
  EXPECT_EQ(c.media.rtp_min, 30000);
  EXPECT_EQ(c.media.rtp_max, 33000);
  EXPECT_FALSE(c.stun.enabled);
  ASSERT_EQ(c.users.size(), 2u);
  EXPECT_EQ(c.find_user("1001")->password, "1001secret");
  EXPECT_EQ(c.find_user("1002")->password, "1002secret");
  const Trunk* pbx = c.find_trunk("pbx");
  ASSERT_NE(pbx, nullptr);
  EXPECT_EQ(pbx->transport, Transport::udp);
  ASSERT_EQ(pbx->addresses.size(), 1u);
  EXPECT_EQ(pbx->addresses[0].host, "127.0.0.1");
  EXPECT_EQ(pbx->addresses[0].port, 5080);
  ASSERT_NE(c.route_for("0049301234"), nullptr);
  EXPECT_EQ(c.route_for("0049301234")->trunk, "pbx");
  ASSERT_NE(c.policy.sip_inbound, nullptr);
  EXPECT_TRUE(c.policy.sip_inbound->check(*acl::Address::parse("127.0.0.1")).allowed());
  EXPECT_TRUE(c.policy.sip_inbound->check(*acl::Address::parse("127.9.9.9")).allowed());
  EXPECT_FALSE(c.policy.sip_inbound->check(*acl::Address::parse("10.0.0.1")).allowed());
}

TEST(ConfigLoader, FullDocumentRoundTripsIntoTypedSnapshot) {
  const std::string xml = doc(R"(
<logging level="debug" sofia-level="error"/>
<stun enabled="true">
  <server name="s1" host="stun.example.net" comment="first"/>
  <server name="s2" host="192.0.2.1" port="3479"/>
</stun>
<turn>
  <server name="t1" host="turn.example.net" port="5349" transport="tcp" username="u" password="p"/>
  <server name="t2" host="192.0.2.2" shared-secret="s3cr3t" credential-ttl="2h"/>
</turn>
<groups><group name="mobile" turn="t1 t2"/></groups>
<acls>
  <acl name="a"><whitelist cidr="10.0.0.0/8"/><blacklist cidr="2001:db8::/32"/></acl>
</acls>
<acl-policy sip-inbound="a" remote-candidates="a"/>
<users><user name="alice" password="pw" group="mobile"/></users>
<trunks>
  <trunk name="carrier" transport="tcp" media-profile="sdes" options-interval="0">
    <address host="sip1.example.net"/>
    <address host="192.0.2.9" port="5070"/>
    <registration username="acct" password="pw2" expires="10m"/>
  </trunk>
</trunks>
<routes><route prefix="00" trunk="carrier"/><route prefix="0049" trunk="carrier"/></routes>
)");
  // The <media> of doc() is replaced by a fuller one.
  std::string full = xml;
  const std::string basic_media = "<media address=\"127.0.0.1\"/>";
  full.replace(full.find(basic_media), basic_media.size(),
               "<media address=\"192.0.2.50\" rtp-min=\"40000\" rtp-max=\"40999\" "
               "media-timeout=\"90s\" consent-timeout=\"20000ms\" pinhole-puncher=\"yes\" "
               "latching=\"false\" workers=\"3\" public-address=\"203.0.113.7\"/>");
  auto r = load_string(full, "full.xml", "/tmp");
  ASSERT_TRUE(r.has_value()) << r.error().front().to_string();
  const Config& c = *r->config;
  EXPECT_EQ(c.logging.level, "debug");
  EXPECT_EQ(c.logging.sofia_level, "error");
  EXPECT_EQ(c.media.address.to_string(), "192.0.2.50");
  EXPECT_EQ(c.media.rtp_min, 40000);
  EXPECT_EQ(c.media.rtp_max, 40999);
  EXPECT_EQ(c.media.media_timeout, 90s);
  EXPECT_EQ(c.media.consent_timeout, 20s);
  EXPECT_TRUE(c.media.pinhole_puncher);
  EXPECT_FALSE(c.media.latching);
  EXPECT_EQ(c.media.workers, 3u);
  ASSERT_TRUE(c.media.public_address.has_value());
  EXPECT_EQ(c.media.public_address->to_string(), "203.0.113.7");
  EXPECT_TRUE(c.stun.enabled);
  ASSERT_EQ(c.stun.servers.size(), 2u);
  EXPECT_EQ(c.stun.servers[0].port, 3478);
  EXPECT_EQ(c.stun.servers[0].comment, "first");
  EXPECT_EQ(c.stun.servers[1].port, 3479);
  const TurnServer* t1 = c.find_turn_server("t1");
  ASSERT_NE(t1, nullptr);
  EXPECT_EQ(t1->transport, Transport::tcp);
  EXPECT_EQ(t1->username, "u");
  EXPECT_FALSE(t1->shared_secret.has_value());
  EXPECT_EQ(c.find_turn_server("t2")->shared_secret, "s3cr3t");
  EXPECT_EQ(c.find_turn_server("t2")->credential_ttl, 2h);
  EXPECT_EQ(c.find_group("mobile")->turn_servers, (std::vector<std::string>{"t1", "t2"}));
  EXPECT_EQ(c.find_user("alice")->group, "mobile");
  ASSERT_NE(c.policy.sip_inbound, nullptr);
  EXPECT_EQ(c.policy.sip_inbound->name(), "a");
  EXPECT_EQ(c.policy.remote_candidates, c.policy.sip_inbound);
  EXPECT_EQ(c.policy.sip_register, nullptr);
  EXPECT_EQ(c.policy.public_candidate, nullptr);
  const Trunk* t = c.find_trunk("carrier");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->media_profile, MediaProfile::sdes);
  EXPECT_EQ(t->options_interval, 0s);
  ASSERT_EQ(t->addresses.size(), 2u);
  EXPECT_EQ(t->addresses[0].port, 5060);
  EXPECT_EQ(t->addresses[1].port, 5070);
  ASSERT_TRUE(t->registration.has_value());
  EXPECT_EQ(t->registration->expires, 600s);
  EXPECT_EQ(c.route_for("004930")->prefix, "0049");
  EXPECT_EQ(c.route_for("0033")->prefix, "00");
  EXPECT_EQ(c.route_for("123"), nullptr);
  // Locations point at the defining lines.
  EXPECT_EQ(c.find_user("alice")->where.line, 20u);
  EXPECT_EQ(c.find_user("alice")->where.file, "/tmp/full.xml");
}

TEST(ConfigLoader, ErrorsNameFileLineAndReason) {
  // Line numbers: doc() puts the body on line 5.
  expect_error(doc("<bogus/>\n"), 5, "unknown element <bogus> inside <icegate>");
  expect_error(doc("<users><user name=\"a\" password=\"b\" colour=\"red\"/></users>\n"), 5,
               "unknown attribute \"colour\" on <user>");
  expect_error(doc("<acls><acl name=\"x\">\n<whitelist cidr=\"10.0.0.0/33\"/></acl></acls>\n"), 6,
               "prefix length 33 exceeds 32");
  expect_error(doc("<acls><acl name=\"x\"><blacklist cidr=\"banana\"/></acl></acls>\n"), 5,
               "cidr \"banana\"");
  expect_error(doc("<trunks><trunk name=\"t\"><address host=\"h\" port=\"70000\"/></trunk>"
                   "</trunks>\n"),
               5, "port 70000 is out of range");
  expect_error(doc("<acl-policy sip-inbound=\"nope\"/>\n"), 5,
               "sip-inbound refers to acl \"nope\", which does not exist");
  expect_error(doc("<users><user name=\"a\" password=\"1\"/>\n<user name=\"a\" password=\"2\"/>"
                   "</users>\n"),
               6, "user \"a\" is defined twice (first at /tmp/test.xml:5)");
  expect_error(doc("<acls><acl name=\"x\"/>\n<acl name=\"x\"/></acls>\n"), 6,
               "acl \"x\" is defined twice");
  expect_error(doc("<routes><route prefix=\"1\" trunk=\"missing\"/></routes>\n"), 5,
               "refers to trunk \"missing\"");
  expect_error(doc("<users><user name=\"a\"/></users>\n"), 5,
               "<user> needs the attribute \"password\"");
  expect_error(doc("<media address=\"127.0.0.1\"/>\n"), 5, "<media> appears twice (first at");
  expect_error(doc("<users><user name=\"a\" password=\"b\" group=\"nogroup\"/></users>\n"), 5,
               "group \"nogroup\", which does not exist");
}

TEST(ConfigLoader, RtpRangeInvertedOrTooSmall) {
  const auto with_media = [](const std::string& media) {
    return "<icegate>\n<sip><listener transport=\"udp\" address=\"127.0.0.1\"/></sip>\n" + media +
           "\n</icegate>\n";
  };
  expect_error(with_media("<media address=\"127.0.0.1\" rtp-min=\"31000\" rtp-max=\"30000\"/>"), 3,
               "rtp-min 31000 is above rtp-max 30000");
  expect_error(with_media("<media address=\"127.0.0.1\" rtp-min=\"30000\" rtp-max=\"30001\"/>"), 3,
               "RTP port range 30000-30001 is too small");
  expect_error(with_media("<media address=\"127.0.0.1\" rtp-min=\"0\"/>"), 3,
               "port 0 is out of range");
  expect_error(with_media("<media address=\"127.0.0.1\" media-timeout=\"5 minutes\"/>"), 3,
               "duration \"5 minutes\"");
  expect_error(with_media("<media address=\"localhost\"/>"), 3, "is not an IPv4 address");
  expect_error(with_media("<media address=\"127.0.0.1\" pinhole-puncher=\"maybe\"/>"), 3,
               "\"maybe\" is not a boolean");
}

TEST(ConfigLoader, XmlSyntaxErrorHasLine) {
  // pugixml notices the unterminated tag where the next tag starts.
  expect_error("<icegate>\n<sip>\n<listener transport=\"udp\" address=\"127.0.0.1\"\n</sip>\n",
               4, "XML syntax error");
}

TEST(ConfigLoader, AllErrorsAreReportedNotJustTheFirst) {
  auto errs = errors_of(doc("<bogus/>\n<users><user name=\"a\"/></users>\n<also-bogus/>\n"));
  ASSERT_EQ(errs.size(), 3u);
  EXPECT_EQ(errs[0].where.line, 5u);
  EXPECT_EQ(errs[1].where.line, 6u);
  EXPECT_EQ(errs[2].where.line, 7u);
}

TEST(ConfigLoader, TurnServerCredentialsMustBeOneKind) {
  expect_error(doc("<turn><server name=\"t\" host=\"h\"/></turn>\n"), 5,
               "needs username and password, or shared-secret");
  expect_error(doc("<turn><server name=\"t\" host=\"h\" username=\"u\"/></turn>\n"), 5,
               "needs both username and password");
  expect_error(doc("<turn><server name=\"t\" host=\"h\" username=\"u\" password=\"p\" "
                   "shared-secret=\"s\"/></turn>\n"),
               5, "choose one");
}

TEST(ConfigLoader, WarningsForSuspectSettings) {
  // Loopback media address while STUN is on (behaviour.md §2).
  auto w = warnings_of(doc("<stun enabled=\"true\"><server name=\"s\" host=\"192.0.2.1\"/></stun>\n"
                           "<acls><acl name=\"x\"><whitelist cidr=\"127.0.0.0/8\"/></acl></acls>"
                           "<acl-policy sip-inbound=\"x\"/>\n"));
  ASSERT_EQ(w.size(), 1u);
  EXPECT_THAT(w[0], HasSubstr("/tmp/test.xml:4: warning: media address 127.0.0.1 is a loopback"));

  // Whitelist entry less specific than an overlapping blacklist entry (behaviour.md §6).
  w = warnings_of(doc("<acls><acl name=\"x\">\n<whitelist cidr=\"10.0.0.0/8\"/>\n"
                      "<blacklist cidr=\"10.1.2.0/24\"/></acl></acls>\n<acl-policy sip-inbound=\"x\"/>\n"));
  ASSERT_EQ(w.size(), 1u);
  EXPECT_THAT(w[0], HasSubstr("/tmp/test.xml:6: warning: acl \"x\": whitelist 10.0.0.0/8 is less "
                              "specific than blacklist 10.1.2.0/24 (/tmp/test.xml:7)"));

  // SIP listener port inside the RTP range.
  w = warnings_of("<icegate>\n<sip><listener transport=\"udp\" address=\"127.0.0.1\" "
                  "port=\"30010\"/></sip>\n<media address=\"127.0.0.1\"/>\n"
                  "<acls><acl name=\"x\"/></acls><acl-policy sip-inbound=\"x\"/>\n</icegate>\n");
  ASSERT_EQ(w.size(), 2u);
  EXPECT_THAT(w[0], HasSubstr("acl \"x\" has no entries"));
  EXPECT_THAT(w[1], HasSubstr("/tmp/test.xml:2: warning: SIP listener port 30010 lies inside the "
                              "RTP port range 30000-33000"));

  // No SIP ACL at all, and host bits in a CIDR.
  w = warnings_of(doc("<acls><acl name=\"x\"><blacklist cidr=\"10.1.2.3/8\"/></acl></acls>\n"));
  ASSERT_EQ(w.size(), 2u);
  EXPECT_THAT(w[0], HasSubstr("has host bits set; it means 10.0.0.0/8"));
  EXPECT_THAT(w[1], HasSubstr("no sip-inbound acl"));
}

class IncludeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("icegate-conf-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    auto p = dir_ / name;
    std::ofstream(p) << text;
    return p.string();
  }
  std::filesystem::path dir_;
};

TEST_F(IncludeTest, IncludedSectionsAndWholeDocumentsAreMerged) {
  write("users.xml", "<users>\n<user name=\"u1\" password=\"p\"/>\n</users>\n");
  write("more.xml", "<icegate>\n<users><user name=\"u2\" password=\"p\"/></users>\n</icegate>\n");
  const auto main = write("main.xml", doc("<include file=\"users.xml\"/>\n<include file=\"more.xml\"/>\n"));
  auto r = load_file(main);
  ASSERT_TRUE(r.has_value()) << r.error().front().to_string();
  EXPECT_NE(r->config->find_user("u1"), nullptr);
  EXPECT_EQ(r->config->find_user("u1")->where.line, 2u);
  EXPECT_EQ(r->config->find_user("u1")->where.file, (dir_ / "users.xml").string());
  EXPECT_NE(r->config->find_user("u2"), nullptr);
  EXPECT_EQ(r->config->files.size(), 3u);
}

TEST_F(IncludeTest, ErrorsInIncludedFilesNameThatFile) {
  write("bad.xml", "<users>\n\n<user name=\"u1\" pasword=\"p\"/>\n</users>\n");
  const auto main = write("main.xml", doc("<include file=\"bad.xml\"/>\n"));
  auto r = load_file(main);
  ASSERT_FALSE(r.has_value());
  ASSERT_GE(r.error().size(), 1u);
  EXPECT_EQ(r.error()[0].where.file, (dir_ / "bad.xml").string());
  EXPECT_EQ(r.error()[0].where.line, 3u);
  EXPECT_THAT(r.error()[0].message, HasSubstr("unknown attribute \"pasword\""));
}

TEST_F(IncludeTest, MissingFileAndCycleAreErrors) {
  const auto main = write("main.xml", doc("<include file=\"nowhere.xml\"/>\n"));
  auto r = load_file(main);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error()[0].where.line, 5u);
  EXPECT_THAT(r.error()[0].message,
              HasSubstr("cannot read included file \"" + (dir_ / "nowhere.xml").string() +
                        "\": No such file or directory"));

  write("a.xml", "<icegate>\n<include file=\"b.xml\"/>\n</icegate>\n");
  write("b.xml", "<icegate>\n<include file=\"a.xml\"/>\n</icegate>\n");
  const auto cyc = write("cyc.xml", doc("<include file=\"a.xml\"/>\n"));
  auto c = load_file(cyc);
  ASSERT_FALSE(c.has_value());
  EXPECT_THAT(c.error()[0].message, HasSubstr("is included twice"));
  EXPECT_EQ(c.error()[0].where.file, (dir_ / "b.xml").string());
}

TEST(ConfigLoader, MissingMainFile) {
  auto r = load_file("/nonexistent/icegate.xml");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error()[0].to_string(),
            "/nonexistent/icegate.xml: error: cannot read configuration file: No such file or "
            "directory");
}

// Issue 13: an include (or the file itself) that is not a regular file, or is too large, is
// refused with the reason at once; nothing blocks on a FIFO or reads /dev/zero without end.
TEST_F(IncludeTest, OnlyRegularFilesOfBoundedSizeAreRead) {
  const auto fifo = (dir_ / "users.fifo").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const auto& [target, reason] :
       std::vector<std::pair<std::string, std::string>>{
           {"/dev/zero", "a character device, not a regular file"},
           {fifo, "a FIFO, not a regular file"},
           {dir_.string(), "a directory, not a regular file"}}) {
    const auto main = write("main.xml", doc("<include file=\"" + target + "\"/>\n"));
    auto r = load_file(main);
    ASSERT_FALSE(r.has_value()) << target;
    EXPECT_EQ(r.error()[0].where.line, 5u);
    EXPECT_THAT(r.error()[0].message, HasSubstr(reason)) << target;
  }
  auto direct = load_file(fifo);
  ASSERT_FALSE(direct.has_value());
  EXPECT_THAT(direct.error()[0].message, HasSubstr("a FIFO, not a regular file"));
  const auto big = write("big.xml", std::string(4 * 1024 * 1024 + 1, ' '));
  const auto main = write("main.xml", doc("<include file=\"big.xml\"/>\n"));
  auto r = load_file(main);
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error()[0].message, HasSubstr("larger than 4 MiB (4194305 bytes)"));
}

TEST(ConfigLoader, ShippedExamplesAreValid) {
  for (const char* f : {"/conf/examples/dmz.xml", "/conf/examples/acl.xml"}) {
    auto r = load_file(kSource + f);
    EXPECT_TRUE(r.has_value()) << f << ": " << (r ? "" : r.error().front().to_string());
  }
}

}  // namespace
}  // namespace icegate::conf

namespace icegate::conf {
namespace {

TEST(ConfigLoader, DtlsDefaultsGenerateACertificateAndOfferDtlsToPhones) {
  auto r = load_string(doc(""), "test.xml", "/tmp");
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->config->dtls.certificate_file.empty());
  EXPECT_TRUE(r->config->dtls.offer_to_phones);
  EXPECT_EQ(r->config->dtls.handshake_timeout, 20s);
}

TEST(ConfigLoader, DtlsErrors) {
  expect_error(doc("<dtls certificate=\"/etc/hostname\"/>\n"), 5,
               "needs both certificate and private-key");
  expect_error(doc("<dtls certificate=\"/nonexistent/c.pem\" private-key=\"/etc/hostname\"/>\n"), 5,
               "\"/nonexistent/c.pem\" is not a readable file");
  expect_error(doc("<dtls handshake-timeout=\"200ms\"/>\n"), 5,
               "handshake-timeout must be at least 1s");
  expect_error(doc("<dtls offer-to-phones=\"maybe\"/>\n"), 5, "offer-to-phones");
}

TEST_F(IncludeTest, DtlsFilesAreRelativeToTheConfigurationFile) {
  write("c.pem", "x");
  write("k.pem", "y");
  const auto main =
      write("main.xml", doc("<dtls certificate=\"c.pem\" private-key=\"k.pem\" "
                            "offer-to-phones=\"false\" handshake-timeout=\"5s\"/>\n"));
  auto r = load_file(main);
  ASSERT_TRUE(r.has_value()) << r.error().front().to_string();
  EXPECT_EQ(r->config->dtls.certificate_file, (dir_ / "c.pem").string());
  EXPECT_EQ(r->config->dtls.private_key_file, (dir_ / "k.pem").string());
  EXPECT_FALSE(r->config->dtls.offer_to_phones);
  EXPECT_EQ(r->config->dtls.handshake_timeout, 5s);
}

}  // namespace
}  // namespace icegate::conf

namespace icegate::conf {
namespace {

TEST(ConfigLoader, TlsListenerNeedsItsFilesAndAPortOfItsOwn) {
  expect_error(
      doc("<sip><listener name=\"t\" transport=\"tls\" address=\"127.0.0.1\"/></sip>\n", false) +
          "",
      3, "transport tls needs certificate and private-key");
  expect_error(doc("<sip><listener name=\"u\" transport=\"udp\" address=\"127.0.0.1\" "
                   "certificate=\"/etc/hostname\" private-key=\"/etc/hostname\"/></sip>\n"
                   "<media address=\"127.0.0.1\"/>\n",
                   false),
               3, "certificate and private-key are for transport tls or wss");
  expect_error(
      doc("<sip><listener name=\"u\" transport=\"tcp\" address=\"127.0.0.1\" port=\"5061\"/>\n"
          "<listener name=\"t\" transport=\"tls\" address=\"127.0.0.1\" "
          "certificate=\"/etc/hostname\" private-key=\"/etc/hostname\"/></sip>\n"
          "<media address=\"127.0.0.1\"/>\n",
          false),
      4, "TLS needs a port of its own");
}

TEST(ConfigLoader, TlsListenerDefaultsToPort5061) {
  auto r = load_string(doc("<sip><listener transport=\"tls\" address=\"127.0.0.1\" "
                           "certificate=\"/etc/hostname\" private-key=\"/etc/hostname\"/></sip>\n"
                           "<media address=\"127.0.0.1\"/>\n",
                           false),
                       "test.xml", "/tmp");
  ASSERT_TRUE(r.has_value()) << r.error().front().to_string();
  ASSERT_EQ(r->config->sip.listeners.size(), 1u);
  EXPECT_EQ(r->config->sip.listeners[0].port, 5061);
  EXPECT_EQ(r->config->sip.listeners[0].certificate_file, "/etc/hostname");
}

}  // namespace
}  // namespace icegate::conf

namespace icegate::conf {
namespace {

TEST(LoaderNat, KeepaliveAndTrunkSourcesAreRead) {
  const std::string xml =
      "<?xml version=\"1.0\"?>\n<icegate>\n"
      "<sip><listener transport=\"udp\" address=\"127.0.0.1\" port=\"5060\"/>\n"
      "<registrar keepalive=\"15s\" keepalive-misses=\"5\"/></sip>\n"
      "<media address=\"127.0.0.1\"/>\n"
      "<trunks><trunk name=\"carrier\"><address host=\"192.0.2.10\"/>\n"
      "<source cidr=\"198.51.100.0/24\"/><source cidr=\"2001:db8::/32\"/></trunk></trunks>\n"
      "</icegate>\n";
  auto r = load_string(xml, "nat.xml", "/tmp");
  ASSERT_TRUE(r) << r.error().front().to_string();
  const Config& c = *r->config;
  EXPECT_EQ(c.sip.registrar.keepalive, std::chrono::seconds(15));
  EXPECT_EQ(c.sip.registrar.keepalive_misses, 5U);
  ASSERT_EQ(c.trunks.size(), 1U);
  ASSERT_EQ(c.trunks[0].sources.size(), 2U);
  EXPECT_TRUE(c.trunks[0].sources[0].contains(*acl::Address::parse("198.51.100.77")));
  EXPECT_FALSE(c.trunks[0].sources[0].contains(*acl::Address::parse("192.0.2.10")));
}

TEST(LoaderNat, KeepaliveDefaultsAndBadTrunkSourceNamesTheLine) {
  auto r = load_string(
      "<icegate><sip><listener transport=\"udp\" address=\"127.0.0.1\" port=\"5060\"/></sip>"
      "<media address=\"127.0.0.1\"/></icegate>",
      "d.xml", "/tmp");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->config->sip.registrar.keepalive, std::chrono::seconds(25));
  EXPECT_EQ(r->config->sip.registrar.keepalive_misses, 3U);
  auto bad = load_string(
      "<icegate><sip><listener transport=\"udp\" address=\"127.0.0.1\" port=\"5060\"/></sip>\n"
      "<media address=\"127.0.0.1\"/>\n"
      "<trunks><trunk name=\"t\"><address host=\"192.0.2.1\"/>\n"
      "<source cidr=\"10.0.0.0/99\"/></trunk></trunks></icegate>",
      "bad.xml", "/tmp");
  ASSERT_FALSE(bad);
  ASSERT_EQ(bad.error().size(), 1U);
  EXPECT_EQ(bad.error()[0].where.line, 4U) << bad.error()[0].to_string();
  EXPECT_NE(bad.error()[0].message.find("10.0.0.0/99"), std::string::npos);
}

}  // namespace
}  // namespace icegate::conf

namespace icegate::conf {
namespace {

TEST(ConfigLoader, AdminListener) {
  auto r = load_string(doc("<admin address=\"127.0.0.1\" port=\"8061\"/>\n"), "test.xml", "/tmp");
  ASSERT_TRUE(r) << r.error().front().to_string();
  ASSERT_TRUE(r->config->admin);
  EXPECT_EQ(r->config->admin->port, 8061);
  EXPECT_TRUE(r->config->admin->token.empty());
  EXPECT_FALSE(r->config->admin->tls());
  // Absent: no admin listener.
  auto none = load_string(doc(""), "test.xml", "/tmp");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->config->admin);

  // Off loopback it must authenticate.
  expect_error(doc("<admin address=\"0.0.0.0\"/>\n"), 5,
               "admin address 0.0.0.0 is not loopback: set token (or token-file) or client-ca");
  auto with_token = load_string(doc("<admin address=\"0.0.0.0\" token=\"t0ken\"/>\n"), "test.xml",
                                "/tmp");
  ASSERT_TRUE(with_token);
  EXPECT_EQ(with_token->config->admin->token, "t0ken");
  // Never on a SIP port (TCP/TLS listeners; a UDP listener does not take the TCP port).
  expect_error(doc("<sip><listener transport=\"tcp\" address=\"127.0.0.1\" port=\"5062\"/></sip>"
                   "<admin port=\"5062\"/>\n", false),
               3, "admin port 5062 is SIP listener tcp:127.0.0.1:5062's port");
  expect_error(doc("<admin certificate=\"a.pem\"/>\n"), 5,
               "<admin> needs both certificate and private-key for HTTPS");
  expect_error(doc("<admin token=\"a\" token-file=\"b\"/>\n"), 5, "has both token and token-file");
  expect_error(doc("<admin token-file=\"/nonexistent/token\"/>\n"), 5,
               "token-file \"/nonexistent/token\": No such file or directory");
}

TEST(ConfigLoader, CaptureSettings) {
  auto r = load_string(doc("<admin/><capture directory=\"caps\" max-megabytes=\"5\" "
                           "max-duration=\"30s\" sip=\"false\"/>\n"),
                       "test.xml", "/etc/icegate");
  ASSERT_TRUE(r) << r.error().front().to_string();
  ASSERT_TRUE(r->config->capture);
  EXPECT_EQ(r->config->capture->directory, "/etc/icegate/caps");  // relative to the file
  EXPECT_EQ(r->config->capture->max_megabytes, 5U);
  EXPECT_EQ(r->config->capture->max_duration, std::chrono::seconds(30));
  EXPECT_FALSE(r->config->capture->sip);
  for (const auto& w : r->warnings) EXPECT_THAT(w.message, Not(HasSubstr("<capture>")));
  // Defaults, and the warning when nothing can request a capture.
  auto d = load_string(doc("<capture directory=\"/var/lib/icegate/captures\"/>\n"), "test.xml",
                       "/tmp");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->config->capture->max_megabytes, 50U);
  EXPECT_EQ(d->config->capture->max_duration, std::chrono::minutes(10));
  EXPECT_TRUE(d->config->capture->sip);
  EXPECT_EQ(std::count_if(d->warnings.begin(), d->warnings.end(),
                          [](const Diagnostic& w) {
                            return w.message.find("<capture> without <admin>") != std::string::npos;
                          }),
            1);
  expect_error(doc("<capture/>\n"), 5, "directory");
  expect_error(doc("<capture directory=\"c\" max-megabytes=\"0\"/>\n"), 5,
               "max-megabytes must be at least 1");
}

TEST(ConfigLoader, AdminTokenFileIsReadTrimmed) {
  const auto dir = std::filesystem::temp_directory_path() / "icegate-admin-token-test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "token") << "  s3cret \n";
  std::ofstream(dir / "empty") << "\n";
  auto r = load_string(doc("<admin address=\"::\" token-file=\"token\"/>\n"), "test.xml",
                       dir.string());
  ASSERT_TRUE(r) << r.error().front().to_string();
  EXPECT_EQ(r->config->admin->token, "s3cret");
  auto e = load_string(doc("<admin token-file=\"empty\"/>\n"), "test.xml", dir.string());
  ASSERT_FALSE(e);
  EXPECT_THAT(e.error().front().message, HasSubstr("the file is empty"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace icegate::conf

namespace icegate::conf {
namespace {

TEST(ConfigLoader, WebSocketListeners) {
  auto r = load_string(
      doc("<sip><listener name=\"w\" transport=\"ws\" address=\"127.0.0.1\"/>\n"
          "<listener name=\"s\" transport=\"wss\" address=\"127.0.0.1\" certificate=\"/etc/hostname\" "
          "private-key=\"/etc/hostname\" origins=\"https://a.example  http://127.0.0.1:8000\"/>\n"
          "<listener name=\"u\" transport=\"udp\" address=\"127.0.0.1\"/></sip>\n"
          "<media address=\"127.0.0.1\"/>\n",
          false),
      "test.xml", "/tmp");
  ASSERT_TRUE(r.has_value()) << r.error().front().to_string();
  const auto& ls = r->config->sip.listeners;
  ASSERT_EQ(ls.size(), 3u);
  EXPECT_EQ(ls[0].transport, Transport::ws);
  EXPECT_EQ(ls[0].port, 80);  // RFC 7118's WebSocket defaults
  EXPECT_TRUE(ls[0].origins.empty());
  EXPECT_EQ(ls[1].transport, Transport::wss);
  EXPECT_EQ(ls[1].port, 443);
  EXPECT_EQ(ls[1].origins, (std::vector<std::string>{"https://a.example", "http://127.0.0.1:8000"}));
  EXPECT_EQ(to_string(Transport::wss), "wss");
}

TEST(ConfigLoader, WebSocketListenerErrors) {
  expect_error(doc("<sip><listener name=\"s\" transport=\"wss\" address=\"127.0.0.1\"/></sip>\n"
                   "<media address=\"127.0.0.1\"/>\n",
                   false),
               3, "transport wss needs certificate and private-key");
  expect_error(doc("<sip><listener name=\"u\" transport=\"udp\" address=\"127.0.0.1\" "
                   "origins=\"https://a.example\"/></sip>\n<media address=\"127.0.0.1\"/>\n",
                   false),
               3, "origins is for transport ws or wss");
  expect_error(
      doc("<sip><listener name=\"t\" transport=\"tcp\" address=\"127.0.0.1\" port=\"8080\"/>\n"
          "<listener name=\"w\" transport=\"ws\" address=\"127.0.0.1\" port=\"8080\"/></sip>\n"
          "<media address=\"127.0.0.1\"/>\n",
          false),
      4, "a WebSocket listener needs a port of its own");
  expect_error(doc("<sip><listener transport=\"websocket\" address=\"127.0.0.1\"/></sip>\n"
                   "<media address=\"127.0.0.1\"/>\n",
                   false),
               3, "is not one of udp, tcp, tls, ws, wss");
  // Trunks do not speak WebSocket.
  expect_error(doc("<trunks><trunk name=\"p\" transport=\"ws\"><address host=\"127.0.0.1\"/>"
                   "</trunk></trunks>\n"),
               5, "is not one of udp, tcp, tls");
}

}  // namespace
}  // namespace icegate::conf
