#include "sip/flood/socket_filter.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "sip/log.hpp"

namespace icegate::sip::flood {

std::vector<BpfInsn> ban_program(const std::vector<acl::Address>& banned) {
  std::vector<std::uint32_t> v4;
  for (const auto& a : banned) {
    if (!a.is_v4() || v4.size() >= kMaxFilteredSources) continue;
    const auto b = a.bytes();
    v4.push_back((std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) |
                 (std::uint32_t{b[2]} << 8) | b[3]);
  }
  std::vector<BpfInsn> p;
  // A = the IPv4 source address (network header offset 12; SKF_NET_OFF: relative to it).
  p.push_back({BPF_LD | BPF_W | BPF_ABS, 0, 0, static_cast<std::uint32_t>(SKF_NET_OFF + 12)});
  // Blocks of comparisons, each followed by "skip the drop" and a drop: a conditional jump
  // reaches 255 instructions at most.
  constexpr std::size_t kBlock = 250;
  for (std::size_t first = 0; first < v4.size(); first += kBlock) {
    const std::size_t m = std::min(kBlock, v4.size() - first);
    for (std::size_t j = 0; j < m; ++j) {
      // Equal: to this block's drop, past the rest of the block and its "ja".
      p.push_back({BPF_JMP | BPF_JEQ | BPF_K, static_cast<std::uint8_t>(m - j), 0, v4[first + j]});
    }
    p.push_back({BPF_JMP | BPF_JA, 0, 0, 1});
    p.push_back({BPF_RET | BPF_K, 0, 0, 0});  // drop
  }
  p.push_back({BPF_RET | BPF_K, 0, 0, 0xffffffffU});  // accept
  return p;
}

void KernelBanFilter::add_listener(const acl::Address& address, std::uint16_t port) {
  if (!address.is_v4()) return;  // IPv6 listeners: user space only
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return;
  while (const dirent* e = readdir(dir)) {
    const int fd = std::atoi(e->d_name);
    if (fd <= 2 || fd == dirfd(dir)) continue;
    int type = 0;
    socklen_t len = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_DGRAM) continue;
    sockaddr_in sin{};
    len = sizeof sin;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len) != 0 ||
        sin.sin_family != AF_INET || ntohs(sin.sin_port) != port) {
      continue;
    }
    const auto b = address.bytes();
    std::uint32_t want = 0;
    std::memcpy(&want, b.data(), 4);
    if (sin.sin_addr.s_addr != want && sin.sin_addr.s_addr != htonl(INADDR_ANY)) continue;
    if (std::find(fds_.begin(), fds_.end(), fd) == fds_.end()) fds_.push_back(fd);
  }
  closedir(dir);
}

void KernelBanFilter::update(std::vector<acl::Address> banned) {
  std::sort(banned.begin(), banned.end());
  if (banned == installed_ || fds_.empty()) return;
  installed_ = banned;
  const auto program = ban_program(banned);
  std::vector<sock_filter> code;
  for (const auto& i : program) code.push_back({i.code, i.jt, i.jf, i.k});
  sock_fprog prog{static_cast<unsigned short>(code.size()), code.data()};
  for (const int fd : fds_) {
    // Replaces the previous filter atomically (no window without one).
    if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) != 0) {
      log().warn("cannot attach the ban filter to SIP socket {}: {}", fd, std::strerror(errno));
    }
  }
}

}  // namespace icegate::sip::flood
