// One capture file: IP packets in the pcap format (LINKTYPE_RAW), written with libpcap. Any
// thread may write; a mutex keeps the records whole. Bounded: once `max_bytes` are written, or
// when closed, further packets are refused (and counted).
#pragma once

#include <sys/time.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "acl/expected.hpp"
#include "media/endpoint.hpp"

struct pcap;
struct pcap_dumper;

namespace icegate::gateway::capture {

struct FileStats {
  std::uint64_t bytes = 0;    // of the file so far
  std::uint64_t packets = 0;  // records written
  std::uint64_t refused = 0;  // offered after the file was full or closed
  bool closed = false;
  std::string closed_because;  // "call ended", "size limit 50 MB", ...
};

class PcapFile {
 public:
  // Creates `path` (mode 0640; an existing file is an error).
  static Expected<std::unique_ptr<PcapFile>, std::string> create(const std::string& path,
                                                                 std::uint64_t max_bytes);
  ~PcapFile();
  PcapFile(const PcapFile&) = delete;
  PcapFile& operator=(const PcapFile&) = delete;

  // One IP datagram, IPv4 or IPv6 header first.
  bool write_ip(const timeval& ts, std::span<const std::byte> packet) noexcept;
  // A UDP datagram, given as its addresses and payload: the IP and UDP headers are made up.
  bool write_udp(const timeval& ts, const media::Endpoint& from, const media::Endpoint& to,
                 std::span<const std::byte> payload) noexcept;
  // Flushes and closes; the first reason given is the one kept.
  void close(const std::string& because) noexcept;
  bool open() const noexcept { return !closed_.load(std::memory_order_relaxed); }
  FileStats stats() const;

 private:
  PcapFile(pcap* p, pcap_dumper* d, std::uint64_t max_bytes);
  bool write_locked(const timeval& ts, std::span<const std::byte> packet) noexcept;
  void close_locked(const std::string& because) noexcept;

  mutable std::mutex mu_;
  pcap* pcap_;
  pcap_dumper* dumper_;
  const std::uint64_t max_bytes_;
  std::atomic<bool> closed_{false};
  FileStats stats_;
  std::vector<std::byte> scratch_;  // headers + payload of write_udp
};

// The current time for a pcap record.
timeval wall_clock_now() noexcept;

}  // namespace icegate::gateway::capture
