// Banned IPv4 sources dropped by the kernel before Sofia-SIP reads them: a classic BPF socket
// filter on each UDP SIP listener socket, replaced (SO_ATTACH_FILTER swaps atomically) whenever
// the set of banned sources changes. Sofia-SIP 1.12 has no hook between the socket and its
// transaction layer, so without this every datagram of a banned source would still be parsed,
// get a server transaction and an answer (docs/security.md). TCP/TLS and IPv6 sources are
// refused in user space (Stack::refused_by_guard).
#pragma once

#include <cstdint>
#include <vector>

#include "acl/address.hpp"

namespace icegate::sip::flood {

// The classic BPF program that drops datagrams from `banned` (IPv4 only, at most
// kMaxFilteredSources of them) and accepts everything else. Pure: tested in memory.
struct BpfInsn {
  std::uint16_t code;
  std::uint8_t jt, jf;
  std::uint32_t k;
};
constexpr std::size_t kMaxFilteredSources = 4000;  // BPF_MAXINSNS is 4096
std::vector<BpfInsn> ban_program(const std::vector<acl::Address>& banned);

class KernelBanFilter {
 public:
  // The UDP sockets of this process bound to address:port (the SIP listeners; found through
  // /proc/self/fd, as Sofia-SIP does not hand its sockets out).
  void add_listener(const acl::Address& address, std::uint16_t port);
  // Installs a filter dropping `banned` on every listener socket when the set changed.
  void update(std::vector<acl::Address> banned);
  std::size_t sockets() const { return fds_.size(); }

 private:
  std::vector<int> fds_;  // not owned: Sofia's sockets, alive as long as the stack
  std::vector<acl::Address> installed_;
};

}  // namespace icegate::sip::flood
