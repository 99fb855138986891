// bench_ws: N phones register with icegate, each over its own connection, and stay connected
// (issue 11 benchmark). --mode ws: SIP over WebSocket (RFC 7118, subprotocol "sip"); --mode tcp:
// plain SIP over TCP, the floor. Each phone: bind to its loopback source address (at most
// --per-source phones per address), connect (and upgrade), REGISTER -> 401 -> REGISTER with
// digest credentials -> 200; at most --window phones are in that flow at once. Answers are cut
// and parsed with Sofia-SIP (sip::ws::StreamSplitter). With --pid, icegate's resident size, CPU
// seconds and descriptors are read from /proc before and after. One JSON object on stdout.
//
// Traffic: 127.0.0.0/8 only (the target and the sources are checked). Bounded: every phone has
// a deadline, the whole run has one.
#include <utility>  // before Boost.Asio on g++ 12 (std::exchange)

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <dirent.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "sip/ws/sip_frames.hpp"
#include "tools/bench/ws/register_flow.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using icegate::bench::Answer;
using icegate::bench::Identity;

struct Options {
  std::string mode = "ws";
  std::string target = "127.0.82.1";
  unsigned short port = 8088;
  std::size_t n = 1000;
  unsigned first_user = 100000;
  std::size_t window = 100;
  std::size_t per_source = 50;
  std::string source_base = "127.82.0.0";  // sources are base+1, base+2, ...
  double timeout_s = 30;                   // per phone: connect to 200
  double hold_s = 5;                       // after the last answer, connections held open
  double deadline_s = 600;                 // the whole run
  int pid = 0;                             // icegate's, for /proc figures
};

// --- /proc figures of icegate -----------------------------------------------------------------

struct ProcSample {
  long rss_kib = -1;
  double cpu_s = -1;
  long fds = -1;
};

ProcSample sample(int pid) {
  ProcSample s;
  if (pid <= 0) return s;
  const std::string dir = "/proc/" + std::to_string(pid);
  std::ifstream status(dir + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) s.rss_kib = std::stol(line.substr(6));
  }
  std::ifstream statf(dir + "/stat");
  std::string stat((std::istreambuf_iterator<char>(statf)), std::istreambuf_iterator<char>());
  const auto close = stat.rfind(')');
  if (close != std::string::npos) {
    std::istringstream rest(stat.substr(close + 2));
    std::vector<std::string> f;
    for (std::string x; rest >> x;) f.push_back(x);
    // Fields 14 and 15 (utime, stime) are the 12th and 13th after the command's ')'.
    if (f.size() > 12) {
      s.cpu_s = static_cast<double>(std::stoll(f[11]) + std::stoll(f[12])) /
                static_cast<double>(sysconf(_SC_CLK_TCK));
    }
  }
  long fds = 0;
  if (auto* d = opendir((dir + "/fd").c_str())) {
    while (readdir(d)) ++fds;
    closedir(d);
    s.fds = fds - 2;  // . and ..
  }
  return s;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

// --- one phone --------------------------------------------------------------------------------

class Run;

class Phone : public std::enable_shared_from_this<Phone> {
 public:
  enum class State { idle, connecting, upgrading, challenged_wait, auth_wait, registered, failed };

  Phone(Run& run, std::size_t index);
  void start();
  void fail(const std::string& why);
  bool in_flight() const {
    return state_ != State::idle && state_ != State::registered && state_ != State::failed;
  }
  bool open() const { return open_; }
  Clock::time_point started() const { return started_; }

 private:
  void on_connected();
  void send(std::string text);
  void read_more();
  void on_bytes(std::string_view bytes, bool whole_message);
  void on_answer(const Answer& a);
  void lost(const beast::error_code& ec);

  Run& run_;
  std::size_t index_;
  Identity id_;
  std::string call_id_;
  tcp::socket socket_;
  std::unique_ptr<websocket::stream<beast::tcp_stream>> ws_;
  icegate::sip::ws::StreamSplitter splitter_;
  beast::flat_buffer ws_in_;
  std::array<char, 2048> tcp_in_{};
  std::string out_;
  State state_ = State::idle;
  bool open_ = false;
  Clock::time_point started_{}, connected_{}, register_sent_{};
};

class Run {
 public:
  Run(asio::io_context& ioc, Options o) : ioc(ioc), opt(std::move(o)), sweep_(ioc) {}

  void start() {
    before_ = sample(opt.pid);
    t0_ = Clock::now();
    for (std::size_t i = 0; i < opt.n; ++i) phones_.push_back(std::make_shared<Phone>(*this, i));
    launch();
    tick();
  }

  void finished(bool ok, const std::string& failure, double setup_ms, double reg_ms,
                double connect_ms) {
    --in_flight_;
    ++done_;
    if (ok) {
      ++ok_;
      setup_ms_.push_back(setup_ms);
      reg_ms_.push_back(reg_ms);
      connect_ms_.push_back(connect_ms);
    } else {
      ++failures_[failure];
    }
    if (done_ == opt.n) {
      t_end_ = Clock::now();
      after_ = sample(opt.pid);
      hold_until_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                       std::chrono::duration<double>(opt.hold_s));
    } else {
      launch();
    }
  }

  void lost_after_registration() { ++lost_; }

  asio::io_context& ioc;
  Options opt;
  tcp::endpoint target;
  std::uint32_t source_base = 0;

  std::string report() const;

 private:
  void launch() {
    while (in_flight_ < opt.window && next_ < opt.n) {
      ++in_flight_;
      // Posted: a phone that fails at once must not recurse into the next launch.
      asio::post(ioc, [p = phones_[next_++]] { p->start(); });
    }
  }

  // Every 100 ms: phones past their deadline fail; the hold period and the run's deadline end.
  void tick() {
    sweep_.expires_after(std::chrono::milliseconds(100));
    sweep_.async_wait([this](beast::error_code ec) {
      if (ec) return;
      const auto now = Clock::now();
      const auto limit = std::chrono::duration_cast<Clock::duration>(
          std::chrono::duration<double>(opt.timeout_s));
      for (auto& p : phones_) {
        if (p->in_flight() && now - p->started() > limit) p->fail("timeout");
      }
      if (hold_until_ && now >= *hold_until_) return finish();
      if (now - t0_ > std::chrono::duration<double>(opt.deadline_s)) {
        for (auto& p : phones_) {
          if (p->in_flight()) p->fail("run deadline");
        }
        return finish();
      }
      tick();
    });
  }

  void finish() {
    held_ = sample(opt.pid);
    for (auto& p : phones_) open_after_hold_ += p->open() ? 1 : 0;
    ioc.stop();  // the process exit closes every connection
  }

  asio::steady_timer sweep_;
  std::vector<std::shared_ptr<Phone>> phones_;
  std::size_t next_ = 0, in_flight_ = 0, done_ = 0, ok_ = 0, lost_ = 0, open_after_hold_ = 0;
  std::map<std::string, std::size_t> failures_;
  std::vector<double> setup_ms_, reg_ms_, connect_ms_;
  Clock::time_point t0_{}, t_end_{};
  std::optional<Clock::time_point> hold_until_;
  ProcSample before_, after_, held_;
};

Phone::Phone(Run& run, std::size_t index)
    : run_(run), index_(index), socket_(run.ioc), splitter_(65536) {}

void Phone::start() {
  started_ = Clock::now();
  state_ = State::connecting;
  const auto src = asio::ip::address_v4(run_.source_base + 1 +
                                        static_cast<std::uint32_t>(index_ / run_.opt.per_source));
  beast::error_code ec;
  socket_.open(tcp::v4(), ec);
  if (ec) return fail("socket: " + ec.message());
  // The source port is chosen at connect() (the 4-tuple), not at bind().
  const int one = 1;
  ::setsockopt(socket_.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  socket_.bind(tcp::endpoint(src, 0), ec);
  if (ec) return fail("bind: " + ec.message());
  const auto user = std::to_string(run_.opt.first_user + index_);
  id_.user = user;
  id_.password = user + "-bench-secret";
  id_.domain = run_.opt.target;
  call_id_ = "bench-" + user + "-" + std::to_string(::getpid());
  socket_.async_connect(run_.target, [self = shared_from_this()](beast::error_code ec2) {
    if (self->state_ != State::connecting) return;
    if (ec2) return self->fail("connect: " + ec2.message());
    self->on_connected();
  });
}

void Phone::on_connected() {
  connected_ = Clock::now();
  open_ = true;
  beast::error_code ec;
  const auto local = socket_.local_endpoint(ec);
  const std::string local_hp = local.address().to_string() + ":" + std::to_string(local.port());
  if (run_.opt.mode == "tcp") {
    id_.transport = "TCP";
    id_.via_host = local_hp;
    id_.contact = "sip:" + id_.user + "@" + local_hp + ";transport=tcp";
    state_ = State::challenged_wait;
    read_more();
    register_sent_ = Clock::now();
    return send(icegate::bench::register_request(id_, 1, call_id_, call_id_ + "-1", ""));
  }
  // As JsSIP does: the Via and Contact name a made-up .invalid host (RFC 7118 §5.2).
  id_.transport = "WS";
  id_.via_host = "b" + id_.user + ".invalid";
  id_.contact = "sip:" + id_.user + "@b" + id_.user + ".invalid;transport=ws";
  state_ = State::upgrading;
  ws_ = std::make_unique<websocket::stream<beast::tcp_stream>>(std::move(socket_));
  ws_->set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
    req.set(beast::http::field::sec_websocket_protocol, "sip");
  }));
  const std::string host = run_.opt.target + ":" + std::to_string(run_.opt.port);
  ws_->async_handshake(host, "/", [self = shared_from_this()](beast::error_code ec2) {
    if (self->state_ != State::upgrading) return;
    if (ec2) return self->fail("upgrade: " + ec2.message());
    self->connected_ = Clock::now();  // connected = upgraded, for WebSocket
    self->state_ = State::challenged_wait;
    self->read_more();
    self->register_sent_ = Clock::now();
    self->send(icegate::bench::register_request(self->id_, 1, self->call_id_,
                                                self->call_id_ + "-1", ""));
  });
}

void Phone::send(std::string text) {
  out_ = std::move(text);
  auto done = [self = shared_from_this()](beast::error_code ec, std::size_t) {
    if (ec) self->lost(ec);
  };
  if (ws_) {
    ws_->text(true);
    ws_->async_write(asio::buffer(out_), done);
  } else {
    asio::async_write(socket_, asio::buffer(out_), done);
  }
}

void Phone::read_more() {
  if (ws_) {
    ws_->async_read(ws_in_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->lost(ec);
      const std::string frame = beast::buffers_to_string(self->ws_in_.data());
      self->ws_in_.consume(self->ws_in_.size());
      self->on_bytes(frame, true);
    });
  } else {
    socket_.async_read_some(asio::buffer(tcp_in_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              if (ec) return self->lost(ec);
                              self->on_bytes(std::string_view(self->tcp_in_.data(), n), false);
                            });
  }
}

void Phone::on_bytes(std::string_view bytes, bool /*whole_message*/) {
  if (!open_) return;
  // A WebSocket message is one SIP message (RFC 7118 §5); a TCP stream is cut by Content-Length.
  // The same Sofia stream parser reads both.
  auto messages = splitter_.feed(bytes);
  if (!messages) return fail("unparsable answer: " + messages.error());
  for (auto& m : *messages) {
    const auto a = icegate::bench::read_answer(m.get());
    if (a) on_answer(*a);  // a request from icegate (none expected) is ignored
    if (!open_) return;
  }
  read_more();
}

void Phone::on_answer(const Answer& a) {
  if (a.status < 200) return;
  if (state_ == State::challenged_wait && a.cseq == 1) {
    if (a.status != 401 || !a.nonce) return fail("first REGISTER: " + std::to_string(a.status));
    state_ = State::auth_wait;
    const std::string uri = "sip:" + id_.domain;
    return send(icegate::bench::register_request(
        id_, 2, call_id_, call_id_ + "-2", icegate::bench::authorization(id_, a, uri)));
  }
  if (state_ == State::auth_wait && a.cseq == 2) {
    if (a.status != 200) return fail("REGISTER with credentials: " + std::to_string(a.status));
    state_ = State::registered;
    const auto now = Clock::now();
    const auto ms = [](Clock::duration d) {
      return std::chrono::duration<double, std::milli>(d).count();
    };
    run_.finished(true, "", ms(now - started_), ms(now - register_sent_),
                  ms(connected_ - started_));
  }
}

void Phone::lost(const beast::error_code& ec) {
  if (!open_) return;
  if (state_ == State::registered) {
    open_ = false;
    run_.lost_after_registration();
    return;
  }
  if (in_flight()) fail("connection lost: " + ec.message());
}

void Phone::fail(const std::string& why) {
  if (!in_flight()) return;
  state_ = State::failed;
  open_ = false;
  beast::error_code ignored;
  if (ws_) {
    beast::get_lowest_layer(*ws_).socket().close(ignored);
  } else {
    socket_.close(ignored);
  }
  run_.finished(false, why, 0, 0, 0);
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string Run::report() const {
  std::ostringstream j;
  j.setf(std::ios::fixed);
  j.precision(3);
  const double seconds =
      done_ == opt.n ? std::chrono::duration<double>(t_end_ - t0_).count() : -1;
  j << "{\"mode\": " << json_string(opt.mode) << ", \"n\": " << opt.n
    << ", \"window\": " << opt.window << ", \"per_source\": " << opt.per_source
    << ", \"sources\": " << (opt.n + opt.per_source - 1) / opt.per_source
    << ", \"registered\": " << ok_ << ", \"failed\": " << (done_ - ok_) << ", \"failures\": {";
  bool first = true;
  for (const auto& [why, count] : failures_) {
    j << (first ? "" : ", ") << json_string(why) << ": " << count;
    first = false;
  }
  j << "}, \"seconds\": " << seconds << ", \"registrations_per_s\": "
    << (seconds > 0 ? static_cast<double>(ok_) / seconds : -1)
    << ", \"register_ms_p50\": " << percentile(reg_ms_, 50)
    << ", \"register_ms_p99\": " << percentile(reg_ms_, 99)
    << ", \"setup_ms_p50\": " << percentile(setup_ms_, 50)
    << ", \"setup_ms_p99\": " << percentile(setup_ms_, 99)
    << ", \"connect_ms_p50\": " << percentile(connect_ms_, 50)
    << ", \"connect_ms_p99\": " << percentile(connect_ms_, 99)
    << ", \"lost_after_registration\": " << lost_ << ", \"open_after_hold\": " << open_after_hold_
    << ", \"hold_s\": " << opt.hold_s;
  if (opt.pid > 0) {
    j << ", \"icegate_rss_kib_before\": " << before_.rss_kib
      << ", \"icegate_rss_kib_after\": " << after_.rss_kib
      << ", \"icegate_rss_kib_held\": " << held_.rss_kib << ", \"icegate_kib_per_connection\": "
      << (ok_ ? static_cast<double>(after_.rss_kib - before_.rss_kib) / static_cast<double>(ok_)
              : -1)
      << ", \"icegate_cpu_s\": " << (after_.cpu_s - before_.cpu_s)
      << ", \"icegate_cpu_ms_per_registration\": "
      << (ok_ ? (after_.cpu_s - before_.cpu_s) * 1000 / static_cast<double>(ok_) : -1)
      << ", \"icegate_fds_before\": " << before_.fds << ", \"icegate_fds_after\": " << after_.fds
      << ", \"icegate_fds_held\": " << held_.fds;
  }
  j << "}";
  return j.str();
}

bool loopback(const asio::ip::address_v4& a) {
  return (a.to_uint() >> 24) == 127;
}

int usage() {
  std::cerr << "usage: bench_ws [--mode ws|tcp] [--target 127.0.82.1] [--port 8088] [--n 1000]\n"
               "                [--first-user 100000] [--window 100] [--per-source 50]\n"
               "                [--source-base 127.82.0.0] [--timeout 30] [--hold 5]\n"
               "                [--deadline 600] [--pid ICEGATE_PID]\n"
               "  passwords are USER-bench-secret (tools/bench/ws/run writes the same)\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return usage();
    const std::string v = argv[++i];
    try {
      if (a == "--mode") o.mode = v;
      else if (a == "--target") o.target = v;
      else if (a == "--port") o.port = static_cast<unsigned short>(std::stoul(v));
      else if (a == "--n") o.n = std::stoul(v);
      else if (a == "--first-user") o.first_user = static_cast<unsigned>(std::stoul(v));
      else if (a == "--window") o.window = std::stoul(v);
      else if (a == "--per-source") o.per_source = std::stoul(v);
      else if (a == "--source-base") o.source_base = v;
      else if (a == "--timeout") o.timeout_s = std::stod(v);
      else if (a == "--hold") o.hold_s = std::stod(v);
      else if (a == "--deadline") o.deadline_s = std::stod(v);
      else if (a == "--pid") o.pid = std::stoi(v);
      else return usage();
    } catch (const std::exception&) {
      return usage();
    }
  }
  if ((o.mode != "ws" && o.mode != "tcp") || o.n == 0 || o.window == 0 || o.per_source == 0 ||
      o.per_source > 64) {
    return usage();
  }
  beast::error_code ec;
  const auto target = asio::ip::make_address_v4(o.target, ec);
  const auto base = asio::ip::make_address_v4(o.source_base, ec);
  const std::uint32_t last_source =
      base.to_uint() + static_cast<std::uint32_t>((o.n + o.per_source - 1) / o.per_source);
  if (ec || !loopback(target) || !loopback(base) || (last_source >> 24) != 127) {
    std::cerr << "bench_ws: the target and every source must be in 127.0.0.0/8\n";
    return 2;
  }
  // One descriptor per phone.
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur < o.n + 64) {
    std::cerr << "bench_ws: RLIMIT_NOFILE " << lim.rlim_cur << " is too low for " << o.n
              << " connections\n";
    return 1;
  }
  asio::io_context ioc{1};
  Run run(ioc, o);
  run.target = tcp::endpoint(target, o.port);
  run.source_base = base.to_uint();
  run.start();
  ioc.run();
  std::cout << run.report() << std::endl;
  // Every connection closes with the process (tearing 10,000 sessions down one by one first
  // would only slow the script's after-close reading).
  std::_Exit(0);
}
