// The thin I/O layer under the STUN client engines (media/stunclient): name resolution, UDP
// sockets bound to the media address, and a poll() loop that drives an engine until it is done.
#pragma once

#include <atomic>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "acl/address.hpp"
#include "acl/expected.hpp"
#include "media/endpoint.hpp"
#include "media/ports/udp_socket.hpp"
#include "media/stunclient/engine.hpp"

namespace icegate::gateway {

using media::Endpoint;
using media::ports::UdpSocket;

// Resolves `host` (IP literal or FQDN, at call time) to an address of `family`.
Expected<Endpoint, std::string> resolve(const std::string& host, std::uint16_t port,
                                        acl::Family family);

// "host", "host:port", "1.2.3.4:5", "[2001:db8::1]:5", "2001:db8::1" -> host and port.
struct HostPort {
  std::string host;
  std::uint16_t port = 3478;
};
Expected<HostPort, std::string> parse_host_port(std::string_view text, std::uint16_t default_port);

// `count` sockets on `local`, each on its own kernel-chosen port. The error names the address
// ("cannot bind to 10.0.50.118: Cannot assign requested address").
Expected<std::vector<UdpSocket>, std::string> bind_sockets(const acl::Address& local,
                                                           std::size_t count);
// connect()s a socket so that an ICMP port unreachable comes back as ECONNREFUSED.
bool connect_socket(const UdpSocket& s, const Endpoint& to);

enum class DriveResult : std::uint8_t { done, deadline, stopped };

// Drives `engine` over `sockets` (engine socket i = sockets[i]) until it is done, `deadline`
// passes or `stop` becomes true; `wake_fd` (an eventfd, may be -1) interrupts the wait.
DriveResult drive(media::stunclient::Engine& engine, std::span<UdpSocket> sockets,
                  std::optional<media::stunclient::TimePoint> deadline = std::nullopt,
                  const std::atomic<bool>* stop = nullptr, int wake_fd = -1);

}  // namespace icegate::gateway
