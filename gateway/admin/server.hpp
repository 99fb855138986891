// The admin listener: /metrics, the control API under /api/v1 and the admin page, served by
// cpp-httplib on eight threads of its own, and the webphone page under /webphone/
// (tools/webphone/). Authentication: a bearer token or mutual TLS when
// configured; without either only loopback clients are served (the configuration refuses a
// non-loopback address then). docs/operations.md lists the routes.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include <optional>
#include "conf/config.hpp"
#include "gateway/admin/control.hpp"

namespace httplib {
class Server;
}

namespace icegate::admin {

class Server {
 public:
  // static_dir: the admin page's files, served at /; webphone_dir: the webphone's (index.html,
  // webphone.js, style.css, vendor/jssip.min.js), served at /webphone/. Empty: not served.
  Server(conf::Admin cfg, Control& control, std::string static_dir, std::string webphone_dir = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts serving; nullopt, or why it cannot (with errno's text).
  std::optional<std::string> start();
  void stop();
  std::uint16_t port() const { return port_; }

 private:
  void routes();
  void webphone_routes();
  bool authorised(const std::string& remote_addr, const std::string& authorization) const;

  conf::Admin cfg_;
  Control& control_;
  std::string static_dir_;  // the admin page's files; empty: no page
  std::string webphone_dir_;  // the webphone's files; empty: no /webphone/
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  std::uint16_t port_ = 0;
};

// A call id as the API accepts it (icegate's own ids, "c17"): letters, digits, '.', '-', '_'.
bool valid_call_id(const std::string& id);
// A user or number in a query ("1001", "+4930123").
bool valid_user(const std::string& user);
// A capture file name as capture::Manager writes them (no path, ends in .pcap).
bool valid_capture_name(const std::string& name);

}  // namespace icegate::admin
