// RFC 5780 NAT behaviour and its RFC 3489 class name: the pure decision table used by the
// detector (nat_detector.hpp) and unit-tested on its own.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "media/endpoint.hpp"

namespace icegate::media::stunclient {

// RFC 5780 §4.3 (RFC 4787 §4.1).
enum class Mapping : std::uint8_t {
  unknown,
  no_nat,  // the mapped address is the local address
  endpoint_independent,
  address_dependent,
  address_and_port_dependent,
};
// RFC 5780 §4.4 (RFC 4787 §5).
enum class Filtering : std::uint8_t {
  unknown,
  endpoint_independent,
  address_dependent,
  address_and_port_dependent,
};
// RFC 5780 §4.5.
enum class Hairpinning : std::uint8_t { unknown, yes, no };
// RFC 3489 §5 names (plus "UDP blocked" when the server never answered).
enum class Rfc3489Class : std::uint8_t {
  unknown,
  udp_blocked,
  open_internet,
  symmetric_firewall,  // no NAT, but inbound UDP is filtered
  full_cone,
  restricted_cone,
  port_restricted_cone,
  symmetric,
};

std::string_view to_string(Mapping m);
std::string_view to_string(Filtering f);
std::string_view to_string(Hairpinning h);
std::string_view to_string(Rfc3489Class c);
// Stable identifiers for --json ("endpoint-independent", "port-restricted-cone", ...).
std::string_view json_name(Mapping m);
std::string_view json_name(Filtering f);
std::string_view json_name(Hairpinning h);
std::string_view json_name(Rfc3489Class c);

// RFC 5780 §4.3: test I gives `m1` (to the primary address), test II `m2` (to the alternate IP,
// primary port), test III `m3` (alternate IP and port). m1 == local: no NAT. m1 == m2:
// endpoint-independent. Else m2 == m3: address-dependent, else address-and-port-dependent.
// A missing answer where one is needed gives unknown.
Mapping classify_mapping(const Endpoint& local, const std::optional<Endpoint>& m1,
                         const std::optional<Endpoint>& m2, const std::optional<Endpoint>& m3);

// RFC 5780 §4.4: `change_both` = an answer came back to test II (CHANGE-REQUEST change IP and
// port), `change_port` = to test III (change port only). nullopt = test not run.
Filtering classify_filtering(std::optional<bool> change_both, std::optional<bool> change_port);

// RFC 3489 §10.1 in terms of the RFC 5780 behaviours: any mapping that depends on the destination
// is "symmetric"; an endpoint-independent mapping is a full / restricted / port-restricted cone by
// its filtering; without NAT it is the open internet or a symmetric UDP firewall.
Rfc3489Class classify_rfc3489(bool answered, Mapping mapping, Filtering filtering);

}  // namespace icegate::media::stunclient
