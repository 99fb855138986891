#include "media/stunclient/nat_behaviour.hpp"

namespace icegate::media::stunclient {

std::string_view to_string(Mapping m) {
  switch (m) {
    case Mapping::unknown:
      return "unknown";
    case Mapping::no_nat:
      return "no NAT";
    case Mapping::endpoint_independent:
      return "endpoint-independent";
    case Mapping::address_dependent:
      return "address-dependent";
    case Mapping::address_and_port_dependent:
      return "address-and-port-dependent";
  }
  return "?";
}

std::string_view to_string(Filtering f) {
  switch (f) {
    case Filtering::unknown:
      return "unknown";
    case Filtering::endpoint_independent:
      return "endpoint-independent";
    case Filtering::address_dependent:
      return "address-dependent";
    case Filtering::address_and_port_dependent:
      return "address-and-port-dependent";
  }
  return "?";
}

std::string_view to_string(Hairpinning h) {
  switch (h) {
    case Hairpinning::unknown:
      return "unknown";
    case Hairpinning::yes:
      return "yes";
    case Hairpinning::no:
      return "no";
  }
  return "?";
}

std::string_view to_string(Rfc3489Class c) {
  switch (c) {
    case Rfc3489Class::unknown:
      return "unknown";
    case Rfc3489Class::udp_blocked:
      return "UDP blocked";
    case Rfc3489Class::open_internet:
      return "open internet";
    case Rfc3489Class::symmetric_firewall:
      return "symmetric UDP firewall";
    case Rfc3489Class::full_cone:
      return "full cone";
    case Rfc3489Class::restricted_cone:
      return "restricted cone";
    case Rfc3489Class::port_restricted_cone:
      return "port-restricted cone";
    case Rfc3489Class::symmetric:
      return "symmetric";
  }
  return "?";
}

std::string_view json_name(Mapping m) {
  return m == Mapping::no_nat ? "no-nat" : to_string(m);
}
std::string_view json_name(Filtering f) { return to_string(f); }
std::string_view json_name(Hairpinning h) { return to_string(h); }
std::string_view json_name(Rfc3489Class c) {
  switch (c) {
    case Rfc3489Class::udp_blocked:
      return "udp-blocked";
    case Rfc3489Class::open_internet:
      return "open-internet";
    case Rfc3489Class::symmetric_firewall:
      return "symmetric-udp-firewall";
    case Rfc3489Class::full_cone:
      return "full-cone";
    case Rfc3489Class::restricted_cone:
      return "restricted-cone";
    case Rfc3489Class::port_restricted_cone:
      return "port-restricted-cone";
    default:
      return to_string(c);
  }
}

Mapping classify_mapping(const Endpoint& local, const std::optional<Endpoint>& m1,
                         const std::optional<Endpoint>& m2, const std::optional<Endpoint>& m3) {
  if (!m1) return Mapping::unknown;
  if (*m1 == local) return Mapping::no_nat;
  if (!m2) return Mapping::unknown;
  if (*m2 == *m1) return Mapping::endpoint_independent;
  if (!m3) return Mapping::unknown;
  return *m3 == *m2 ? Mapping::address_dependent : Mapping::address_and_port_dependent;
}

Filtering classify_filtering(std::optional<bool> change_both, std::optional<bool> change_port) {
  if (!change_both) return Filtering::unknown;
  if (*change_both) return Filtering::endpoint_independent;
  if (!change_port) return Filtering::unknown;
  return *change_port ? Filtering::address_dependent : Filtering::address_and_port_dependent;
}

Rfc3489Class classify_rfc3489(bool answered, Mapping mapping, Filtering filtering) {
  if (!answered) return Rfc3489Class::udp_blocked;
  switch (mapping) {
    case Mapping::unknown:
      return Rfc3489Class::unknown;
    case Mapping::address_dependent:
    case Mapping::address_and_port_dependent:
      return Rfc3489Class::symmetric;
    case Mapping::no_nat:
      if (filtering == Filtering::unknown) return Rfc3489Class::unknown;
      return filtering == Filtering::endpoint_independent ? Rfc3489Class::open_internet
                                                          : Rfc3489Class::symmetric_firewall;
    case Mapping::endpoint_independent:
      switch (filtering) {
        case Filtering::unknown:
          return Rfc3489Class::unknown;
        case Filtering::endpoint_independent:
          return Rfc3489Class::full_cone;
        case Filtering::address_dependent:
          return Rfc3489Class::restricted_cone;
        case Filtering::address_and_port_dependent:
          return Rfc3489Class::port_restricted_cone;
      }
  }
  return Rfc3489Class::unknown;
}

}  // namespace icegate::media::stunclient
