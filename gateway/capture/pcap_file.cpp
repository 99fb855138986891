#include "gateway/capture/pcap_file.hpp"

#include <fcntl.h>
#include <pcap/pcap.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace icegate::gateway::capture {
namespace {

constexpr std::size_t kSnapLength = 65535;
constexpr std::uint64_t kFileHeader = 24;   // pcap global header
constexpr std::uint64_t kRecordHeader = 16;  // per packet
constexpr std::size_t kWriteBuffer = 256 * 1024;

void put16(std::vector<std::byte>& v, std::size_t at, std::uint16_t x) {
  v[at] = static_cast<std::byte>(x >> 8);
  v[at + 1] = static_cast<std::byte>(x & 0xff);
}

// RFC 791 header checksum: the one's complement sum of the header's 16-bit words.
std::uint16_t ipv4_checksum(const std::byte* h, std::size_t len) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i + 1 < len; i += 2) {
    sum += (std::to_integer<std::uint32_t>(h[i]) << 8) | std::to_integer<std::uint32_t>(h[i + 1]);
  }
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

// The 16 bytes of an address as IPv6 (IPv4 as ::ffff:a.b.c.d).
std::array<std::uint8_t, 16> as_v6(const acl::Address& a) {
  if (!a.is_v4()) return a.bytes();
  std::array<std::uint8_t, 16> out{};
  out[10] = out[11] = 0xff;
  std::memcpy(out.data() + 12, a.bytes().data(), 4);
  return out;
}

}  // namespace

timeval wall_clock_now() noexcept {
  timeval tv{};
  ::gettimeofday(&tv, nullptr);
  return tv;
}

Expected<std::unique_ptr<PcapFile>, std::string> PcapFile::create(const std::string& path,
                                                                  std::uint64_t max_bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd < 0) return unexpected("cannot create " + path + ": " + std::strerror(errno));
  FILE* f = ::fdopen(fd, "wb");
  if (f == nullptr) {
    const int e = errno;
    ::close(fd);
    return unexpected("cannot open " + path + ": " + std::strerror(e));
  }
  std::setvbuf(f, nullptr, _IOFBF, kWriteBuffer);
  pcap_t* p = pcap_open_dead(DLT_RAW, kSnapLength);
  if (p == nullptr) {
    std::fclose(f);
    return unexpected(std::string("libpcap: pcap_open_dead failed"));
  }
  pcap_dumper_t* d = pcap_dump_fopen(p, f);  // owns `f` from now on
  if (d == nullptr) {
    std::string err = pcap_geterr(p);
    pcap_close(p);
    std::fclose(f);
    return unexpected("libpcap: " + err);
  }
  return std::unique_ptr<PcapFile>(new PcapFile(p, d, max_bytes));
}

PcapFile::PcapFile(pcap* p, pcap_dumper* d, std::uint64_t max_bytes)
    : pcap_(p), dumper_(d), max_bytes_(max_bytes) {
  stats_.bytes = kFileHeader;
}

PcapFile::~PcapFile() {
  close("capture ended");
  pcap_close(pcap_);
}

bool PcapFile::write_ip(const timeval& ts, std::span<const std::byte> packet) noexcept {
  if (!open()) {
    std::lock_guard lock(mu_);
    ++stats_.refused;
    return false;
  }
  std::lock_guard lock(mu_);
  return write_locked(ts, packet);
}

bool PcapFile::write_locked(const timeval& ts, std::span<const std::byte> packet) noexcept {
  if (stats_.closed) {
    ++stats_.refused;
    return false;
  }
  const auto caplen = std::min(packet.size(), kSnapLength);
  if (stats_.bytes + kRecordHeader + caplen > max_bytes_) {
    ++stats_.refused;
    close_locked("size limit " + std::to_string(max_bytes_ / (1024 * 1024)) + " MB reached");
    return false;
  }
  pcap_pkthdr h{};
  h.ts = ts;
  h.caplen = static_cast<bpf_u_int32>(caplen);
  h.len = static_cast<bpf_u_int32>(packet.size());
  pcap_dump(reinterpret_cast<u_char*>(dumper_), &h, reinterpret_cast<const u_char*>(packet.data()));
  stats_.bytes += kRecordHeader + caplen;
  ++stats_.packets;
  return true;
}

bool PcapFile::write_udp(const timeval& ts, const media::Endpoint& from, const media::Endpoint& to,
                         std::span<const std::byte> payload) noexcept {
  if (!open()) {
    std::lock_guard lock(mu_);
    ++stats_.refused;
    return false;
  }
  std::lock_guard lock(mu_);
  if (payload.size() > kSnapLength - 48) {
    ++stats_.refused;
    return false;
  }
  const bool v4 = from.address.is_v4() && to.address.is_v4();
  const std::size_t ip_len = v4 ? 20 : 40;
  const std::size_t udp_len = 8 + payload.size();
  auto& p = scratch_;
  p.assign(ip_len + udp_len, std::byte{0});
  if (v4) {
    // RFC 791: version 4, 5 words of header, DF, TTL 64, protocol 17 (UDP).
    p[0] = std::byte{0x45};
    put16(p, 2, static_cast<std::uint16_t>(ip_len + udp_len));
    p[6] = std::byte{0x40};
    p[8] = std::byte{64};
    p[9] = std::byte{17};
    std::memcpy(p.data() + 12, from.address.bytes().data(), 4);
    std::memcpy(p.data() + 16, to.address.bytes().data(), 4);
    put16(p, 10, ipv4_checksum(p.data(), 20));
  } else {
    // RFC 8200: version 6, payload length, next header 17 (UDP), hop limit 64.
    p[0] = std::byte{0x60};
    put16(p, 4, static_cast<std::uint16_t>(udp_len));
    p[6] = std::byte{17};
    p[7] = std::byte{64};
    std::memcpy(p.data() + 8, as_v6(from.address).data(), 16);
    std::memcpy(p.data() + 24, as_v6(to.address).data(), 16);
  }
  // UDP header; checksum 0 ("none", RFC 768). Wireshark does not check it by default.
  put16(p, ip_len, from.port);
  put16(p, ip_len + 2, to.port);
  put16(p, ip_len + 4, static_cast<std::uint16_t>(udp_len));
  if (!payload.empty()) std::memcpy(p.data() + ip_len + 8, payload.data(), payload.size());
  return write_locked(ts, p);
}

void PcapFile::close(const std::string& because) noexcept {
  std::lock_guard lock(mu_);
  close_locked(because);
}

void PcapFile::close_locked(const std::string& because) noexcept {
  if (stats_.closed) return;
  stats_.closed = true;
  stats_.closed_because = because;
  closed_.store(true, std::memory_order_relaxed);
  pcap_dump_close(dumper_);  // flushes and closes the file
  dumper_ = nullptr;
}

FileStats PcapFile::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace icegate::gateway::capture
