// RTP-like load for bench_relay: two peer sockets play every leg A and every leg B peer. Each
// session gets `rate` packets/s per direction (spread over 10 slots per packet interval so the
// load is smooth), or as many as the machine takes in flood mode. Packets carry the session,
// direction and send time, so the receiver counts loss and one-way latency.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "media/endpoint.hpp"
#include "media/ports/udp_socket.hpp"

namespace icegate::bench {

struct Peers {
  media::ports::UdpSocket a;  // plays leg A's remote: sends to the A side, receives from it
  media::ports::UdpSocket b;
  static Peers make(const acl::Address& address);
};

struct TrafficConfig {
  std::vector<media::Endpoint> a_in;  // where leg A of session i listens
  std::vector<media::Endpoint> b_in;
  unsigned rate = 50;      // packets/s per direction per session (paced mode)
  std::size_t size = 172;  // datagram size (12-byte RTP header + payload)
  double seconds = 3.0;
  bool flood = false;
  // SRTP toward leg A (the "softphone" side): applied by the generator after stamping (in place,
  // the buffer has room for the tag; returns the new length) and by the receiver to what leg A
  // sends back before reading the stamp (0: drop). Empty: plain RTP.
  std::function<std::size_t(std::span<std::byte>, std::size_t)> protect_a;
  std::function<std::size_t(std::span<std::byte>, std::size_t)> unprotect_a;
};

struct TrafficResult {
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
  double seconds = 0;       // from first send to last packet received
  double send_seconds = 0;  // how long the generator took to send everything (offered load)
  double latency_p50_us = 0;
  double latency_p99_us = 0;
};

TrafficResult run_traffic(const Peers& peers, const TrafficConfig& config);

// Percentile of unsorted samples (sorted in place).
double percentile(std::vector<std::uint32_t>& samples, double p);

}  // namespace icegate::bench
