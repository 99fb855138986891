#include "sip/ws/server.hpp"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <array>
#include <deque>
#include <map>
#include <optional>
#include <thread>

#include "sip/log.hpp"
#include "sip/ws/sip_frames.hpp"

namespace icegate::sip::ws {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

constexpr std::size_t kMaxQueued = 512;  // messages for a browser that does not read: closed

acl::Address to_address(const asio::ip::address& a) {
  if (a.is_v4()) return acl::Address::v4(a.to_v4().to_bytes());
  return acl::Address::v6(a.to_v6().to_bytes()).unmapped();
}

std::string host_port(const acl::Address& a, std::uint16_t port) {
  return (a.is_v4() ? a.to_string() : "[" + a.to_string() + "]") + ":" + std::to_string(port);
}

// Does the comma-separated Sec-WebSocket-Protocol list offer "sip" (RFC 7118 §4.1)?
bool offers_sip(beast::string_view list) {
  while (!list.empty()) {
    const auto comma = list.find(',');
    auto item = list.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (beast::iequals(item, "sip")) return true;
    if (comma == beast::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

struct Acceptor {
  const conf::Listener* listener;
  std::uint16_t stack_port;
  tcp::acceptor socket;
  std::optional<ssl::context> tls;
  Acceptor(asio::io_context& ioc, const ListenerSpec& s)
      : listener(s.listener), stack_port(s.stack_port), socket(ioc) {}
};

}  // namespace

struct Server::Impl {
  Server& server;
  // Connections per source address and in all (the WebSocket thread only).
  std::map<std::string, std::size_t> by_source;
  std::size_t total = 0;
  // Refusals are logged at most once a second; the rest are counted into the next line.
  std::chrono::steady_clock::time_point last_refusal_log{};
  std::uint64_t refusals_unlogged = 0;
  asio::io_context ioc{1};
  std::vector<std::unique_ptr<Acceptor>> acceptors;
  std::thread thread;

  explicit Impl(Server& s) : server(s) {}
  const Limits& limits() const { return server.limits_; }
  Stats& stats() { return server.stats_; }
  Peers& peers() { return server.peers_; }
  void closed(std::uint16_t bridge_port, const Peer& peer) {
    if (server.on_closed_) server.on_closed_(bridge_port, peer);
  }

  void refused(const std::string& what) {
    ++stats().refused;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_refusal_log < std::chrono::seconds(1)) {
      ++refusals_unlogged;
      return;
    }
    last_refusal_log = now;
    if (refusals_unlogged) {
      log().warn("WebSocket: {} (and {} more refused since the last such line)", what, refusals_unlogged);
    } else {
      log().warn("WebSocket: {}", what);
    }
    refusals_unlogged = 0;
  }

  void accept(Acceptor& a);
};

namespace {

// One browser: its WebSocket (plain or TLS) and the stack's bridge connection.
template <class Next>
class Session : public std::enable_shared_from_this<Session<Next>> {
 public:
  template <class... Args>
  Session(Server::Impl& impl, const Acceptor& a, acl::Address address, std::uint16_t port,
          Args&&... args)
      : impl_(impl),
        acceptor_(a),
        ws_(std::forward<Args>(args)...),
        bridge_(impl.ioc),
        splitter_(impl.limits().max_message) {
    peer_.address = address;
    peer_.port = port;
    peer_.transport = a.listener->transport;
    peer_.listener = a.listener->name;
    key_ = address.to_string();
    ++impl_.by_source[key_];
    ++impl_.total;
  }

  ~Session() { release(); }

  void run() {
    beast::get_lowest_layer(ws_).expires_after(impl_.limits().handshake);
    if constexpr (std::is_same_v<Next, beast::tcp_stream>) {
      read_upgrade();
    } else {
      ws_.next_layer().async_handshake(
          ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
            if (ec) {
              self->impl_.refused("TLS handshake with " + self->who() + " failed: " + ec.message());
              return self->drop();
            }
            self->read_upgrade();
          });
    }
  }

 private:
  std::string who() const { return host_port(peer_.address, peer_.port); }

  void read_upgrade() {
    parser_.emplace();
    parser_->header_limit(8192);
    parser_->body_limit(0);
    http::async_read(ws_.next_layer(), buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                       self->on_upgrade(ec);
                     });
  }

  void on_upgrade(beast::error_code ec) {
    if (ec == beast::error::timeout || ec == http::error::end_of_stream) {
      impl_.refused("no WebSocket upgrade from " + who() + " (" + ec.message() + ")");
      return drop();
    }
    if (ec)
      return refuse(http::status::bad_request, "malformed HTTP request (" + ec.message() + ")");
    const auto& req = parser_->get();
    if (!websocket::is_upgrade(req)) {
      return refuse(http::status::bad_request, "not a WebSocket upgrade");
    }
    if (!offers_sip(req[http::field::sec_websocket_protocol])) {
      return refuse(http::status::bad_request, "the upgrade does not offer subprotocol \"sip\"");
    }
    peer_.origin = std::string(req[http::field::origin]);
    const auto& origins = acceptor_.listener->origins;
    if (!origins.empty() &&
        std::find(origins.begin(), origins.end(), peer_.origin) == origins.end()) {
      return refuse(http::status::forbidden,
                    "Origin \"" + peer_.origin + "\" is not in the listener's origins");
    }
    bridge_.async_connect(
        tcp::endpoint(asio::ip::address_v4::loopback(), acceptor_.stack_port),
        [self = this->shared_from_this()](beast::error_code ec2) { self->on_bridge(ec2); });
  }

  void on_bridge(beast::error_code ec) {
    if (ec) {
      return refuse(http::status::service_unavailable,
                    "cannot reach the SIP stack (" + ec.message() + ")");
    }
    beast::error_code ignored;
    bridge_.set_option(tcp::no_delay(true), ignored);
    bridge_port_ = bridge_.local_endpoint(ignored).port();
    // Known before the first byte reaches the stack: its first request already finds the peer.
    impl_.peers().add(bridge_port_, peer_);
    registered_ = true;
    beast::get_lowest_layer(ws_).expires_never();
    const auto& limits = impl_.limits();
    ws_.set_option(websocket::stream_base::timeout{limits.handshake, limits.idle, true});
    ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
      res.set(http::field::sec_websocket_protocol, "sip");
      res.set(http::field::server, "icegate");
    }));
    ws_.read_message_max(limits.max_message);
    ws_.async_accept(parser_->get(), [self = this->shared_from_this()](beast::error_code ec2) {
      if (ec2) {
        self->impl_.refused("WebSocket handshake with " + self->who() +
                            " failed: " + ec2.message());
        return self->close();
      }
      ++self->impl_.stats().opened;
      ++self->impl_.stats().open;
      self->open_ = true;
      log().debug("WebSocket {} open on listener {} (origin \"{}\")", self->who(),
                  self->peer_.listener, self->peer_.origin);
      self->read_ws();
      self->read_bridge();
    });
  }

  void refuse(http::status status, const std::string& why) {
    impl_.refused("upgrade from " + who() + " on listener " + peer_.listener + " refused with " +
                  std::to_string(static_cast<unsigned>(status)) + ": " + why);
    refusal_.result(status);
    refusal_.version(11);
    refusal_.set(http::field::server, "icegate");
    refusal_.set(http::field::content_type, "text/plain");
    refusal_.keep_alive(false);
    refusal_.body() = why + "\r\n";
    refusal_.prepare_payload();
    http::async_write(
        ws_.next_layer(), refusal_,
        [self = this->shared_from_this()](beast::error_code, std::size_t) { self->close(); });
  }

  void read_ws() {
    ws_.async_read(in_, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      self->on_ws_message(ec);
    });
  }

  void on_ws_message(beast::error_code ec) {
    if (ec) {
      if (ec == websocket::error::message_too_big) {
        log().warn("WebSocket {}: a message over {} bytes, connection closed", who(),
                   impl_.limits().max_message);
      }
      return close();
    }
    const std::string frame = beast::buffers_to_string(in_.data());
    in_.consume(in_.size());
    auto sip = to_stack(frame);
    if (!sip) {
      ++impl_.stats().dropped;
      log().info("WebSocket {}: message dropped: {}", who(), sip.error());
      return read_ws();
    }
    ++impl_.stats().to_stack;
    to_bridge_ = std::move(*sip);
    // The next WebSocket message is read once this one is with the stack (back-pressure).
    asio::async_write(bridge_, asio::buffer(to_bridge_),
                      [self = this->shared_from_this()](beast::error_code ec2, std::size_t) {
                        if (ec2) return self->close();
                        self->read_ws();
                      });
  }

  void read_bridge() {
    bridge_.async_read_some(asio::buffer(from_bridge_),
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->on_bridge_bytes(ec, n);
                            });
  }

  void on_bridge_bytes(beast::error_code ec, std::size_t n) {
    if (ec) return close();
    auto messages = splitter_.feed(std::string_view(from_bridge_.data(), n));
    if (!messages) {
      log().warn("WebSocket {}: {}; connection closed", who(), messages.error());
      return close();
    }
    for (auto& m : *messages) {
      auto text = to_phone(m.get(), peer_);
      if (!text) continue;
      ++impl_.stats().to_phone;
      out_.push_back(std::move(*text));
    }
    if (out_.size() > kMaxQueued) {
      log().warn("WebSocket {}: {} SIP messages unread by the browser, connection closed", who(),
                 out_.size());
      return close();
    }
    if (!writing_) write_ws();
    read_bridge();
  }

  void write_ws() {
    if (out_.empty() || closed_) {
      writing_ = false;
      return;
    }
    writing_ = true;
    ws_.text(true);
    ws_.async_write(asio::buffer(out_.front()),
                    [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                      if (ec) return self->close();
                      self->out_.pop_front();
                      self->write_ws();
                    });
  }

  // The connection no longer counts against its source's cap or the total.
  void release() {
    if (released_) return;
    released_ = true;
    auto it = impl_.by_source.find(key_);
    if (it != impl_.by_source.end() && --it->second == 0) impl_.by_source.erase(it);
    --impl_.total;
  }

  // Before the upgrade: nothing to tell anyone.
  void drop() {
    closed_ = true;
    release();
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    release();
    if (registered_) {
      impl_.peers().remove(bridge_port_);
      impl_.closed(bridge_port_, peer_);
    }
    if (open_) {
      ++impl_.stats().closed;
      --impl_.stats().open;
      log().debug("WebSocket {} closed", who());
    }
    beast::error_code ignored;
    bridge_.close(ignored);
    beast::get_lowest_layer(ws_).socket().close(ignored);
  }

  Server::Impl& impl_;
  const Acceptor& acceptor_;
  websocket::stream<Next> ws_;
  tcp::socket bridge_;
  StreamSplitter splitter_;
  Peer peer_;
  std::string key_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> parser_;
  http::response<http::string_body> refusal_;
  beast::flat_buffer in_;
  std::string to_bridge_;
  std::array<char, 4096> from_bridge_{};  // per connection: kept small (10,000 browsers)
  std::deque<std::string> out_;
  std::uint16_t bridge_port_ = 0;
  bool registered_ = false;
  bool open_ = false;
  bool writing_ = false;
  bool closed_ = false;
  bool released_ = false;
};

}  // namespace

void Server::Impl::accept(Acceptor& a) {
  a.socket.async_accept([this, &a](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;  // stopping
    if (!ec) {
      beast::error_code ignored;
      const auto remote = socket.remote_endpoint(ignored);
      const auto address = to_address(remote.address());
      const auto& limits = server.limits_;
      const auto it = by_source.find(address.to_string());
      if (total >= limits.total) {
        refused("connection from " + host_port(address, remote.port()) +
                " closed: " + std::to_string(total) + " connections open (the limit)");
      } else if (it != by_source.end() && it->second >= limits.per_source) {
        refused("connection from " + host_port(address, remote.port()) + " closed: " +
                std::to_string(it->second) + " connections from that address (the limit)");
      } else if (a.tls) {
        std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
            *this, a, address, remote.port(), std::move(socket), *a.tls)
            ->run();
      } else {
        std::make_shared<Session<beast::tcp_stream>>(*this, a, address, remote.port(),
                                                     std::move(socket))
            ->run();
      }
    }
    if (ec) {
      // Out of descriptors (EMFILE) and the like: the listening socket stays readable, so
      // accepting again at once would spin. Try again in 100 ms.
      refused("cannot accept on listener " + a.listener->name + ": " + ec.message());
      auto timer = std::make_shared<asio::steady_timer>(ioc, std::chrono::milliseconds(100));
      timer->async_wait([this, &a, timer](beast::error_code e) {
        if (!e) accept(a);
      });
      return;
    }
    accept(a);
  });
}

Server::Server(Peers& peers, Closed on_closed, Limits limits)
    : peers_(peers), on_closed_(std::move(on_closed)), limits_(limits) {}

Server::~Server() {
  stop();
}

bool Server::start(const std::vector<ListenerSpec>& specs, std::string& error) {
  impl_ = std::make_unique<Impl>(*this);
  for (const auto& s : specs) {
    auto a = std::make_unique<Acceptor>(impl_->ioc, s);
    const conf::Listener& l = *s.listener;
    const std::string where = "listener " + l.name + " (" +
                              std::string(conf::to_string(l.transport)) + " " +
                              host_port(l.address, l.port) + ")";
    beast::error_code ec;
    if (l.transport == conf::Transport::wss) {
      a->tls.emplace(ssl::context::tls_server);
      a->tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                          ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                          ssl::context::no_tlsv1_1);
      a->tls->use_certificate_chain_file(l.certificate_file, ec);
      if (!ec) a->tls->use_private_key_file(l.private_key_file, ssl::context::pem, ec);
      if (ec) {
        error = where + ": the certificate or private key was refused: " + ec.message();
        a.reset();  // before the io_context it belongs to
        impl_.reset();
        return false;
      }
    }
    const tcp::endpoint ep(asio::ip::make_address(l.address.to_string(), ec), l.port);
    if (!ec) a->socket.open(ep.protocol(), ec);
    if (!ec) a->socket.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) a->socket.bind(ep, ec);
    if (!ec) a->socket.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      error = "cannot listen on " + where + ": " + ec.message();
      a.reset();  // before the io_context it belongs to
      impl_.reset();
      return false;
    }
    impl_->acceptors.push_back(std::move(a));
  }
  for (auto& a : impl_->acceptors) {
    impl_->accept(*a);
    log().info("listening on {} {} for SIP over WebSocket ({})",
               conf::to_string(a->listener->transport),
               host_port(a->listener->address, a->listener->port), a->listener->name);
  }
  impl_->thread = std::thread([impl = impl_.get()] {
    auto guard = asio::make_work_guard(impl->ioc);
    impl->ioc.run();
  });
  return true;
}

void Server::stop() {
  if (!impl_) return;
  if (impl_->thread.joinable()) {
    impl_->ioc.stop();
    impl_->thread.join();
  }
  impl_.reset();  // the io_context goes first: its pending handlers release every session
}

}  // namespace icegate::sip::ws
