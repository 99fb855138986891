// Checks of a loaded configuration against this host and its network: can the media address be
// bound, do the configured host names resolve, does the inbound ACL let the trunks in. They do
// I/O (bind, DNS), so the loader (load_file) never calls them: `icegate check-config` does, and
// start-up may call media_address_problem().
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "acl/address.hpp"
#include "acl/expected.hpp"
#include "conf/config.hpp"

namespace icegate::conf {

// Why a UDP socket cannot be bound to `a` port 0 on this host (strerror text, e.g. "Cannot
// assign requested address"), or nullopt when it can. 0.0.0.0 and :: pass.
std::optional<std::string> local_address_problem(const acl::Address& a);

// "media address 192.0.2.1 is not an address of this host (Cannot assign requested address):
// RTP sockets cannot be bound to it", or nullopt when the media address can be bound.
std::optional<std::string> media_address_problem(const Config& c);

// The addresses of `host` (an IP literal is returned as is), by getaddrinfo(), which is given at
// most `timeout`: a lookup still running then is abandoned on its own thread.
Expected<std::vector<acl::Address>, std::string> resolve_host(const std::string& host,
                                                              Duration timeout);

// Pure, no I/O. When the effective sip-inbound ACL denies `source`, the warning that every
// request from trunk `t` sent from there gets 403 (behaviour.md §9 pattern 4); `shown` is how
// the source is named ("10.0.0.5", "10.0.0.5 (pbx.example.net)", "10.0.0.0 (source
// 10.0.0.0/24)").
std::optional<std::string> trunk_source_denied(const Config& c, const Trunk& t,
                                               const acl::Address& source, std::string_view shown);

// Pure, no I/O. When the RTP range overlaps the kernel's ephemeral ports (`ephemeral`, from
// net.ipv4.ip_local_port_range) outside the ports reserved from it (`reserved`, the text of
// net.ipv4.ip_local_reserved_ports, "8080,30000-33000"), the warning that outgoing connections
// of other programs can take RTP ports (calls then get 503) and what to change.
std::optional<std::string> rtp_range_overlap(const Media& m, std::pair<unsigned, unsigned> ephemeral,
                                             std::string_view reserved);

// The checks that need DNS or sockets, as warnings at the element's file:line: a media address
// that is not this host's, trunk and TURN server host names that do not resolve (all looked up
// at once, `dns_timeout` for all), and trunk addresses behind names that sip-inbound denies.
// Trunk addresses given as IP literals and <source> networks are checked by the loader.
std::vector<Diagnostic> check_host(const Config& c, Duration dns_timeout = std::chrono::seconds(3));

}  // namespace icegate::conf
