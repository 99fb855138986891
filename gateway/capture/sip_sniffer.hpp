// SIP taken off the wire for a per-call capture: a libpcap live capture on every interface
// ("any"), restricted by a BPF filter to UDP and TCP on the given ports, on a thread of its own.
// Each packet that carries a SIP message (parsed with Sofia-SIP; a TCP segment only when it holds
// a whole message) goes to the sink with its Call-ID; the sink decides what to keep. TLS cannot be
// read and is never passed on. Needs CAP_NET_RAW; start() says so when it is missing.
#pragma once

#include <sys/time.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "acl/expected.hpp"
#include "acl/unique_fd.hpp"

struct pcap;

namespace icegate::gateway::capture {

class SipSniffer {
 public:
  // Runs on the sniffer's thread: a SIP packet (IP header first) and its Call-ID.
  using Sink =
      std::function<void(const timeval& ts, std::span<const std::byte> ip, std::string_view call_id)>;
  // Runs on the sniffer's thread about every 200 ms (deadlines).
  using Tick = std::function<void()>;

  static Expected<std::unique_ptr<SipSniffer>, std::string> start(
      const std::vector<std::uint16_t>& ports, Sink sink, Tick tick);
  ~SipSniffer();  // stops and joins the thread
  SipSniffer(const SipSniffer&) = delete;
  SipSniffer& operator=(const SipSniffer&) = delete;

  // Asks the thread to stop (returns at once; the destructor waits).
  void stop() noexcept;
  std::uint64_t packets_seen() const noexcept { return seen_.load(std::memory_order_relaxed); }
  std::uint64_t kernel_drops() const noexcept { return drops_.load(std::memory_order_relaxed); }

  // The SIP message in a captured IP packet and its Call-ID, if it is one (exposed for tests).
  static std::string call_id_of(std::span<const std::byte> ip_packet);

 private:
  SipSniffer(pcap* p, int link_type, UniqueFd wake, Sink sink, Tick tick);
  void run();
  void on_frame(const timeval& ts, std::span<const std::byte> frame);

  pcap* pcap_;
  int link_type_;
  UniqueFd wake_;  // eventfd: stop()
  Sink sink_;
  Tick tick_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> seen_{0};
  std::atomic<std::uint64_t> drops_{0};
  std::thread thread_;
};

}  // namespace icegate::gateway::capture
