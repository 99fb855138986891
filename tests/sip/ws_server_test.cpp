// The WebSocket side of the bridge (sip/ws/server.hpp) over real loopback sockets: a Beast
// WebSocket client plays the browser, a plain TCP listener plays the SIP stack.
#include "sip/ws/server.hpp"

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <sofia-sip/msg.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "sip/ws/sip_frames.hpp"

namespace icegate::sip::ws {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

const std::string kOptions =
    "OPTIONS sip:127.0.0.1 SIP/2.0\r\n"
    "Via: SIP/2.0/WS abc.invalid;branch=z9hG4bKws1\r\n"
    "To: <sip:icegate@127.0.0.1>\r\nFrom: <sip:1001@127.0.0.1>;tag=f\r\n"
    "Call-ID: ws-test-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";

// The stack's side: accepts bridge connections on an ephemeral loopback port.
struct FakeStack {
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc, tcp::endpoint(asio::ip::address_v4::loopback(), 0)};
  std::uint16_t port() const { return acceptor.local_endpoint().port(); }
  tcp::socket accept() {
    tcp::socket s(ioc);
    acceptor.accept(s);
    return s;
  }
};

// Reads one whole SIP message from the bridge (Sofia's parser cuts the stream).
MsgPtr read_message(tcp::socket& s) {
  StreamSplitter split;
  std::array<char, 4096> buf{};
  for (;;) {
    const auto n = s.read_some(asio::buffer(buf));
    auto got = split.feed(std::string_view(buf.data(), n));
    if (!got) return nullptr;
    if (!got->empty()) return std::move(got->front());
  }
}

class WsServerTest : public ::testing::Test {
 protected:
  void start(Limits limits = {}, std::vector<std::string> origins = {}) {
    listener_.name = "ws-test";
    listener_.transport = conf::Transport::ws;
    listener_.address = acl::Address::v4(0x7f000001u);
    listener_.port = free_port();
    listener_.origins = std::move(origins);
    server_ = std::make_unique<Server>(
        peers_,
        [this](std::uint16_t port, const Peer& peer) {
          std::lock_guard lock(mutex_);
          closed_.emplace_back(port, peer);
          cv_.notify_all();
        },
        limits);
    std::string error;
    ASSERT_TRUE(server_->start({{&listener_, stack_.port()}}, error)) << error;
  }

  static std::uint16_t free_port() {
    asio::io_context ioc;
    tcp::acceptor a(ioc, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    return a.local_endpoint().port();
  }

  // A connected TCP socket to the listener.
  tcp::socket connect() {
    tcp::socket s(client_ioc_);
    s.connect(tcp::endpoint(asio::ip::address_v4::loopback(), listener_.port));
    return s;
  }

  // Sends a raw HTTP request and returns the response's status.
  unsigned http_status(const std::string& request) {
    auto s = connect();
    asio::write(s, asio::buffer(request));
    beast::flat_buffer b;
    http::response<http::string_body> res;
    http::read(s, b, res);
    return res.result_int();
  }

  std::unique_ptr<websocket::stream<tcp::socket>> open_ws(std::string subprotocol = "sip") {
    auto ws = std::make_unique<websocket::stream<tcp::socket>>(connect());
    ws->set_option(websocket::stream_base::decorator([subprotocol](websocket::request_type& req) {
      req.set(http::field::sec_websocket_protocol, subprotocol);
      req.set(http::field::origin, "https://phone.example");
    }));
    websocket::response_type res;
    ws->handshake(res, "127.0.0.1", "/");
    EXPECT_EQ(res[http::field::sec_websocket_protocol], "sip");
    return ws;
  }

  // The server's thread calls back into this fixture: it stops before the fixture's members go.
  void TearDown() override { server_.reset(); }

  std::pair<std::uint16_t, Peer> closed_at(std::size_t i) {
    std::lock_guard lock(mutex_);
    return closed_.at(i);
  }

  bool wait_closed(std::size_t n) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return closed_.size() >= n; });
  }

  conf::Listener listener_;
  FakeStack stack_;
  Peers peers_;
  asio::io_context client_ioc_;
  std::unique_ptr<Server> server_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::pair<std::uint16_t, Peer>> closed_;
};

TEST_F(WsServerTest, MalformedOrForeignUpgradesAreRefusedWithAReason) {
  start({}, {"https://phone.example"});
  // Not a WebSocket upgrade at all.
  EXPECT_EQ(http_status("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 400u);
  // An upgrade without the "sip" subprotocol (RFC 7118 §4.1).
  const std::string upgrade =
      "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
  EXPECT_EQ(http_status(upgrade + "Origin: https://phone.example\r\n\r\n"), 400u);
  EXPECT_EQ(http_status(upgrade + "Sec-WebSocket-Protocol: xmpp, mqtt\r\n"
                                  "Origin: https://phone.example\r\n\r\n"),
            400u);
  // The right subprotocol from an origin the listener does not list.
  EXPECT_EQ(
      http_status(upgrade + "Sec-WebSocket-Protocol: sip\r\nOrigin: https://evil.example\r\n\r\n"),
      403u);
  // Garbage instead of HTTP.
  EXPECT_EQ(http_status("\x16\x03\x01 not http at all\r\n\r\n"), 400u);
  EXPECT_EQ(server_->stats().refused.load(), 5u);
  EXPECT_EQ(server_->stats().opened.load(), 0u);
  EXPECT_EQ(peers_.size(), 0u);
}

TEST_F(WsServerTest, SipGoesBothWaysAndThePeerIsKnownByItsBridgePort) {
  start({}, {"https://phone.example"});
  auto ws = open_ws("foo, sip");
  auto bridge = stack_.accept();
  const auto bridge_port = bridge.remote_endpoint().port();
  // The browser, as the stack will see it.
  auto peer = peers_.find(bridge_port);
  ASSERT_TRUE(peer);
  EXPECT_EQ(peer->address.to_string(), "127.0.0.1");
  EXPECT_EQ(peer->port, ws->next_layer().local_endpoint().port());
  EXPECT_EQ(peer->transport, conf::Transport::ws);
  EXPECT_EQ(peer->listener, "ws-test");
  EXPECT_EQ(peer->origin, "https://phone.example");

  ws->text(true);
  ws->write(asio::buffer(kOptions));
  auto got = read_message(bridge);
  ASSERT_TRUE(got);
  const sip_t* sip = sip_object(got.get());
  ASSERT_TRUE(sip && sip->sip_request && sip->sip_via);
  EXPECT_STREQ(sip->sip_via->v_protocol, "SIP/2.0/TCP");
  EXPECT_STREQ(sip->sip_call_id->i_id, "ws-test-1");

  // The stack's answer, in two TCP writes, and a request right behind it in the same write.
  const std::string ok =
      "SIP/2.0 200 OK\r\n"
      "Via: SIP/2.0/TCP abc.invalid;branch=z9hG4bKws1;received=127.0.0.1;rport=" +
      std::to_string(bridge_port) +
      "\r\nTo: <sip:icegate@127.0.0.1>;tag=t\r\nFrom: <sip:1001@127.0.0.1>;tag=f\r\n"
      "Call-ID: ws-test-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
  const std::string bye =
      "BYE sip:1001@abc.invalid;transport=ws SIP/2.0\r\nVia: SIP/2.0/TCP "
      "127.0.0.1:5;branch=z9hG4bKb\r\n"
      "To: <sip:1001@h>;tag=a\r\nFrom: <sip:5000@h>;tag=b\r\nCall-ID: c2\r\nCSeq: 9 BYE\r\n"
      "Content-Length: 0\r\n\r\n";
  asio::write(bridge, asio::buffer(ok.substr(0, 30)));
  asio::write(bridge, asio::buffer(ok.substr(30) + bye));
  beast::flat_buffer b;
  ws->read(b);
  EXPECT_TRUE(ws->got_text());
  const std::string first = beast::buffers_to_string(b.data());
  EXPECT_NE(first.find("Via: SIP/2.0/WS abc.invalid;branch=z9hG4bKws1;received=127.0.0.1;rport=" +
                       std::to_string(peer->port)),
            std::string::npos)
      << first;
  b.consume(b.size());
  ws->read(b);
  EXPECT_EQ(beast::buffers_to_string(b.data()), bye);
  EXPECT_EQ(server_->stats().to_stack.load(), 1u);
  EXPECT_EQ(server_->stats().to_phone.load(), 2u);

  // Not SIP: dropped and counted, the connection stays.
  ws->write(asio::buffer(std::string("hello")));
  ws->write(asio::buffer(kOptions));
  ASSERT_TRUE(read_message(bridge));
  EXPECT_EQ(server_->stats().dropped.load(), 1u);

  // The browser leaves: the stack's connection closes and the stack is told which one it was.
  ws->close(websocket::close_code::normal);
  ASSERT_TRUE(wait_closed(1));
  EXPECT_EQ(closed_at(0).first, bridge_port);
  EXPECT_FALSE(peers_.find(bridge_port));
  std::array<char, 16> buf{};
  beast::error_code ec;
  bridge.read_some(asio::buffer(buf), ec);
  EXPECT_EQ(ec, asio::error::eof);
}

TEST_F(WsServerTest, AFragmentedMessageArrivesWhole) {
  start();
  auto ws = open_ws();
  auto bridge = stack_.accept();
  ws->text(true);
  const std::size_t cut = kOptions.size() / 3;
  ws->write_some(false, asio::buffer(kOptions.substr(0, cut)));
  ws->write_some(false, asio::buffer(kOptions.substr(cut, cut)));
  ws->write_some(true, asio::buffer(kOptions.substr(2 * cut)));
  auto got = read_message(bridge);
  ASSERT_TRUE(got);
  EXPECT_STREQ(sip_object(got.get())->sip_call_id->i_id, "ws-test-1");
}

TEST_F(WsServerTest, PingIsAnsweredWithPong) {
  start();
  auto ws = open_ws();
  auto bridge = stack_.accept();
  bool pong = false;
  ws->control_callback([&](websocket::frame_type kind, beast::string_view payload) {
    if (kind == websocket::frame_type::pong && payload == "icegate?") pong = true;
  });
  ws->ping("icegate?");
  // The pong arrives before the next message, which the stack sends after the ping was sent.
  asio::write(
      bridge,
      asio::buffer("OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5;branch=z9hG4bKp\r\n"
                   "To: <sip:x@h>\r\nFrom: <sip:y@h>;tag=1\r\nCall-ID: p\r\nCSeq: 1 OPTIONS\r\n"
                   "Content-Length: 0\r\n\r\n"));
  beast::flat_buffer b;
  ws->read(b);
  EXPECT_TRUE(pong);
}

TEST_F(WsServerTest, AMessageOverTheLimitClosesTheConnection) {
  Limits limits;
  limits.max_message = 1024;
  start(limits);
  auto ws = open_ws();
  auto bridge = stack_.accept();
  ws->write(asio::buffer(std::string(2000, 'x')));
  // Beast fails the connection (close code 1009); the rest of the frame is never read, so the
  // browser may see the close frame or a reset: either way the connection is gone.
  beast::flat_buffer b;
  beast::error_code ec;
  ws->read(b, ec);
  EXPECT_TRUE(ec);
  if (ec == websocket::error::closed) {
    EXPECT_EQ(ws->reason().code, websocket::close_code::too_big);
  }
  ASSERT_TRUE(wait_closed(1));
  // The stack's side of it is closed too.
  std::array<char, 16> buf{};
  bridge.read_some(asio::buffer(buf), ec);
  EXPECT_EQ(ec, asio::error::eof);
  EXPECT_EQ(server_->stats().to_stack.load(), 0u);
}

TEST_F(WsServerTest, ConnectionsFromOneAddressAreCapped) {
  Limits limits;
  limits.per_source = 2;
  start(limits);
  auto a = open_ws();
  auto b = open_ws();
  auto bridge_a = stack_.accept();
  auto bridge_b = stack_.accept();
  // The third is cut before any HTTP is read.
  auto third = connect();
  std::array<char, 16> buf{};
  beast::error_code ec;
  third.read_some(asio::buffer(buf), ec);
  EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
  EXPECT_EQ(server_->stats().refused.load(), 1u);
  EXPECT_EQ(peers_.size(), 2u);  // both from 127.0.0.1
  // One leaves: there is room again.
  a->close(websocket::close_code::normal);
  ASSERT_TRUE(wait_closed(1));
  auto c = open_ws();
  EXPECT_TRUE(c->is_open());
}

TEST_F(WsServerTest, AListenerThatCannotBindIsAnErrorNamingIt) {
  asio::io_context ioc;
  tcp::acceptor taken(ioc, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  listener_.name = "ws-taken";
  listener_.transport = conf::Transport::ws;
  listener_.address = acl::Address::v4(0x7f000001u);
  listener_.port = taken.local_endpoint().port();
  Server server(peers_, nullptr);
  std::string error;
  EXPECT_FALSE(server.start({{&listener_, stack_.port()}}, error));
  EXPECT_NE(error.find("ws-taken"), std::string::npos) << error;
  EXPECT_NE(error.find("in use"), std::string::npos) << error;
}

}  // namespace
}  // namespace icegate::sip::ws
