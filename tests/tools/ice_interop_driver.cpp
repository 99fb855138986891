// ice_interop_driver: icegate's ICE-lite agent against a real full ICE agent (libnice, run as
// the tests/tools/nice_interop child), on 127.0.0.1 only (behaviour.md §4, RFC 8445 §2.5).
//
// Two modes:
//  * relay: the production path. A media::relay::Relay session whose leg A has a LiteAgent on a
//    single rtcp-mux port from the PortAllocator and whose leg B is a plain leg towards a UDP
//    echo socket owned here. libnice (controlling) checks leg A's port; the relay must report
//    ice_connected for libnice's candidate, and libnice's RTP must travel
//    libnice -> leg A -> leg B -> echo -> leg B -> leg A -> libnice.
//  * agent: the same LiteAgent driven directly (sans I/O, style.md rule 4) on a socket of ours,
//    so its AgentStats can be read: libnice's nomination (USE-CANDIDATE, regular or aggressive)
//    must show as nominated == true, with no check refused. RTP from the selected address is
//    echoed back to it.
//
// The handshake with the child is line based (see nice_interop.c): its LOCAL/CANDIDATE lines go
// to the agent as the remote side (LegUpdate::ice_remote, or set_remote()), then START. Every
// wait is a poll() with a deadline; nothing sleeps. Exit status 0 when every check passed, 1
// when one failed, 2 on bad usage or a setup failure.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "media/demux.hpp"
#include "media/endpoint.hpp"
#include "media/events.hpp"
#include "media/ice/agent.hpp"
#include "media/ice/credentials.hpp"
#include "media/ports/port_allocator.hpp"
#include "media/ports/udp_socket.hpp"
#include "media/relay/relay.hpp"

extern char** environ;

namespace {

using namespace icegate;
namespace ice = icegate::media::ice;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr media::SessionId kSession = 1;

struct Options {
  std::string mode = "relay";
  std::string nomination = "regular";
  std::string nice;  // path of the nice_interop program
  int packets = 100;
  int interval_ms = 10;
  int min_percent = 90;
  std::uint16_t min_port = 41000, max_port = 41099;
  milliseconds deadline{13000};  // whole run
  // Self-test of the test (run as ctests that must FAIL): "wrong-password" hands libnice a
  // wrong ice-pwd for icegate, "drop-echo" makes leg B's far end swallow the media.
  std::string fault;
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "ice_interop_driver: %s\nusage: ice_interop_driver --nice PATH [--mode relay|agent] "
               "[--nomination regular|aggressive] [--packets 100] [--interval-ms 10] "
               "[--min-percent 90] [--ports 41000-41099] [--deadline-ms 13000] "
               "[--fault wrong-password|drop-echo]\n",
               why.c_str());
  std::exit(2);
}

int number(const std::string& key, const std::string& v, long lo, long hi) {
  char* end = nullptr;
  errno = 0;
  const long n = std::strtol(v.c_str(), &end, 10);
  if (errno != 0 || end == v.c_str() || *end != '\0' || n < lo || n > hi) {
    usage("bad value for " + key + ": " + v);
  }
  return static_cast<int>(n);
}

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (i + 1 >= argc) usage("missing value for " + k);
    const std::string v = argv[++i];
    if (k == "--mode") {
      if (v != "relay" && v != "agent") usage("--mode is relay or agent");
      o.mode = v;
    } else if (k == "--nomination") {
      if (v != "regular" && v != "aggressive") usage("--nomination is regular or aggressive");
      o.nomination = v;
    } else if (k == "--fault") {
      if (v != "wrong-password" && v != "drop-echo")
        usage("--fault is wrong-password or drop-echo");
      o.fault = v;
    } else if (k == "--nice") {
      o.nice = v;
    } else if (k == "--packets") {
      o.packets = number(k, v, 1, 65536);
    } else if (k == "--interval-ms") {
      o.interval_ms = number(k, v, 1, 1000);
    } else if (k == "--min-percent") {
      o.min_percent = number(k, v, 0, 100);
    } else if (k == "--deadline-ms") {
      o.deadline = milliseconds(number(k, v, 1000, 600000));
    } else if (k == "--ports") {
      const auto dash = v.find('-');
      if (dash == std::string::npos) usage("--ports is MIN-MAX");
      o.min_port = static_cast<std::uint16_t>(number(k, v.substr(0, dash), 1024, 65535));
      o.max_port = static_cast<std::uint16_t>(number(k, v.substr(dash + 1), o.min_port, 65535));
    } else {
      usage("unknown option " + k);
    }
  }
  if (o.nice.empty()) usage("--nice is required");
  return o;
}

media::Endpoint loopback(std::uint16_t port = 0) {
  return media::Endpoint{acl::Address::v4(0x7f000001), port};
}

int left_ms(Clock::time_point until) {
  const auto left = std::chrono::duration_cast<milliseconds>(until - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 60'000));
}

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < line.size()) {
    const auto j = line.find(' ', i);
    const auto end = j == std::string::npos ? line.size() : j;
    if (end > i) out.push_back(line.substr(i, end - i));
    i = end + 1;
  }
  return out;
}

// The libnice program as a child process: its stdin and stdout are pipes to us, its exit is
// watched through a pidfd so every wait stays a poll().
class Child {
 public:
  Child() = default;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  bool spawn(const std::vector<std::string>& args) {
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0) return false;
    if (::pipe2(out, O_CLOEXEC) != 0) {
      ::close(in[0]);
      ::close(in[1]);
      return false;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
    // Only stdin/stdout/stderr: the relay's sockets stay ours.
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const int rc = ::posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(in[0]);
    ::close(out[1]);
    in_ = in[1];
    out_ = out[0];
    if (rc != 0) {
      std::fprintf(stderr, "driver: cannot start %s: %s\n", argv[0], std::strerror(rc));
      pid_ = -1;
      return false;
    }
    pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    return pidfd_ >= 0;
  }

  ~Child() {
    if (pid_ > 0 && !exit_status_) {
      ::kill(pid_, SIGKILL);
      int st = 0;
      ::waitpid(pid_, &st, 0);
    }
    for (int fd : {in_, out_, pidfd_}) {
      if (fd >= 0) ::close(fd);
    }
  }

  bool send_line(const std::string& line) const {
    const std::string l = line + "\n";
    return ::write(in_, l.data(), l.size()) == static_cast<ssize_t>(l.size());
  }

  int out_fd() const { return eof_ ? -1 : out_; }
  int pid_fd() const { return exit_status_ ? -1 : pidfd_; }

  // Reads what is available; complete lines go to `lines`.
  void on_readable(std::vector<std::string>& lines) {
    char buf[4096];
    const ssize_t n = ::read(out_, buf, sizeof buf);
    if (n <= 0) {
      if (n == 0 || errno != EINTR) eof_ = true;
    } else {
      pending_.append(buf, static_cast<std::size_t>(n));
    }
    for (auto nl = pending_.find('\n'); nl != std::string::npos; nl = pending_.find('\n')) {
      lines.push_back(pending_.substr(0, nl));
      pending_.erase(0, nl + 1);
    }
  }

  void on_exited() {
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) exit_status_ = st;
  }
  bool done() const { return eof_ && exit_status_.has_value(); }
  std::optional<int> exit_code() const {
    if (!exit_status_ || !WIFEXITED(*exit_status_)) return std::nullopt;
    return WEXITSTATUS(*exit_status_);
  }
  std::string describe_exit() const {
    if (!exit_status_) return "still running";
    if (WIFEXITED(*exit_status_)) return "exit " + std::to_string(WEXITSTATUS(*exit_status_));
    if (WIFSIGNALED(*exit_status_)) return "signal " + std::to_string(WTERMSIG(*exit_status_));
    return "status " + std::to_string(*exit_status_);
  }

 private:
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1, pidfd_ = -1;
  bool eof_ = false;
  std::optional<int> exit_status_;
  std::string pending_;
};

// What the libnice side told us.
struct NiceSide {
  std::optional<ice::Credentials> credentials;
  std::vector<media::Endpoint> candidates;
  bool gathered = false;
  std::optional<std::string> result;  // the RESULT line
  bool ready = false;                 // component state READY was reported

  void on_line(const std::string& line) {
    std::printf("nice: %s\n", line.c_str());
    const auto w = split(line);
    if (w.empty()) return;
    if (w[0] == "LOCAL" && w.size() == 3) {
      credentials = ice::Credentials{w[1], w[2]};
    } else if (w[0] == "CANDIDATE" && w.size() == 3) {
      auto a = acl::Address::parse(w[1]);
      const int port = std::atoi(w[2].c_str());
      if (a && port > 0 && port < 65536) {
        candidates.push_back(media::Endpoint{*a, static_cast<std::uint16_t>(port)});
      }
    } else if (w[0] == "GATHERED") {
      gathered = true;
    } else if (w[0] == "STATE" && w.size() >= 2) {
      if (w[1] == "ready") ready = true;
    } else if (w[0] == "RESULT") {
      result = line;
    }
  }
};

class Checks {
 public:
  void expect(bool ok, const std::string& what) {
    std::printf("CHECK %s: %s\n", ok ? "ok  " : "FAIL", what.c_str());
    if (!ok) ++failed_;
  }
  int failed() const { return failed_; }

 private:
  int failed_ = 0;
};

bool is_rtp(std::span<const std::byte> d) {
  return media::classify(d) == media::PacketKind::rtp;
}

struct Received {
  std::vector<std::byte> bytes;
  media::Endpoint from;
};

std::optional<Received> receive(int fd) {
  std::vector<std::byte> buf(2048);
  sockaddr_storage ss{};
  socklen_t sl = sizeof ss;
  const auto n =
      ::recvfrom(fd, buf.data(), buf.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&ss), &sl);
  if (n < 0) return std::nullopt;
  auto from = media::Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), sl);
  if (!from) return std::nullopt;
  buf.resize(static_cast<std::size_t>(n));
  return Received{std::move(buf), *from};
}

bool send_to(int fd, const media::Endpoint& to, std::span<const std::byte> bytes) {
  sockaddr_storage ss;
  const socklen_t len = to.to_sockaddr(ss);
  return ::sendto(fd, bytes.data(), bytes.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&ss),
                  len) == static_cast<ssize_t>(bytes.size());
}

std::vector<std::string> nice_args(const Options& o, const ice::Credentials& ours,
                                   const media::Endpoint& at) {
  std::string pwd = ours.pwd;
  if (o.fault == "wrong-password") pwd[0] = pwd[0] == 'A' ? 'B' : 'A';
  return {o.nice, "--remote-ufrag", ours.ufrag, "--remote-pwd", pwd, "--remote-ip",
          at.address.to_string(), "--remote-port", std::to_string(at.port), "--packets",
          std::to_string(o.packets), "--interval-ms", std::to_string(o.interval_ms),
          "--min-percent", std::to_string(o.min_percent), "--nomination", o.nomination,
          // Leaves the driver time for its own checks before its deadline.
          "--timeout-ms", std::to_string(std::max<long long>(1000, o.deadline.count() - 3000))};
}

// The event loop shared by both modes: the child's stdout and exit, plus the mode's own fds.
// `extra` are polled for POLLIN and handed to `on_fd`; `next_timer` may shorten the wait and
// `on_tick` runs after each wake-up. Returns when `stop()` is true or at `until`.
template <class OnFd, class NextTimer, class OnTick, class Stop>
bool run_loop(Child& child, NiceSide& nice, Clock::time_point until, const std::vector<int>& extra,
              OnFd&& on_fd, NextTimer&& next_timer, OnTick&& on_tick, Stop&& stop) {
  while (!stop()) {
    if (Clock::now() >= until) return false;
    std::vector<pollfd> fds;
    fds.push_back({child.out_fd(), POLLIN, 0});
    fds.push_back({child.pid_fd(), POLLIN, 0});
    for (int fd : extra) fds.push_back({fd, POLLIN, 0});
    auto wake = until;
    if (auto t = next_timer(); t && *t < wake) wake = *t;
    const int r = ::poll(fds.data(), fds.size(), left_ms(wake));
    if (r < 0 && errno != EINTR) return false;
    if (r > 0) {
      if (fds[0].revents != 0) {
        std::vector<std::string> lines;
        child.on_readable(lines);
        for (const auto& l : lines) nice.on_line(l);
      }
      if (fds[1].revents != 0) child.on_exited();
      for (std::size_t i = 2; i < fds.size(); ++i) {
        if (fds[i].revents != 0) on_fd(fds[i].fd);
      }
    }
    on_tick();
  }
  return true;
}

void print_event(const media::MediaEvent& e) {
  std::printf("relay: event %s leg %s remote %s %s\n",
              std::string(media::to_string(e.kind)).c_str(),
              e.leg ? std::string(media::to_string(*e.leg)).c_str() : "-",
              e.remote ? e.remote->to_string().c_str() : "-", e.detail.c_str());
}

void print_leg(const char* name, const media::relay::LegStats& s) {
  std::printf(
      "relay: leg %s packets_in %llu packets_out %llu stun_in %llu stun_out %llu rtp_received %u "
      "lost %lld dropped %llu (wrong-source %llu, no-destination %llu, malformed %llu) remote %s\n",
      name, static_cast<unsigned long long>(s.packets_in),
      static_cast<unsigned long long>(s.packets_out), static_cast<unsigned long long>(s.stun_in),
      static_cast<unsigned long long>(s.stun_out), s.rtp_received,
      static_cast<long long>(s.rtp_lost), static_cast<unsigned long long>(s.dropped_total()),
      static_cast<unsigned long long>(s.drops(media::relay::Drop::wrong_source)),
      static_cast<unsigned long long>(s.drops(media::relay::Drop::no_destination)),
      static_cast<unsigned long long>(s.drops(media::relay::Drop::malformed)),
      s.remote_rtp ? s.remote_rtp->to_string().c_str() : "-");
}

// Waits for the libnice side to have gathered (LOCAL, CANDIDATE..., GATHERED).
bool wait_gathered(Child& child, NiceSide& nice, Clock::time_point until) {
  const bool ok = run_loop(
      child, nice, until, {}, [](int) {}, [] { return std::optional<Clock::time_point>{}; }, [] {},
      [&] { return nice.gathered || child.done(); });
  if (!ok || !nice.gathered || !nice.credentials || nice.candidates.empty()) {
    std::fprintf(stderr, "driver: libnice did not report its credentials and candidates (%s)\n",
                 child.describe_exit().c_str());
    return false;
  }
  return true;
}

void check_child(Checks& checks, const Child& child, const NiceSide& nice) {
  checks.expect(nice.ready, "libnice reached component state READY");
  checks.expect(nice.result.has_value() && nice.result->rfind("RESULT pass", 0) == 0,
                "libnice: READY and echoed RTP received >= min-percent (" +
                    nice.result.value_or("no RESULT line") + ")");
  checks.expect(child.exit_code() == 0, "nice_interop " + child.describe_exit());
}

// ---- relay mode -------------------------------------------------------------------------------

std::optional<media::MediaEvent> wait_event(media::relay::Relay& relay, media::EventKind kind,
                                            std::vector<media::MediaEvent>& seen,
                                            Clock::time_point until) {
  for (;;) {
    for (auto& e : relay.drain_events()) {
      print_event(e);
      if (e.kind == kind && e.session == kSession) return std::move(e);
      seen.push_back(std::move(e));
    }
    if (Clock::now() >= until) return std::nullopt;
    relay.wait_events(milliseconds(left_ms(until)));
  }
}

std::optional<media::relay::SessionStats> stats_of(media::relay::Relay& relay,
                                                   std::vector<media::MediaEvent>& seen,
                                                   Clock::time_point until) {
  if (!relay.request_stats(kSession)) return std::nullopt;
  auto e = wait_event(relay, media::EventKind::stats, seen, until);
  if (!e) return std::nullopt;
  return e->stats;
}

int run_relay(const Options& o) {
  const auto until = Clock::now() + o.deadline;
  media::ports::AllocatorConfig ac;
  ac.address = acl::Address::v4(0x7f000001);
  ac.min_port = o.min_port;
  ac.max_port = o.max_port;
  auto allocator = media::ports::PortAllocator::create(ac);
  if (!allocator) {
    std::fprintf(stderr, "driver: port allocator: %s\n", allocator.error().c_str());
    return 2;
  }
  media::relay::Relay relay(media::relay::RelayConfig{1, 32, {}});
  auto lease_a = relay.allocate(*allocator, kSession, media::ports::PortShape::single);
  auto lease_b = relay.allocate(*allocator, kSession, media::ports::PortShape::single);
  if (!lease_a || !lease_b) {
    std::fprintf(stderr, "driver: no port in %u-%u\n", o.min_port, o.max_port);
    return 2;
  }
  auto echo_sock = media::ports::UdpSocket::bind(loopback());
  if (!echo_sock) {
    std::fprintf(stderr, "driver: cannot bind the echo socket: %s\n",
                 std::strerror(echo_sock.error()));
    return 2;
  }
  const media::ports::UdpSocket echo = std::move(*echo_sock);
  const media::Endpoint a_local = lease_a->rtp().local();
  const media::Endpoint b_local = lease_b->rtp().local();
  const auto creds = ice::Credentials::generate();

  media::relay::SessionConfig cfg;
  cfg.id = kSession;
  cfg.a.sockets = std::move(*lease_a);
  cfg.a.rtcp_mux = true;
  cfg.a.ice = std::make_unique<ice::LiteAgent>(ice::AgentConfig{}, creds);
  cfg.b.sockets = std::move(*lease_b);
  cfg.b.rtcp_mux = true;
  cfg.b.remote_rtp = echo.local();
  if (auto r = relay.create(std::move(cfg)); !r) {
    std::fprintf(stderr, "driver: create: %s\n", r.error().c_str());
    return 2;
  }
  std::vector<media::MediaEvent> seen;
  if (!wait_event(relay, media::EventKind::session_started, seen, until)) {
    std::fprintf(stderr, "driver: the session did not start\n");
    return 2;
  }
  std::printf("relay: leg A %s (ICE-lite ufrag %s pwd %s), leg B %s, echo %s\n",
              a_local.to_string().c_str(), creds.ufrag.c_str(), creds.pwd.c_str(),
              b_local.to_string().c_str(), echo.local().to_string().c_str());

  Child child;
  NiceSide nice;
  if (!child.spawn(nice_args(o, creds, a_local))) return 2;
  if (!wait_gathered(child, nice, until)) return 2;

  // The answer's ICE attributes reach the lite agent through the relay, as a re-INVITE would.
  media::relay::LegUpdate u;
  u.ice_remote = media::relay::IceRemote{*nice.credentials, nice.candidates};
  if (!relay.update(kSession, media::Leg::a, std::move(u))) return 2;
  // Commands run in order on the worker: the stats reply means the update is in place.
  if (!stats_of(relay, seen, until)) return 2;
  if (!child.send_line("START")) return 2;

  std::uint64_t echoed = 0, echo_foreign = 0;
  run_loop(
      child, nice, until, {echo.fd(), relay.event_fd()},
      [&](int fd) {
        if (fd == echo.fd()) {
          // Leg B's far end: send every packet straight back to where it came from.
          while (auto d = receive(echo.fd())) {
            if (d->from != b_local || !is_rtp(d->bytes)) {
              ++echo_foreign;
              continue;
            }
            if (o.fault != "drop-echo" && send_to(echo.fd(), d->from, d->bytes)) ++echoed;
          }
        } else {
          for (auto& e : relay.drain_events()) {
            print_event(e);
            seen.push_back(std::move(e));
          }
        }
      },
      [] { return std::optional<Clock::time_point>{}; }, [] {}, [&] { return child.done(); });

  const auto stats = stats_of(relay, seen, until + 2s);
  Checks checks;
  check_child(checks, child, nice);
  const media::Endpoint nice_cand = nice.candidates.front();
  std::optional<media::MediaEvent> connected;
  int connected_count = 0;
  for (const auto& e : seen) {
    if (e.kind == media::EventKind::ice_connected && e.session == kSession) {
      ++connected_count;
      if (!connected) connected = e;
    }
    if (e.kind == media::EventKind::consent_lost || e.kind == media::EventKind::media_timeout) {
      checks.expect(false, "unexpected event " + std::string(media::to_string(e.kind)));
    }
  }
  checks.expect(connected.has_value() && connected->leg == media::Leg::a,
                "relay reported ice_connected on leg A");
  checks.expect(connected_count == 1,
                "ice_connected reported once (" + std::to_string(connected_count) + ")");
  checks.expect(connected && connected->remote == nice_cand,
                "ice_connected names libnice's candidate " + nice_cand.to_string() + " (got " +
                    (connected && connected->remote ? connected->remote->to_string() : "-") + ")");
  const auto min =
      static_cast<std::uint64_t>(o.packets) * static_cast<std::uint64_t>(o.min_percent);
  checks.expect(echoed * 100 >= min, "echo socket got and returned " + std::to_string(echoed) +
                                         " of " + std::to_string(o.packets) + " RTP packets");
  checks.expect(echo_foreign == 0, "nothing but leg B's RTP reached the echo socket (" +
                                       std::to_string(echo_foreign) + " other)");
  checks.expect(stats.has_value(), "relay stats snapshot");
  if (stats) {
    print_leg("A", stats->legs[0]);
    print_leg("B", stats->legs[1]);
    const auto& a = stats->legs[0];
    const auto& b = stats->legs[1];
    checks.expect(a.stun_in > 0 && a.stun_out > 0, "leg A exchanged STUN with libnice");
    checks.expect(a.remote_rtp == nice_cand, "leg A's media path is libnice's candidate");
    checks.expect(a.packets_in * 100 >= min, "leg A forwarded libnice's RTP towards leg B (" +
                                                 std::to_string(a.packets_in) + ")");
    checks.expect(b.packets_in * 100 >= min, "leg B forwarded the echoes towards leg A (" +
                                                 std::to_string(b.packets_in) + ")");
    checks.expect(a.packets_out * 100 >= min,
                  "leg A sent the echoes to libnice (" + std::to_string(a.packets_out) + ")");
    checks.expect(a.drops(media::relay::Drop::wrong_source) == 0 &&
                      a.drops(media::relay::Drop::malformed) == 0,
                  "leg A dropped no media as wrong-source or malformed");
  }
  if (relay.destroy(kSession))
    wait_event(relay, media::EventKind::session_closed, seen, until + 3s);
  return checks.failed() == 0 ? 0 : 1;
}

// ---- agent mode -------------------------------------------------------------------------------

int run_agent(const Options& o) {
  const auto until = Clock::now() + o.deadline;
  auto bound = media::ports::UdpSocket::bind(loopback());
  if (!bound) {
    std::fprintf(stderr, "driver: cannot bind: %s\n", std::strerror(bound.error()));
    return 2;
  }
  const media::ports::UdpSocket sock = std::move(*bound);
  const auto creds = ice::Credentials::generate();
  ice::LiteAgent agent(ice::AgentConfig{}, creds);
  std::printf("agent: ICE-lite at %s ufrag %s pwd %s\n", sock.local().to_string().c_str(),
              creds.ufrag.c_str(), creds.pwd.c_str());

  ice::Output out;
  std::vector<ice::Event> events;
  std::uint64_t send_failures = 0;
  const auto flush = [&] {
    for (const auto& t : out.transmits) {
      if (!send_to(sock.fd(), t.to, t.bytes)) ++send_failures;
    }
    for (auto& e : out.events) {
      std::printf("agent: event %s %s %s\n", std::string(ice::to_string(e.kind)).c_str(),
                  e.remote.to_string().c_str(), e.detail.c_str());
      events.push_back(std::move(e));
    }
    out.transmits.clear();
    out.events.clear();
  };

  Child child;
  NiceSide nice;
  if (!child.spawn(nice_args(o, creds, sock.local()))) return 2;
  if (!wait_gathered(child, nice, until)) return 2;
  agent.set_remote(*nice.credentials, nice.candidates, Clock::now(), out);
  flush();
  if (!child.send_line("START")) return 2;

  std::uint64_t echoed = 0, media_wrong_source = 0, other = 0;
  run_loop(
      child, nice, until, {sock.fd()},
      [&](int) {
        while (auto d = receive(sock.fd())) {
          const auto kind = media::classify(d->bytes);
          if (kind == media::PacketKind::stun) {
            agent.on_stun(d->bytes, d->from, Clock::now(), out);
            flush();
          } else if (kind == media::PacketKind::rtp || kind == media::PacketKind::rtcp) {
            // Media is accepted from the selected pair only (behaviour.md §5), then echoed.
            if (agent.selected() != d->from) {
              ++media_wrong_source;
            } else if (send_to(sock.fd(), d->from, d->bytes)) {
              ++echoed;
            }
          } else {
            ++other;
          }
        }
      },
      [&] { return agent.next_timer(); },
      [&] {
        if (auto t = agent.next_timer(); t && *t <= Clock::now()) {
          agent.on_timer(Clock::now(), out);
          flush();
        }
      },
      [&] { return child.done(); });

  const auto& s = agent.stats();
  std::printf("agent: %s\n", ice::summary(s).c_str());
  std::printf(
      "agent: checks_answered %llu nominations %llu nominated %d role_conflicts %llu "
      "ignored %llu punches_sent %llu punches_answered %llu echoed %llu wrong_source %llu\n",
      static_cast<unsigned long long>(s.checks_answered),
      static_cast<unsigned long long>(s.nominations), s.nominated ? 1 : 0,
      static_cast<unsigned long long>(s.role_conflicts), static_cast<unsigned long long>(s.ignored),
      static_cast<unsigned long long>(s.punches_sent),
      static_cast<unsigned long long>(s.punches_answered), static_cast<unsigned long long>(echoed),
      static_cast<unsigned long long>(media_wrong_source));

  Checks checks;
  check_child(checks, child, nice);
  const media::Endpoint nice_cand = nice.candidates.front();
  checks.expect(s.checks_answered > 0, "the lite agent answered libnice's checks");
  checks.expect(s.nominations > 0, "libnice's USE-CANDIDATE reached the agent (" +
                                       std::to_string(s.nominations) + " nominating checks)");
  checks.expect(s.nominated, "AgentStats::nominated == true");
  checks.expect(s.selected == nice_cand,
                "selected pair is libnice's candidate " + nice_cand.to_string());
  checks.expect(s.bad_integrity == 0 && s.bad_username == 0 && s.bad_request == 0 &&
                    s.unknown_attributes == 0 && s.malformed == 0,
                "no check from libnice was refused or dropped");
  checks.expect(s.role_conflicts == 0, "libnice took the controlling role: no role conflict");
  checks.expect(s.punches_sent > 0 && s.punches_answered > 0,
                "libnice answered the pin-hole request");
  checks.expect(!agent.consent_lost(), "consent not lost");
  int connected = 0;
  for (const auto& e : events) connected += e.kind == ice::EventKind::connected ? 1 : 0;
  checks.expect(connected == 1,
                "agent reported connected once (" + std::to_string(connected) + ")");
  const auto min =
      static_cast<std::uint64_t>(o.packets) * static_cast<std::uint64_t>(o.min_percent);
  checks.expect(echoed * 100 >= min, "echoed " + std::to_string(echoed) + " of " +
                                         std::to_string(o.packets) + " RTP packets");
  checks.expect(media_wrong_source == 0 && send_failures == 0,
                "no media from another address, no send failure");
  return checks.failed() == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  ::signal(SIGPIPE, SIG_IGN);  // a dead child shows as a failed write, not a dead driver
  const Options o = parse_args(argc, argv);
  std::printf("driver: mode %s, nomination %s, %d packets every %d ms%s%s\n", o.mode.c_str(),
              o.nomination.c_str(), o.packets, o.interval_ms, o.fault.empty() ? "" : ", fault ",
              o.fault.c_str());
  const int rc = o.mode == "relay" ? run_relay(o) : run_agent(o);
  std::printf("driver: %s\n", rc == 0 ? "PASS" : rc == 1 ? "FAIL" : "ERROR");
  return rc;
}
