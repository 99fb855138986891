// The admin listener over a fake Control: the Prometheus text format, authentication (token,
// loopback-only), malformed and unknown requests, and that refused requests change nothing.
#include <httplib.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "conf/config.hpp"
#include "gateway/admin/prometheus.hpp"
#include "gateway/admin/server.hpp"
#include "media/dtls/certificate.hpp"

namespace icegate::admin {
namespace {

class FakeControl : public Control {
 public:
  std::string metrics() override { return "icegate_up 1\n"; }
  nlohmann::json health() override { return {{"status", "ok"}}; }
  nlohmann::json calls() override { return {{"calls", nlohmann::json::array({{{"id", "c1"}}})}}; }
  std::optional<nlohmann::json> call(const std::string& id) override {
    if (id == "c1") return nlohmann::json{{"id", "c1"}};
    return std::nullopt;
  }
  std::optional<nlohmann::json> diagnose(const std::string& id) override { return call(id); }
  bool hang_up(const std::string& id) override {
    hangups.push_back(id);
    return id == "c1";
  }
  nlohmann::json registrations() override { return {{"registrations", nlohmann::json::array()}}; }
  nlohmann::json trunks() override { return {{"trunks", nlohmann::json::array()}}; }
  Outcome reload() override {
    ++reloads;
    return {200, {{"reloaded", true}}};
  }
  Outcome drain() override {
    ++drains;
    return {202, {{"draining", true}}};
  }
  Outcome run_check(const std::string& tool, const std::string& server,
                    const std::string& expect) override {
    checks.push_back(tool + "/" + server + "/" + expect);
    return {200, {{"ok", true}}};
  }
  Outcome capture_call(const std::string& id) override {
    if (id != "c1") return {404, {{"error", "no call " + id}}};
    return {201, {{"name", "a.pcap"}}};
  }
  Outcome capture_next(const std::string& user) override {
    armed.push_back(user);
    return {202, {{"armed_for", user}}};
  }
  nlohmann::json captures() override { return {{"captures", nlohmann::json::array()}}; }
  std::optional<std::string> capture_file(const std::string& name) override {
    if (name == "a.pcap") return capture_path;
    return std::nullopt;
  }
  std::string capture_path;
  std::vector<std::string> armed;
  std::vector<std::string> checks;
  std::vector<std::string> hangups;
  int reloads = 0;
  int drains = 0;
};

conf::Admin admin_config(const std::string& token = {}) {
  conf::Admin a;
  a.address = *acl::Address::parse("127.0.0.1");
  a.port = 0;
  a.token = token;
  return a;
}

TEST(MetricsText, FamiliesGroupTheirSamplesAndEscapeLabels) {
  MetricsText m;
  m.family("icegate_a_total", "counter", "first \\ family\nline two");
  m.family("icegate_b", "gauge", "second");
  m.sample("icegate_b", {{"x", "1"}}, 2);
  m.sample("icegate_a_total", {{"acl", "we\"ird\\name\n"}}, 3);
  m.sample("icegate_b", {{"x", "2"}}, 0.25);
  EXPECT_EQ(m.text(),
            "# HELP icegate_a_total first \\\\ family\\nline two\n"
            "# TYPE icegate_a_total counter\n"
            "icegate_a_total{acl=\"we\\\"ird\\\\name\\n\"} 3\n"
            "# HELP icegate_b second\n"
            "# TYPE icegate_b gauge\n"
            "icegate_b{x=\"1\"} 2\n"
            "icegate_b{x=\"2\"} 0.25\n");
  EXPECT_THROW(m.sample("icegate_undeclared", 1), std::logic_error);
}

TEST(MetricsText, HistogramBucketsAreCumulative) {
  Histogram h({0.1, 1});
  h.observe(0.05);
  h.observe(0.1);  // le is inclusive
  h.observe(0.5);
  h.observe(7);
  MetricsText m;
  m.family("icegate_t_seconds", "histogram", "t");
  m.histogram("icegate_t_seconds", {}, h);
  EXPECT_EQ(m.text(),
            "# HELP icegate_t_seconds t\n# TYPE icegate_t_seconds histogram\n"
            "icegate_t_seconds_bucket{le=\"0.1\"} 2\n"
            "icegate_t_seconds_bucket{le=\"1\"} 3\n"
            "icegate_t_seconds_bucket{le=\"+Inf\"} 4\n"
            "icegate_t_seconds_sum 7.65\n"
            "icegate_t_seconds_count 4\n");
}

TEST(AdminServer, LoopbackWithoutTokenServesTheApi) {
  FakeControl control;
  Server server(admin_config(), control, "");
  ASSERT_EQ(server.start(), std::nullopt);
  httplib::Client c("127.0.0.1", server.port());
  auto health = c.Get("/api/v1/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(nlohmann::json::parse(health->body)["status"], "ok");
  auto metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(metrics->body, "icegate_up 1\n");
  auto hang = c.Post("/api/v1/calls/c1/hangup");
  ASSERT_TRUE(hang);
  EXPECT_EQ(hang->status, 200);
  auto missing = c.Post("/api/v1/calls/c9/hangup");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(control.hangups, (std::vector<std::string>{"c1", "c9"}));
}

TEST(AdminServer, TokenIsRequiredAndRefusalsChangeNothing) {
  FakeControl control;
  Server server(admin_config("s3cret-token"), control, "");
  ASSERT_EQ(server.start(), std::nullopt);
  httplib::Client c("127.0.0.1", server.port());
  for (const char* path : {"/api/v1/reload", "/api/v1/drain", "/api/v1/calls/c1/hangup"}) {
    auto none = c.Post(path);
    ASSERT_TRUE(none);
    EXPECT_EQ(none->status, 401) << path;
    EXPECT_EQ(none->get_header_value("WWW-Authenticate"), "Bearer realm=\"icegate\"");
  }
  // The page's static files are not data: a browser loads them before it knows the token (no
  // page directory here: 404, not 401).
  auto page = c.Get("/index.html");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 404);
  c.set_bearer_token_auth("s3cret-tokeX");
  auto wrong = c.Get("/metrics");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  auto wrong_post = c.Post("/api/v1/drain");
  ASSERT_TRUE(wrong_post);
  EXPECT_EQ(wrong_post->status, 401);
  EXPECT_EQ(control.reloads, 0);
  EXPECT_EQ(control.drains, 0);
  EXPECT_TRUE(control.hangups.empty());

  c.set_bearer_token_auth("s3cret-token");
  auto ok = c.Post("/api/v1/reload");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(control.reloads, 1);
  auto drain = c.Post("/api/v1/drain");
  ASSERT_TRUE(drain);
  EXPECT_EQ(drain->status, 202);
  EXPECT_EQ(control.drains, 1);
}

TEST(AdminServer, MalformedAndUnknownRequestsAreRefused) {
  FakeControl control;
  Server server(admin_config(), control, "");
  ASSERT_EQ(server.start(), std::nullopt);
  httplib::Client c("127.0.0.1", server.port());
  auto bad_id = c.Post("/api/v1/calls/c1%3Bx/hangup");
  ASSERT_TRUE(bad_id);
  EXPECT_EQ(bad_id->status, 400);
  EXPECT_NE(bad_id->body.find("malformed call id"), std::string::npos);
  auto long_id = c.Get("/api/v1/calls/" + std::string(100, 'a'));
  ASSERT_TRUE(long_id);
  EXPECT_EQ(long_id->status, 400);
  auto unknown = c.Get("/api/v1/nothing");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  EXPECT_EQ(nlohmann::json::parse(unknown->body)["error"], "no such resource: /api/v1/nothing");
  auto bad_server = c.Post("/api/v1/checks/stun-check?server=a%20b");
  ASSERT_TRUE(bad_server);
  EXPECT_EQ(bad_server->status, 400);
  auto bad_expect = c.Post("/api/v1/checks/stun-check?expect=banana");
  ASSERT_TRUE(bad_expect);
  EXPECT_EQ(bad_expect->status, 400);
  auto turn_without_server = c.Post("/api/v1/checks/turn-check");
  ASSERT_TRUE(turn_without_server);
  EXPECT_EQ(turn_without_server->status, 400);
  auto no_such_tool = c.Post("/api/v1/checks/rm-rf");
  ASSERT_TRUE(no_such_tool);
  EXPECT_EQ(no_such_tool->status, 404);
  EXPECT_TRUE(control.checks.empty());
  auto good = c.Post("/api/v1/checks/stun-check?server=stun1&expect=203.0.113.7");
  ASSERT_TRUE(good);
  EXPECT_EQ(good->status, 200);
  EXPECT_EQ(control.checks, (std::vector<std::string>{"stun-check/stun1/203.0.113.7"}));
  auto wrong_method = c.Get("/api/v1/drain");  // GET on a POST-only route: nothing happens
  ASSERT_TRUE(wrong_method);
  EXPECT_GE(wrong_method->status, 400);
  EXPECT_EQ(control.drains, 0);
  EXPECT_TRUE(control.hangups.empty());
}

TEST(AdminServer, PortInUseIsReportedWithTheReason) {
  FakeControl control;
  Server first(admin_config(), control, "");
  ASSERT_EQ(first.start(), std::nullopt);
  conf::Admin same = admin_config();
  same.port = first.port();
  Server second(same, control, "");
  auto err = second.start();
  ASSERT_TRUE(err.has_value());
  EXPECT_NE(err->find("Address already in use"), std::string::npos) << *err;
}

// A fresh self-signed certificate and its key as PEM files in `dir`, named `name`.pem/-key.pem.
void write_certificate(const std::filesystem::path& dir, const std::string& name) {
  auto c = media::dtls::Certificate::generate();
  ASSERT_TRUE(c);
  std::ofstream(dir / (name + ".pem")) << (*c)->to_pem();
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, (*c)->private_key(), nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::ofstream(dir / (name + "-key.pem")) << std::string(data, static_cast<std::size_t>(len));
  BIO_free(bio);
}

TEST(AdminServer, MutualTlsAuthenticatesClientsWithoutAToken) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("icegate-admin-tls-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  write_certificate(dir, "server");
  write_certificate(dir, "operator");  // self-signed: its own CA for the test
  write_certificate(dir, "stranger");
  FakeControl control;
  conf::Admin cfg = admin_config();
  cfg.certificate_file = (dir / "server.pem").string();
  cfg.private_key_file = (dir / "server-key.pem").string();
  cfg.client_ca_file = (dir / "operator.pem").string();
  Server server(cfg, control, "");
  ASSERT_EQ(server.start(), std::nullopt);
  const std::string url = "https://127.0.0.1:" + std::to_string(server.port());

  httplib::Client good(url, (dir / "operator.pem").string(), (dir / "operator-key.pem").string());
  good.enable_server_certificate_verification(false);
  auto ok = good.Post("/api/v1/drain");
  ASSERT_TRUE(ok) << httplib::to_string(ok.error());
  EXPECT_EQ(ok->status, 202);
  EXPECT_EQ(control.drains, 1);

  // No client certificate, or one the CA did not sign: the handshake fails, nothing runs.
  httplib::Client none(url);
  none.enable_server_certificate_verification(false);
  EXPECT_FALSE(none.Post("/api/v1/drain"));
  httplib::Client other(url, (dir / "stranger.pem").string(), (dir / "stranger-key.pem").string());
  other.enable_server_certificate_verification(false);
  EXPECT_FALSE(other.Post("/api/v1/drain"));
  EXPECT_EQ(control.drains, 1);
  server.stop();
  std::filesystem::remove_all(dir);
}

TEST(AdminServer, UnreadableCertificateIsAStartError) {
  FakeControl control;
  conf::Admin cfg = admin_config();
  cfg.certificate_file = "/nonexistent/admin.pem";
  cfg.private_key_file = "/nonexistent/admin-key.pem";
  Server server(cfg, control, "");
  auto err = server.start();
  ASSERT_TRUE(err.has_value());
  EXPECT_NE(err->find("cannot load certificate /nonexistent/admin.pem"), std::string::npos) << *err;
}

TEST(AdminServer, CapturesAreStartedListedAndDownloaded) {
  FakeControl control;
  const auto file = std::filesystem::temp_directory_path() / "icegate-admin-capture-test.pcap";
  std::string content(200 * 1024, '\0');  // more than one chunk
  for (std::size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i * 7);
  std::ofstream(file, std::ios::binary) << content;
  control.capture_path = file.string();
  Server server(admin_config(), control, "");
  ASSERT_EQ(server.start(), std::nullopt);
  httplib::Client c("127.0.0.1", server.port());
  auto started = c.Post("/api/v1/calls/c1/capture");
  ASSERT_TRUE(started);
  EXPECT_EQ(started->status, 201);
  auto unknown = c.Post("/api/v1/calls/c9/capture");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  auto armed = c.Post("/api/v1/captures?user=%2B4930123", "", "text/plain");
  ASSERT_TRUE(armed);
  EXPECT_EQ(armed->status, 202);
  auto no_user = c.Post("/api/v1/captures", "", "text/plain");
  ASSERT_TRUE(no_user);
  EXPECT_EQ(no_user->status, 400);
  auto bad_user = c.Post("/api/v1/captures?user=a%3Bb", "", "text/plain");
  ASSERT_TRUE(bad_user);
  EXPECT_EQ(bad_user->status, 400);
  EXPECT_EQ(control.armed, (std::vector<std::string>{"+4930123"}));
  auto got = c.Get("/api/v1/captures/a.pcap");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, 200);
  EXPECT_EQ(got->get_header_value("Content-Type"), "application/vnd.tcpdump.pcap");
  EXPECT_EQ(got->body, content);
  auto bad_name = c.Get("/api/v1/captures/x%3Bid.pcap");
  ASSERT_TRUE(bad_name);
  EXPECT_EQ(bad_name->status, 400);
  auto traversal = c.Get("/api/v1/captures/..%2Fetc%2Fpasswd.pcap");
  ASSERT_TRUE(traversal);
  EXPECT_NE(traversal->status, 200);
  auto missing = c.Get("/api/v1/captures/b.pcap");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  std::filesystem::remove(file);
}

TEST(AdminServer, CaptureNamesAndUsersAreValidated) {
  EXPECT_TRUE(valid_capture_name("20261203T170000Z-c17-abc.def_1.pcap"));
  EXPECT_FALSE(valid_capture_name(".pcap"));
  EXPECT_FALSE(valid_capture_name("../x.pcap"));
  EXPECT_FALSE(valid_capture_name("x.pcapng"));
  EXPECT_FALSE(valid_capture_name("a/b.pcap"));
  EXPECT_TRUE(valid_user("+4930123"));
  EXPECT_TRUE(valid_user("1001"));
  EXPECT_FALSE(valid_user("+"));
  EXPECT_FALSE(valid_user("a b"));
}

TEST(AdminServer, CallIdsAreValidated) {
  EXPECT_TRUE(valid_call_id("c17"));
  EXPECT_TRUE(valid_call_id("a-b_c.1"));
  EXPECT_FALSE(valid_call_id(""));
  EXPECT_FALSE(valid_call_id("c1;drop"));
  EXPECT_FALSE(valid_call_id("c 1"));
  EXPECT_FALSE(valid_call_id(std::string(65, 'c')));
}

}  // namespace
}  // namespace icegate::admin
