// RTP port allocation over the configured range (behaviour.md §5, default 30000-33000).
//
// - Shapes: an even/odd pair (RTP even, RTCP odd: RFC 3550 §11) or a single port (rtcp-mux,
//   RFC 5761). Singles are taken from ports whose sibling is busy before a pair is split, so
//   pairs stay available.
// - O(1) allocate/release: intrusive free lists over a per-port table; a released port sits in a
//   FIFO quarantine (default 10 s, injected clock) before it can be handed out again, so late
//   packets of an ended call never reach a new one.
// - Every port handed out is bound here and comes back as an owned socket in a PortLease. A port
//   whose bind fails with EADDRINUSE/EACCES (another process holds it) is skipped, counted and
//   reported through take_bind_failures(); it is held out for `bad_port_retry` (default 60 s)
//   and then tried again, so a port the other process frees returns to service.
// - Exhaustion is an error value (PortErrc::exhausted) that the SIP layer maps to 503.
//
// Thread safety: allocate() runs on the signalling thread, while leases are dropped by media
// workers when a session ends. The pool is therefore shared state behind one mutex; it is taken
// only on allocate/release/stats, never per packet.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "acl/expected.hpp"
#include "media/ports/udp_socket.hpp"

namespace icegate::media::ports {

using Clock = std::chrono::steady_clock;
using NowFn = std::function<Clock::time_point()>;

enum class PortShape : std::uint8_t { pair, single };

struct AllocatorConfig {
  acl::Address address = acl::Address::v4(0x7f000001);  // media address the sockets bind to
  std::uint16_t min_port = 30000;
  std::uint16_t max_port = 33000;
  std::chrono::milliseconds quarantine{10'000};
  std::chrono::milliseconds bad_port_retry{60'000};
  NowFn now;  // empty: std::chrono::steady_clock::now
};

enum class PortErrc : std::uint8_t {
  exhausted,   // no free port (or pair) left: SIP answers 503
  bind_error,  // bind failed for a reason that is not about the port (e.g. address not local)
};
struct PortError {
  PortErrc code = PortErrc::exhausted;
  std::string detail;  // e.g. "no free RTP port pair in 30000-33000 (in use 3000, ...)"
};

struct BindFailure {
  std::uint16_t port = 0;
  int error = 0;  // errno
};

struct AllocatorStats {
  std::size_t ports = 0;  // size of the range
  std::size_t in_use = 0;
  std::size_t quarantined = 0;
  std::size_t unbindable = 0;  // held out after a failed bind
  std::size_t free_pairs = 0;
  std::size_t free_singles = 0;
  std::uint64_t allocations = 0;
  std::uint64_t exhausted = 0;      // allocate() calls that failed for lack of ports
  std::uint64_t bind_failures = 0;  // ports skipped because they could not be bound
};

namespace detail {
class PortPool;
}

// Owned sockets of one leg plus the reservation of their ports. Dropping the lease closes the
// sockets first and then puts the ports into quarantine.
class PortLease {
 public:
  PortLease() = default;
  ~PortLease() { reset(); }
  PortLease(PortLease&&) noexcept = default;
  PortLease& operator=(PortLease&& o) noexcept;
  PortLease(const PortLease&) = delete;
  PortLease& operator=(const PortLease&) = delete;

  // Sockets that did not come from an allocator (tests, fixed ports): nothing to release.
  static PortLease adopt(UdpSocket rtp, std::optional<UdpSocket> rtcp = std::nullopt);

  UdpSocket& rtp() noexcept { return rtp_; }
  const UdpSocket& rtp() const noexcept { return rtp_; }
  UdpSocket* rtcp() noexcept { return rtcp_ ? &*rtcp_ : nullptr; }
  const UdpSocket* rtcp() const noexcept { return rtcp_ ? &*rtcp_ : nullptr; }
  std::uint16_t rtp_port() const noexcept { return rtp_.local().port; }
  bool valid() const noexcept { return rtp_.valid(); }
  void reset() noexcept;

 private:
  friend class detail::PortPool;
  std::shared_ptr<detail::PortPool> pool_;
  UdpSocket rtp_;
  std::optional<UdpSocket> rtcp_;
};

class PortAllocator {
 public:
  // Start-up: fails on an empty or inverted range or a quarantine < 0.
  static Expected<PortAllocator, std::string> create(AllocatorConfig config);

  Expected<PortLease, PortError> allocate(PortShape shape);
  AllocatorStats stats() const;
  // Ports skipped since the last call, for the log.
  std::vector<BindFailure> take_bind_failures();

 private:
  explicit PortAllocator(std::shared_ptr<detail::PortPool> pool) : pool_(std::move(pool)) {}
  std::shared_ptr<detail::PortPool> pool_;
};

}  // namespace icegate::media::ports
