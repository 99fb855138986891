// bench_relay: what forwarding RTP through icegate's relay costs, against the floor of this
// machine measured in the same run (a minimal recvmmsg/sendmmsg forwarder, floor_forwarder.hpp).
//
// Scenarios: N concurrent sessions (default 1, 100, 1000) at 50 packets/s per direction with
// 172-byte RTP packets; a flood (as fast as the generator can send); ICE Binding round trips.
// Each scenario runs the floor, the plain relay, the plain relay with latching on both legs
// ("relay-latch": the SDP addresses are wrong, as for phones behind NAT; one packet per leg
// latches each leg before the measured traffic, so its figures are the per-packet cost after
// the first) and SRTP<->RTP relays (leg A SRTP with fixed test keys, AES_CM_128_HMAC_SHA1_80
// and AEAD_AES_128_GCM; leg B plain RTP): the generator protects what it sends to leg A and
// checks what comes back (on the load CPU, not counted).
// Reports forwarded packets/s, loss, CPU seconds of the forwarding threads per million packets
// (CLOCK_THREAD_CPUTIME_ID of the worker threads), one-way latency, and the relay's memory per
// session (heap, excluding kernel socket buffers; reads 0 under ASan, whose allocator mallinfo2
// does not see: take figures from a Release build). Loopback only; JSON on stdout. With two or
// more CPUs the forwarder under test runs on the last one, the load on CPU 0.
//
// Usage: bench_relay [--sessions 1,100,1000] [--seconds 2] [--flood-sessions 100]
//                    [--flood-seconds 2] [--workers 1] [--repeat 3] [--no-flood] [--no-ice]
//                    [--no-srtp] [--no-latch] [--no-datapath]
//
// --no-datapath skips the in-memory per-packet measurement of Session::on_datagram (plain vs.
// latched leg vs. payload types mapped between the legs, 1 M packets per run), which resolves
// differences the socket runs cannot.
//
// The machine is shared and its load moves while the benchmark runs, so every scenario is run
// `repeat` times with floor and relay interleaved; the summary gives medians and the spread.
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/utsname.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "floor_forwarder.hpp"
#include "media/ice/agent.hpp"
#include "media/ports/port_allocator.hpp"
#include "media/relay/relay.hpp"
#include "media/srtp/session.hpp"
#include "media/srtp/transform.hpp"
#include "media/stun/builder.hpp"
#include "media/stun/integrity.hpp"
#include "media/stun/message.hpp"
#include "traffic.hpp"

namespace icegate::bench {
namespace {

using namespace std::chrono_literals;
using media::Endpoint;
using media::EventKind;
namespace relay = media::relay;
namespace ports = media::ports;

const acl::Address kRelayAddr = acl::Address::v4(0x7f4d0001);  // 127.77.0.1
const acl::Address kFloorAddr = acl::Address::v4(0x7f4d0002);
const acl::Address kPeerAddr = acl::Address::v4(0x7f4d0003);

struct Options {
  std::vector<unsigned> sessions{1, 100, 1000};
  double seconds = 2.0;
  unsigned repeat = 3;
  unsigned flood_sessions = 100;
  double flood_seconds = 2.0;
  unsigned workers = 1;
  bool flood = true;
  bool ice = true;
  bool datapath = true;
  bool srtp = true;
  bool latch = true;
};

struct Row {
  std::string mode, impl;
  unsigned sessions = 0;
  TrafficResult traffic;
  double cpu_s = 0;
  std::map<std::string, std::uint64_t> drops;
  double bytes_per_session = 0;
  unsigned latched_legs = 0;  // relay-latch: legs that reported a latched source
};

double seconds_of(std::chrono::nanoseconds d) {
  return static_cast<double>(d.count()) / 1e9;
}

// Threads inherit the affinity of the thread that creates them: the forwarder under test (relay
// worker or floor) is created while pinned to the last CPU, the load generator and receiver
// after pinning back to CPU 0. Both forwarders then run under the same conditions.
void pin_self(unsigned cpu) {
  const unsigned n = std::thread::hardware_concurrency();
  if (n < 2) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(std::min(cpu, n - 1), &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}
constexpr unsigned kForwarderCpu = 1000;  // clamped to the last CPU
constexpr unsigned kLoadCpu = 0;

// Fixed SRTP test keys: `dir` 1 = peer A -> relay (leg A inbound), 2 = relay -> peer A.
media::srtp::SrtpKey test_key(media::srtp::SrtpProfile p, std::uint8_t dir) {
  const auto& i = media::srtp::info(p);
  std::vector<std::uint8_t> m(i.key_len + i.salt_len);
  for (std::size_t k = 0; k < m.size(); ++k) m[k] = static_cast<std::uint8_t>(dir * 97 + k * 13);
  return media::srtp::SrtpKey::from_master(p, m).value();
}

// One relay configuration under test.
struct Impl {
  std::string name;
  std::optional<media::srtp::SrtpProfile> srtp;  // leg A SRTP with fixed keys
  bool latch = false;                            // both legs latching, wrong SDP addresses
};

Impl plain_impl() {
  return {"relay", std::nullopt, false};
}
Impl latch_impl() {
  return {"relay-latch", std::nullopt, true};
}
Impl srtp_impl(media::srtp::SrtpProfile p) {
  return {p == media::srtp::SrtpProfile::aead_aes_128_gcm ? "srtp-gcm" : "srtp-cm80", p, false};
}

// Where a latching leg's SDP points: an address nothing listens on (a phone's private address
// seen from icegate). Only the priming packets can go there.
const Endpoint kWrongSdp{kPeerAddr, 9};

// The relay under test, with `n` sessions whose legs are muxed ports from the allocator; with
// `impl.srtp`, leg A of every session is SRTP (fixed keys) and leg B plain RTP; with
// `impl.latch`, both legs latch (PCMU, the type the generator sends) and are primed.
class RelayUnderTest {
 public:
  RelayUnderTest(unsigned n, const Peers& peers, unsigned workers, const Impl& impl)
      : relay_(relay::RelayConfig{workers, 32, {}}), alloc_(make_allocator()) {
    const std::optional<media::srtp::SrtpProfile> srtp = impl.srtp;
    const auto before = mallinfo2().uordblks;
    for (unsigned i = 0; i < n; ++i) {
      relay::SessionConfig cfg;
      cfg.id = i + 1;
      cfg.media_timeout = 0ms;
      for (auto* leg : {&cfg.a, &cfg.b}) {
        auto lease = relay_.allocate(alloc_, cfg.id, ports::PortShape::single);
        if (!lease) throw std::runtime_error(lease.error().detail);
        (leg == &cfg.a ? a_in_ : b_in_).push_back(lease->rtp().local());
        leg->sockets = std::move(*lease);
        leg->rtcp_mux = true;
        leg->remote_rtp = leg == &cfg.a ? peers.a.local() : peers.b.local();
        if (impl.latch) {
          leg->latching = true;
          leg->payload_types = {0, 101};
          leg->remote_rtp = kWrongSdp;
        }
      }
      if (srtp) {
        cfg.a.srtp =
            media::srtp::SrtpTransform::create(test_key(*srtp, 2), test_key(*srtp, 1)).value();
      }
      if (!relay_.create(std::move(cfg))) throw std::runtime_error("create failed");
    }
    unsigned started = 0;
    while (started < n) {
      relay_.wait_events(1s);
      for (const auto& e : relay_.drain_events()) {
        if (e.kind == EventKind::session_started) ++started;
        if (e.kind == EventKind::session_failed) throw std::runtime_error(e.detail);
      }
    }
    bytes_per_session_ = static_cast<double>(mallinfo2().uordblks - before) / n;
    if (impl.latch) prime(peers);
  }

  const std::vector<Endpoint>& a_in() const { return a_in_; }
  const std::vector<Endpoint>& b_in() const { return b_in_; }
  double bytes_per_session() const { return bytes_per_session_; }
  std::chrono::nanoseconds cpu() const {
    std::chrono::nanoseconds t{};
    for (auto c : relay_.worker_cpu_times()) t += c;
    return t;
  }
  unsigned latched_legs() const { return latched_legs_; }
  std::map<std::string, std::uint64_t> drops() {
    std::map<std::string, std::uint64_t> out;
    for_each_stats([&](const relay::SessionStats& st) {
      for (const auto& leg : st.legs) {
        for (std::size_t d = 0; d < relay::kDropReasons; ++d) {
          if (leg.dropped[d] != 0) {
            out[std::string(relay::to_string(static_cast<relay::Drop>(d)))] += leg.dropped[d];
          }
        }
      }
    });
    return out;
  }

 private:
  // Calls `f` with the stats of every session (within 10 s).
  template <class F>
  void for_each_stats(F&& f) {
    const auto n = static_cast<unsigned>(a_in_.size());
    for (unsigned i = 1; i <= n; ++i) relay_.request_stats(i);
    unsigned got = 0;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (got < n && std::chrono::steady_clock::now() < deadline) {
      relay_.wait_events(1s);
      for (const auto& e : relay_.drain_events()) {
        if (e.kind != EventKind::stats || !e.stats) continue;
        ++got;
        f(*e.stats);
      }
    }
  }

  // Latches every leg with one RTP packet from its peer, checks that they all latched, and
  // empties the peers' sockets of what the relay forwarded meanwhile. The relay answers a
  // stats request after the datagrams before it were forwarded, and loopback delivery is
  // immediate, so nothing of the priming is still in flight after the check.
  void prime(const Peers& peers) {
    std::byte pkt[172] = {};
    pkt[0] = std::byte{0x80};  // RTP version 2, payload type 0 (PCMU)
    auto send = [&](const ports::UdpSocket& from, const Endpoint& to) {
      sockaddr_storage ss;
      const socklen_t len = to.to_sockaddr(ss);
      ::sendto(from.fd(), pkt, sizeof pkt, 0, reinterpret_cast<const sockaddr*>(&ss), len);
    };
    for (std::size_t i = 0; i < a_in_.size(); ++i) {
      send(peers.a, a_in_[i]);
      send(peers.b, b_in_[i]);
    }
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (latched_legs_ < 2 * a_in_.size() && std::chrono::steady_clock::now() < deadline) {
      latched_legs_ = 0;
      for_each_stats([&](const relay::SessionStats& st) {
        for (const auto& leg : st.legs) latched_legs_ += leg.latched ? 1 : 0;
      });
    }
    if (latched_legs_ < 2 * a_in_.size()) throw std::runtime_error("latching: legs not latched");
    std::byte sink[2048];
    for (const auto* p : {&peers.a, &peers.b}) {
      while (::recv(p->fd(), sink, sizeof sink, MSG_DONTWAIT) > 0) {
      }
    }
  }

  static ports::PortAllocator make_allocator() {
    ports::AllocatorConfig c;
    c.address = kRelayAddr;
    c.min_port = 40000;
    c.max_port = 47999;
    c.quarantine = 0ms;
    return std::move(ports::PortAllocator::create(c).value());
  }

  relay::Relay relay_;
  ports::PortAllocator alloc_;
  std::vector<Endpoint> a_in_, b_in_;
  double bytes_per_session_ = 0;
  unsigned latched_legs_ = 0;
};

Row run_floor(unsigned n, const std::string& mode, double seconds, bool flood) {
  const Peers peers = Peers::make(kPeerAddr);
  pin_self(kForwarderCpu);
  FloorForwarder f(n, kFloorAddr, peers.a.local(), peers.b.local());
  pin_self(kLoadCpu);
  const auto cpu0 = f.cpu_time();
  Row r{mode, "floor", n, run_traffic(peers, {f.a_in(), f.b_in(), 50, 172, seconds, flood, {}, {}}),
        0,    {},      0, 0};
  r.cpu_s = seconds_of(f.cpu_time() - cpu0);
  return r;
}

Row run_relay(unsigned n, const std::string& mode, double seconds, bool flood, unsigned workers,
              const Impl& impl) {
  const Peers peers = Peers::make(kPeerAddr);
  pin_self(kForwarderCpu);
  RelayUnderTest rut(n, peers, workers, impl);
  const std::optional<media::srtp::SrtpProfile> srtp = impl.srtp;
  pin_self(kLoadCpu);
  TrafficConfig tc{rut.a_in(), rut.b_in(), 50, 172, seconds, flood, {}, {}};
  if (srtp) {
    // The peer's side of leg A: one context per direction serves every session's SSRC.
    auto tx = std::make_shared<media::srtp::SrtpSender>(
        media::srtp::SrtpSender::create(test_key(*srtp, 1)).value());
    auto rx = std::make_shared<media::srtp::SrtpReceiver>(
        media::srtp::SrtpReceiver::create(test_key(*srtp, 2)).value());
    tc.protect_a = [tx](std::span<std::byte> b, std::size_t len) -> std::size_t {
      auto r = tx->protect_rtp(b, len);
      return r ? *r : len;
    };
    tc.unprotect_a = [rx](std::span<std::byte> b, std::size_t len) -> std::size_t {
      auto r = rx->unprotect_rtp(b, len);
      return r ? *r : 0;
    };
  }
  const auto cpu0 = rut.cpu();
  Row r{mode, impl.name, n, run_traffic(peers, tc), 0, {}, 0, rut.latched_legs()};
  r.cpu_s = seconds_of(rut.cpu() - cpu0);
  r.drops = rut.drops();
  r.bytes_per_session = rut.bytes_per_session();
  return r;
}

// --- ICE: Binding request -> response round trip through a relay leg vs. an echo via the floor.

const media::ice::Credentials kLocal{"benchufr", "benchpasswordbenchpassword"};
const media::ice::Credentials kPeer{"peerufrg", "peerpasswordpeerpassword"};

std::vector<std::byte> check_request(std::uint32_t n) {
  media::stun::TransactionId t{};
  std::memcpy(t.data(), &n, sizeof n);
  media::stun::MessageBuilder b({media::stun::method::binding, media::stun::MessageClass::request},
                                t);
  b.add_text(media::stun::attr::username, kLocal.ufrag + ":" + kPeer.ufrag);
  b.add_u32(media::stun::attr::priority, 0x6e0001ff);
  b.add_u64(media::stun::attr::ice_controlling, 7);
  b.add_message_integrity(media::stun::short_term_key(kLocal.pwd));
  b.add_fingerprint();
  return std::move(b).finish();
}

double round_trip_us(const ports::UdpSocket& peer, const Endpoint& to,
                     std::span<const std::byte> msg) {
  sockaddr_storage ss;
  const socklen_t len = to.to_sockaddr(ss);
  std::byte buf[2048];
  const auto t0 = std::chrono::steady_clock::now();
  if (::sendto(peer.fd(), msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&ss), len) < 0)
    return -1;
  for (;;) {
    const auto n = ::recv(peer.fd(), buf, sizeof buf, 0);  // blocking socket
    if (n < 0) return -1;
    // Same transaction id (or same bytes for the echo): this is our answer.
    if (n >= 20 && std::memcmp(buf + 8, msg.data() + 8, 12) == 0) break;
  }
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
}

struct IceResult {
  double relay_p50 = 0, relay_p99 = 0, floor_p50 = 0, floor_p99 = 0;
  unsigned samples = 0;
};

IceResult run_ice(unsigned samples) {
  IceResult out;
  out.samples = samples;
  std::vector<std::vector<std::byte>> checks;
  for (unsigned i = 0; i < samples; ++i) checks.push_back(check_request(i + 1));
  std::vector<std::uint32_t> rtt;
  {
    const Peers peers = Peers::make(kPeerAddr);
    relay::Relay r(relay::RelayConfig{1, 32, {}});
    relay::SessionConfig cfg;
    cfg.id = 1;
    auto sa = ports::UdpSocket::bind(Endpoint{kRelayAddr, 0}).value();
    const Endpoint a_local = sa.local();
    cfg.a.sockets = ports::PortLease::adopt(std::move(sa));
    cfg.a.rtcp_mux = true;
    media::ice::AgentConfig ac;
    ac.punch_attempts = 0;
    cfg.a.ice = std::make_unique<media::ice::LiteAgent>(ac, kLocal);
    cfg.a.ice_remote = relay::IceRemote{kPeer, {peers.a.local()}};
    cfg.b.sockets =
        ports::PortLease::adopt(ports::UdpSocket::bind(Endpoint{kRelayAddr, 0}).value());
    cfg.b.rtcp_mux = true;
    cfg.b.remote_rtp = peers.b.local();
    if (!r.create(std::move(cfg))) throw std::runtime_error("ice session");
    for (const auto& c : checks) {
      const double us = round_trip_us(peers.a, a_local, c);
      if (us >= 0) rtt.push_back(static_cast<std::uint32_t>(us * 1000));
    }
    out.relay_p50 = percentile(rtt, 0.5);
    out.relay_p99 = percentile(rtt, 0.99);
  }
  rtt.clear();
  {
    const Peers peers = Peers::make(kPeerAddr);
    FloorForwarder f(1, kFloorAddr, peers.a.local(), peers.a.local());
    for (const auto& c : checks) {
      const double us = round_trip_us(peers.a, f.a_in()[0], c);
      if (us >= 0) rtt.push_back(static_cast<std::uint32_t>(us * 1000));
    }
    out.floor_p50 = percentile(rtt, 0.5);
    out.floor_p99 = percentile(rtt, 0.99);
  }
  return out;
}

// --- The per-packet path alone: Session::on_datagram in memory (no sockets, no threads), leg A
// plain and signalled vs. leg A latching (latched by its first packet, which is not counted).
// What the socket runs above cannot resolve (their noise is +-10 % on this machine) shows here.

// `mapped`: the legs number the codec differently (issue 11: leg A sends PCMU as payload type 0,
// leg B declared it as 8 in this made-up plan), so every packet has its payload type rewritten
// on the way, and leg A knows its clock per payload type.
double datapath_ns(bool latch, unsigned packets, bool mapped = false) {
  relay::SessionConfig cfg;
  cfg.id = 1;
  cfg.media_timeout = 0ms;
  const Endpoint phone{kPeerAddr, 5000};
  for (auto* leg : {&cfg.a, &cfg.b}) {
    leg->sockets = ports::PortLease::adopt(ports::UdpSocket::bind(Endpoint{kRelayAddr, 0}).value());
    leg->rtcp_mux = true;
    leg->remote_rtp = leg == &cfg.a ? phone : Endpoint{kPeerAddr, 5002};
  }
  if (latch) {
    cfg.a.latching = true;
    cfg.a.payload_types = {0, 101};
    cfg.a.remote_rtp = kWrongSdp;
  }
  if (mapped) {
    cfg.a.payloads.formats = {{0, 8000, false}, {101, 8000, true}};
    cfg.b.payloads.formats = {{8, 8000, false}, {126, 8000, true}};
    cfg.b.payloads.rewrite = {{0, 8}, {101, 126}};
  }
  auto now = std::chrono::steady_clock::now();
  auto made = relay::Session::create(std::move(cfg), now);
  if (!made) throw std::runtime_error("datapath session: " + made.error());
  auto session = std::move(made).value();
  relay::Session::SocketTag tag{};
  session->for_each_socket([&](relay::Session::SocketTag& t) {
    if (t.leg == 0) tag = t;
  });
  sockaddr_storage from;
  const socklen_t from_len = phone.to_sockaddr(from);
  std::vector<std::byte> pkt(172, std::byte{0xd5});
  pkt[0] = std::byte{0x80};
  pkt[1] = std::byte{0};
  std::vector<std::byte> buf(2048);
  std::vector<media::MediaEvent> events;
  std::size_t sink = 0;
  auto one = [&](std::uint32_t i) {
    pkt[2] = static_cast<std::byte>(i >> 8);
    pkt[3] = static_cast<std::byte>(i);
    std::memcpy(buf.data(), pkt.data(), pkt.size());
    relay::Outgoing out;
    now += 20us;
    if (session->on_datagram(tag, buf, pkt.size(), from, from_len, now, out, events)) {
      sink += out.len;
    }
  };
  one(0);  // latches when latching is on
  const auto t0 = std::chrono::steady_clock::now();
  for (std::uint32_t i = 1; i <= packets; ++i) one(i);
  const auto t1 = std::chrono::steady_clock::now();
  const auto st = session->stats().legs[0];
  if (st.packets_in != packets + 1u || sink == 0 || (latch && !st.latched)) {
    throw std::runtime_error("datapath: packets were dropped");
  }
  return std::chrono::duration<double, std::nano>(t1 - t0).count() / packets;
}

struct DatapathResult {
  std::vector<double> plain, latch, mapped;
  unsigned packets = 0;
};

DatapathResult run_datapath(unsigned packets, unsigned repeat) {
  DatapathResult r;
  r.packets = packets;
  pin_self(kForwarderCpu);
  for (unsigned i = 0; i < repeat; ++i) {  // interleaved, like the socket runs
    r.plain.push_back(datapath_ns(false, packets));
    r.latch.push_back(datapath_ns(true, packets));
    r.mapped.push_back(datapath_ns(false, packets, true));
  }
  pin_self(kLoadCpu);
  return r;
}

// --- output

std::string machine_json() {
  std::string model = "unknown";
  std::ifstream cpu("/proc/cpuinfo");
  for (std::string line; std::getline(cpu, line);) {
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  }
  utsname u{};
  ::uname(&u);
  std::ostringstream o;
  o << "{\"cpu\": \"" << model << "\", \"cores\": " << std::thread::hardware_concurrency()
    << ", \"kernel\": \"" << u.release << "\"}";
  return o.str();
}

void print_row(std::ostringstream& o, const Row& r) {
  const auto& t = r.traffic;
  const double lost =
      t.sent > 0 ? static_cast<double>(t.sent - std::min(t.sent, t.received)) / t.sent : 0;
  const double mpkt = static_cast<double>(t.received) / 1e6;
  o << "    {\"mode\": \"" << r.mode << "\", \"impl\": \"" << r.impl
    << "\", \"sessions\": " << r.sessions << ", \"sent\": " << t.sent
    << ", \"forwarded\": " << t.received << ", \"loss\": " << lost << ", \"offered_pps\": "
    << (t.send_seconds > 0 ? static_cast<double>(t.sent) / t.send_seconds : 0)
    << ", \"forwarded_pps\": " << (t.seconds > 0 ? static_cast<double>(t.received) / t.seconds : 0)
    << ", \"cpu_s\": " << r.cpu_s << ", \"cpu_s_per_mpkt\": " << (mpkt > 0 ? r.cpu_s / mpkt : 0)
    << ", \"latency_p50_us\": " << t.latency_p50_us << ", \"latency_p99_us\": " << t.latency_p99_us;
  if (r.impl != "floor") {
    o << ", \"heap_bytes_per_session\": " << r.bytes_per_session << ", \"drops\": {";
    bool first = true;
    for (const auto& [k, v] : r.drops) {
      o << (first ? "" : ", ") << "\"" << k << "\": " << v;
      first = false;
    }
    o << "}";
    if (r.impl == "relay-latch") o << ", \"latched_legs\": " << r.latched_legs;
  }
  o << "}";
}

std::vector<unsigned> parse_list(const char* s) {
  std::vector<unsigned> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');)
    out.push_back(static_cast<unsigned>(std::stoul(item)));
  return out;
}

}  // namespace
}  // namespace icegate::bench

int main(int argc, char** argv) {
  using namespace icegate::bench;
  // One heap arena, so mallinfo2() sees what the worker threads allocate for their sessions.
  mallopt(M_ARENA_MAX, 1);
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  nofile.rlim_cur = nofile.rlim_max;
  setrlimit(RLIMIT_NOFILE, &nofile);

  Options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : "0"; };
    if (a == "--sessions")
      opt.sessions = parse_list(next());
    else if (a == "--seconds")
      opt.seconds = std::stod(next());
    else if (a == "--flood-sessions")
      opt.flood_sessions = static_cast<unsigned>(std::stoul(next()));
    else if (a == "--flood-seconds")
      opt.flood_seconds = std::stod(next());
    else if (a == "--workers")
      opt.workers = static_cast<unsigned>(std::stoul(next()));
    else if (a == "--repeat")
      opt.repeat = std::max(1u, static_cast<unsigned>(std::stoul(next())));
    else if (a == "--no-flood")
      opt.flood = false;
    else if (a == "--no-ice")
      opt.ice = false;
    else if (a == "--no-datapath")
      opt.datapath = false;
    else if (a == "--no-srtp")
      opt.srtp = false;
    else if (a == "--no-latch")
      opt.latch = false;
    else {
      std::fprintf(stderr,
                   "usage: bench_relay [--sessions 1,100,1000] [--seconds 3] "
                   "[--flood-sessions 100] [--flood-seconds 2] [--workers 1] [--repeat 3] "
                   "[--no-flood] [--no-ice] [--no-srtp] [--no-latch] [--no-datapath]\n");
      return 2;
    }
  }

  // Per scenario and repetition: floor, plain relay, latching relay, then the SRTP relays,
  // interleaved.
  std::vector<Impl> relays{plain_impl()};
  if (opt.latch) relays.push_back(latch_impl());
  if (opt.srtp) {
    relays.push_back(srtp_impl(icegate::media::srtp::SrtpProfile::aes_cm_128_hmac_sha1_80));
    relays.push_back(srtp_impl(icegate::media::srtp::SrtpProfile::aead_aes_128_gcm));
  }
  const std::size_t per_rep = 1 + relays.size();
  std::vector<Row> rows;  // scenario-major, then repetition, then implementation
  struct Scenario {
    std::string mode;
    unsigned sessions;
    double seconds;
    bool flood;
  };
  std::vector<Scenario> scenarios;
  for (unsigned n : opt.sessions) scenarios.push_back({"paced", n, opt.seconds, false});
  if (opt.flood) scenarios.push_back({"flood", opt.flood_sessions, opt.flood_seconds, true});
  try {
    for (const auto& sc : scenarios) {
      for (unsigned r = 0; r < opt.repeat; ++r) {
        rows.push_back(run_floor(sc.sessions, sc.mode, sc.seconds, sc.flood));
        for (const auto& p : relays) {
          rows.push_back(run_relay(sc.sessions, sc.mode, sc.seconds, sc.flood, opt.workers, p));
        }
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_relay: %s\n", e.what());
    return 1;
  }

  std::ostringstream o;
  o << "{\n  \"benchmark\": \"bench_relay\",\n  \"machine\": " << machine_json()
    << ",\n  \"config\": {\"packet_bytes\": 172, \"rate_per_direction\": 50, \"seconds\": "
    << opt.seconds << ", \"flood_seconds\": " << opt.flood_seconds
    << ", \"workers\": " << opt.workers << ", \"repeat\": " << opt.repeat << "},\n"
    << "  \"session_object_bytes\": " << sizeof(icegate::media::relay::Session)
    << ",\n  \"runs\": [\n";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    print_row(o, rows[i]);
    o << (i + 1 < rows.size() ? ",\n" : "\n");
  }
  o << "  ],\n  \"summary\": [\n";
  const auto per_mpkt = [](const Row& r) {
    return r.traffic.received ? r.cpu_s * 1e6 / static_cast<double>(r.traffic.received) : 0.0;
  };
  const auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
  };
  bool first_line = true;
  for (std::size_t s = 0; s < scenarios.size(); ++s) {
    const auto loss = [](const TrafficResult& t) {
      return t.sent > 0 ? static_cast<double>(t.sent - std::min(t.sent, t.received)) / t.sent : 0.0;
    };
    const auto fwd_pps = [](const TrafficResult& t) {
      return t.seconds > 0 ? static_cast<double>(t.received) / t.seconds : 0.0;
    };
    const auto row = [&](unsigned r, std::size_t k) -> const Row& {
      return rows[(s * opt.repeat + r) * per_rep + k];
    };
    for (std::size_t k = 1; k < per_rep; ++k) {
      std::vector<double> floor, relay, ratio, vs_plain, pps, floor_pps, mem;
      double worst_loss = 0, floor_worst_loss = 0;
      for (unsigned r = 0; r < opt.repeat; ++r) {
        const Row& f = row(r, 0);
        const Row& x = row(r, k);
        const Row& plain = row(r, 1);
        floor.push_back(per_mpkt(f));
        relay.push_back(per_mpkt(x));
        ratio.push_back(per_mpkt(f) > 0 ? per_mpkt(x) / per_mpkt(f) : 0);
        vs_plain.push_back(per_mpkt(plain) > 0 ? per_mpkt(x) / per_mpkt(plain) : 0);
        pps.push_back(fwd_pps(x.traffic));
        floor_pps.push_back(fwd_pps(f.traffic));
        mem.push_back(x.bytes_per_session);
        worst_loss = std::max(worst_loss, loss(x.traffic));
        floor_worst_loss = std::max(floor_worst_loss, loss(f.traffic));
      }
      o << (first_line ? "" : ",\n") << "    {\"mode\": \"" << scenarios[s].mode
        << "\", \"sessions\": " << scenarios[s].sessions << ", \"impl\": \"" << row(0, k).impl
        << "\", \"floor_cpu_s_per_mpkt\": " << median(floor)
        << ", \"relay_cpu_s_per_mpkt\": " << median(relay)
        << ", \"ratio_median\": " << median(ratio)
        << ", \"ratio_min\": " << *std::min_element(ratio.begin(), ratio.end())
        << ", \"ratio_max\": " << *std::max_element(ratio.begin(), ratio.end())
        << ", \"vs_plain_relay_median\": " << median(vs_plain)
        << ", \"vs_plain_relay_min\": " << *std::min_element(vs_plain.begin(), vs_plain.end())
        << ", \"vs_plain_relay_max\": " << *std::max_element(vs_plain.begin(), vs_plain.end())
        << ", \"relay_forwarded_pps\": " << median(pps)
        << ", \"floor_forwarded_pps\": " << median(floor_pps)
        << ", \"relay_worst_loss\": " << worst_loss
        << ", \"floor_worst_loss\": " << floor_worst_loss
        << ", \"heap_bytes_per_session\": " << median(mem) << "}";
      first_line = false;
    }
  }
  o << "\n";
  o << "  ]";
  if (opt.datapath) {
    const auto dp = run_datapath(1'000'000, std::max(opt.repeat, 9u));
    const auto list = [](const std::vector<double>& v) {
      std::ostringstream l;
      for (std::size_t i = 0; i < v.size(); ++i) l << (i ? ", " : "") << v[i];
      return l.str();
    };
    o << ",\n  \"on_datagram_ns_per_packet\": {\"packets\": " << dp.packets
      << ", \"plain_median\": " << median(dp.plain) << ", \"latched_median\": " << median(dp.latch)
      << ", \"plain_min\": " << *std::min_element(dp.plain.begin(), dp.plain.end())
      << ", \"latched_min\": " << *std::min_element(dp.latch.begin(), dp.latch.end())
      << ", \"plain_runs\": [" << list(dp.plain) << "], \"latched_runs\": [" << list(dp.latch)
      << "], \"pt_mapped_median\": " << median(dp.mapped)
      << ", \"pt_mapped_min\": " << *std::min_element(dp.mapped.begin(), dp.mapped.end())
      << ", \"pt_mapped_runs\": [" << list(dp.mapped) << "]}";
  }
  if (opt.ice) {
    const auto ice = run_ice(2000);
    o << ",\n  \"ice_binding_rtt_us\": {\"samples\": " << ice.samples
      << ", \"relay_p50\": " << ice.relay_p50 << ", \"relay_p99\": " << ice.relay_p99
      << ", \"echo_floor_p50\": " << ice.floor_p50 << ", \"echo_floor_p99\": " << ice.floor_p99
      << "}";
  }
  o << "\n}\n";
  std::fputs(o.str().c_str(), stdout);
  return 0;
}
