#include "gateway/admin/server.hpp"

#include <httplib.h>
#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>

#include "acl/unique_fd.hpp"

namespace icegate::admin {
namespace {

std::shared_ptr<spdlog::logger> log() {
  auto l = spdlog::get("admin");
  return l ? l : spdlog::default_logger();
}

void send_json(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(2) + "\n", "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& message) {
  send_json(res, status, {{"error", message}});
}

// Why binding `address`:`port` fails, from the kernel (httplib only says that it failed).
std::string bind_error(const acl::Address& address, std::uint16_t port) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (address.is_v4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    if (inet_pton(AF_INET, address.to_string().c_str(), &sin->sin_addr) != 1) return "bad address";
    len = sizeof *sin;
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    if (inet_pton(AF_INET6, address.to_string().c_str(), &sin6->sin6_addr) != 1) {
      return "bad address";
    }
    len = sizeof *sin6;
  }
  UniqueFd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return std::strerror(errno);
  const int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&ss), len) != 0) {
    return std::strerror(errno);
  }
  return "bind failed";
}

}  // namespace

bool valid_call_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

// A user or number in a query ("1001", "+4930123"): what valid_call_id allows and '+'.
bool valid_user(const std::string& u) {
  if (u.empty() || u.size() > 64) return false;
  return valid_call_id(u[0] == '+' ? u.substr(1) : u);
}

// A capture file name as capture::Manager writes them: safe characters, ending in .pcap.
bool valid_capture_name(const std::string& n) {
  if (n.size() <= 5 || n.size() > 128 || n.compare(n.size() - 5, 5, ".pcap") != 0) return false;
  if (n[0] == '.') return false;
  for (char c : n) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

Server::Server(conf::Admin cfg, Control& control, std::string static_dir, std::string webphone_dir)
    : cfg_(std::move(cfg)),
      control_(control),
      static_dir_(std::move(static_dir)),
      webphone_dir_(std::move(webphone_dir)) {}

Server::~Server() { stop(); }

bool Server::authorised(const std::string& remote_addr, const std::string& authorization) const {
  if (!cfg_.token.empty()) {
    static constexpr std::string_view kBearer = "Bearer ";
    if (authorization.size() != kBearer.size() + cfg_.token.size() ||
        authorization.compare(0, kBearer.size(), kBearer) != 0) {
      return false;
    }
    // Compared in constant time: the token is a password.
    return CRYPTO_memcmp(authorization.data() + kBearer.size(), cfg_.token.data(),
                         cfg_.token.size()) == 0;
  }
  // Mutual TLS: the handshake already refused clients without a certificate the CA signed.
  if (!cfg_.client_ca_file.empty()) return true;
  auto a = acl::Address::parse(remote_addr);
  return a && a->is_loopback();
}

void Server::routes() {
  auto& s = *http_;
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    // The admin page's static files hold no data: a browser must load them to ask for the
    // token. Everything under /api/ and /metrics needs it.
    const bool data = req.path.rfind("/api/", 0) == 0 || req.path == "/metrics";
    if ((!data && req.method == "GET" && !cfg_.token.empty()) ||
        authorised(req.remote_addr, req.get_header_value("Authorization"))) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    log()->warn("admin: {} {} from {} refused: not authenticated", req.method, req.path,
                req.remote_addr);
    res.set_header("WWW-Authenticate", "Bearer realm=\"icegate\"");
    send_error(res, 401, cfg_.token.empty() ? "only loopback clients are served"
                                            : "missing or wrong bearer token");
    return httplib::Server::HandlerResponse::Handled;
  });
  // Whatever a handler throws (the daemon did not answer in time) is a 503, never a crash.
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    send_error(res, 503, what);
  });
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (res.body.empty()) {
      // httplib refuses a POST without Content-Length (curl -X POST without -d) with 400.
      send_error(res, res.status,
                 res.status == 404   ? "no such resource: " + req.path
                 : res.status == 400 ? "malformed HTTP request (a POST needs Content-Length: "
                                       "with curl, add -d '')"
                                     : "request refused");
    }
  });

  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(control_.metrics(), "text/plain; version=0.0.4; charset=utf-8");
  });
  s.Get("/api/v1/health", [this](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, control_.health());
  });
  s.Get("/api/v1/calls", [this](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, control_.calls());
  });
  const auto with_id = [](const httplib::Request& req, httplib::Response& res) -> std::string {
    const std::string id = req.matches[1];
    if (!valid_call_id(id)) {
      send_error(res, 400, "malformed call id \"" + id.substr(0, 64) + "\"");
      return {};
    }
    return id;
  };
  s.Get(R"(/api/v1/calls/([^/]+))", [this, with_id](const httplib::Request& req,
                                                    httplib::Response& res) {
    const std::string id = with_id(req, res);
    if (id.empty()) return;
    if (auto c = control_.call(id)) return send_json(res, 200, *c);
    send_error(res, 404, "no call " + id);
  });
  s.Get(R"(/api/v1/calls/([^/]+)/diagnosis)", [this, with_id](const httplib::Request& req,
                                                              httplib::Response& res) {
    const std::string id = with_id(req, res);
    if (id.empty()) return;
    if (auto d = control_.diagnose(id)) return send_json(res, 200, *d);
    send_error(res, 404, "no call " + id);
  });
  s.Post(R"(/api/v1/calls/([^/]+)/hangup)", [this, with_id](const httplib::Request& req,
                                                            httplib::Response& res) {
    const std::string id = with_id(req, res);
    if (id.empty()) return;
    log()->info("admin: hang-up of call {} requested by {}", id, req.remote_addr);
    if (control_.hang_up(id)) return send_json(res, 200, {{"call", id}, {"hung_up", true}});
    send_error(res, 404, "no call " + id + " in progress");
  });
  s.Post(R"(/api/v1/calls/([^/]+)/capture)", [this, with_id](const httplib::Request& req,
                                                             httplib::Response& res) {
    const std::string id = with_id(req, res);
    if (id.empty()) return;
    log()->info("admin: capture of call {} requested by {}", id, req.remote_addr);
    auto o = control_.capture_call(id);
    send_json(res, o.status, o.body);
  });
  s.Post("/api/v1/captures", [this](const httplib::Request& req, httplib::Response& res) {
    const std::string user = req.get_param_value("user");
    if (!valid_user(user)) {
      return send_error(res, 400, "captures: give ?user=USER (a user name or number)");
    }
    log()->info("admin: capture of the next call of {} requested by {}", user, req.remote_addr);
    auto o = control_.capture_next(user);
    send_json(res, o.status, o.body);
  });
  s.Get("/api/v1/captures", [this](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, control_.captures());
  });
  s.Get(R"(/api/v1/captures/([^/]+))", [this](const httplib::Request& req,
                                               httplib::Response& res) {
    const std::string name = req.matches[1];
    if (!valid_capture_name(name)) return send_error(res, 400, "malformed capture name");
    const auto path = control_.capture_file(name);
    if (!path) return send_error(res, 404, "no capture " + name);
    auto in = std::make_shared<std::ifstream>(*path, std::ios::binary);
    if (!*in) return send_error(res, 404, "capture " + name + " cannot be read");
    res.set_header("Content-Disposition", "attachment; filename=\"" + name + "\"");
    res.set_chunked_content_provider(
        "application/vnd.tcpdump.pcap", [in](std::size_t, httplib::DataSink& sink) {
          char buf[64 * 1024];
          in->read(buf, sizeof buf);
          if (in->gcount() > 0 && !sink.write(buf, static_cast<std::size_t>(in->gcount()))) {
            return false;
          }
          if (!*in) sink.done();
          return true;
        });
  });
  s.Get("/api/v1/registrations", [this](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, control_.registrations());
  });
  s.Get("/api/v1/trunks", [this](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, control_.trunks());
  });
  s.Post("/api/v1/reload", [this](const httplib::Request& req, httplib::Response& res) {
    log()->info("admin: reload requested by {}", req.remote_addr);
    auto o = control_.reload();
    send_json(res, o.status, o.body);
  });
  s.Post("/api/v1/drain", [this](const httplib::Request& req, httplib::Response& res) {
    log()->info("admin: drain requested by {}", req.remote_addr);
    auto o = control_.drain();
    send_json(res, o.status, o.body);
  });
  // The checks of behaviour.md §8, run by the daemon with its own configuration. They take
  // seconds (a STUN server that does not answer: up to ~40 s): one listener thread waits.
  s.Post(R"(/api/v1/checks/(nat-detect|stun-check|turn-check))",
         [this](const httplib::Request& req, httplib::Response& res) {
           const std::string tool = req.matches[1];
           const std::string server = req.get_param_value("server");
           const std::string expect = req.get_param_value("expect");
           if (!server.empty() && !valid_call_id(server)) {
             return send_error(res, 400, "malformed server name");
           }
           if (!expect.empty() && !acl::Address::parse(expect)) {
             return send_error(res, 400, "expect: not an IP address");
           }
           if (tool == "turn-check" && server.empty()) {
             return send_error(res, 400, "turn-check needs ?server=NAME (a <turn> server)");
           }
           log()->info("admin: {} {} requested by {}", tool, server, req.remote_addr);
           auto o = control_.run_check(tool, server, expect);
           send_json(res, o.status, o.body);
         });
  webphone_routes();
  if (!static_dir_.empty() && !s.set_mount_point("/", static_dir_)) {
    log()->warn("admin page: cannot serve {}", static_dir_);
  }
}

// The webphone (tools/webphone/): only its own files, named one by one, so that nothing else of
// its directory (package.json, node_modules/ in a source tree) is served. Each is read when asked
// for: tools/webphone/setup may bundle JsSIP after icegate started.
void Server::webphone_routes() {
  if (webphone_dir_.empty()) return;
  auto& s = *http_;
  s.Get("/webphone",
        [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/webphone/"); });
  struct File {
    const char* path;  // under /webphone/
    const char* file;  // under webphone_dir_
    const char* type;
  };
  static constexpr File kFiles[] = {
      {"/webphone/", "index.html", "text/html; charset=utf-8"},
      {"/webphone/index.html", "index.html", "text/html; charset=utf-8"},
      {"/webphone/webphone.js", "webphone.js", "text/javascript; charset=utf-8"},
      {"/webphone/style.css", "style.css", "text/css; charset=utf-8"},
      {"/webphone/vendor/jssip.min.js", "vendor/jssip.min.js", "text/javascript; charset=utf-8"},
      {"/webphone/vendor/LICENSE.jssip.md", "vendor/LICENSE.jssip.md", "text/plain; charset=utf-8"},
  };
  for (const File& f : kFiles) {
    const std::string path = webphone_dir_ + "/" + f.file;
    const std::string type = f.type;
    s.Get(f.path, [path, type](const httplib::Request&, httplib::Response& res) {
      std::ifstream in(path, std::ios::binary);
      if (!in) {
        return send_error(res, 404,
                          path.find("/vendor/") != std::string::npos
                              ? "JsSIP is not installed: run tools/webphone/setup"
                              : "webphone file missing: " + path);
      }
      std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      res.set_header("Cache-Control", "no-cache");
      res.set_content(std::move(body), type);
    });
  }
}

std::optional<std::string> Server::start() {
  if (cfg_.tls()) {
    http_ = std::make_unique<httplib::SSLServer>(
        cfg_.certificate_file.c_str(), cfg_.private_key_file.c_str(),
        cfg_.client_ca_file.empty() ? nullptr : cfg_.client_ca_file.c_str());
  } else {
    http_ = std::make_unique<httplib::Server>();
  }
  const std::string where = cfg_.address.to_string() + ":" + std::to_string(cfg_.port);
  if (!http_->is_valid()) {
    return std::string("admin listener " + where + ": cannot load certificate " +
                      cfg_.certificate_file + " / key " + cfg_.private_key_file +
                      (cfg_.client_ca_file.empty() ? "" : " / client CA " + cfg_.client_ca_file));
  }
  // Browsers open several connections and keep them alive; checks may take a minute.
  http_->new_task_queue = [] { return new httplib::ThreadPool(8); };
  http_->set_keep_alive_timeout(2);
  // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, which lets a second icegate bind the
  // same admin port and take half of the requests.
  http_->set_socket_options([](int sock) {
    const int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  http_->set_read_timeout(5, 0);
  http_->set_write_timeout(5, 0);
  http_->set_keep_alive_max_count(20);
  http_->set_payload_max_length(64 * 1024);  // no route takes a body: this is only a bound
  routes();
  if (cfg_.port == 0) {  // tests: any free port
    const int p = http_->bind_to_any_port(cfg_.address.to_string());
    if (p <= 0) return std::string("admin listener " + where + ": " + bind_error(cfg_.address, 0));
    port_ = static_cast<std::uint16_t>(p);
  } else if (!http_->bind_to_port(cfg_.address.to_string(), cfg_.port)) {
    return std::string("admin listener " + where + ": " + bind_error(cfg_.address, cfg_.port));
  } else {
    port_ = cfg_.port;
  }
  thread_ = std::thread([this] { http_->listen_after_bind(); });
  // httplib's stop() does nothing until the listen loop runs (it checks is_running()): a stop()
  // right after start() would leave the loop running and the join hanging. Wait for it.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!http_->is_running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // the loop starts at once
  }
  if (!http_->is_running()) {
    http_->stop();
    return std::string("admin listener " + where + ": the listening thread did not start");
  }
  log()->info("admin listener on {}://{}:{} ({})", cfg_.tls() ? "https" : "http",
              cfg_.address.to_string(), port_,
              !cfg_.token.empty()          ? "bearer token"
              : !cfg_.client_ca_file.empty() ? "mutual TLS"
                                             : "loopback clients only");
  return std::nullopt;
}

void Server::stop() {
  if (http_) http_->stop();
  if (thread_.joinable()) thread_.join();
  http_.reset();
}

}  // namespace icegate::admin
