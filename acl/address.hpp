// IP addresses and CIDR prefixes, IPv4 and IPv6. Pure parsing, no I/O.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "acl/expected.hpp"

namespace icegate::acl {

enum class Family : std::uint8_t { v4, v6 };

// An IP address. IPv4 is stored in the first 4 bytes of `bytes` (network order).
class Address {
 public:
  Address() = default;
  static Address v4(std::uint32_t host_order);
  static Address v4(const std::array<std::uint8_t, 4>& network_order);
  static Address v6(const std::array<std::uint8_t, 16>& network_order);

  // Accepts dotted IPv4 and RFC 4291 text IPv6 (with `::`, embedded IPv4, no zone id, no
  // brackets). On error: a human-readable reason.
  static Expected<Address, std::string> parse(std::string_view text);

  Family family() const noexcept { return family_; }
  bool is_v4() const noexcept { return family_ == Family::v4; }
  const std::array<std::uint8_t, 16>& bytes() const noexcept { return bytes_; }
  unsigned bit_width() const noexcept { return is_v4() ? 32u : 128u; }
  // Bit i (0 = most significant) of the address.
  bool bit(unsigned i) const noexcept { return (bytes_[i / 8] >> (7 - i % 8)) & 1u; }

  // ::ffff:a.b.c.d becomes a.b.c.d; every other address is returned unchanged.
  Address unmapped() const noexcept;
  bool is_v4_mapped() const noexcept;
  bool is_loopback() const noexcept;     // 127.0.0.0/8, ::1 (and mapped 127/8)
  bool is_unspecified() const noexcept;  // 0.0.0.0, ::

  std::string to_string() const;  // RFC 5952 canonical form for IPv6

  friend bool operator==(const Address&, const Address&) = default;
  friend auto operator<=>(const Address&, const Address&) = default;

 private:
  Family family_ = Family::v4;
  std::array<std::uint8_t, 16> bytes_{};
};

struct CidrError {
  std::string reason;     // e.g. "prefix length 33 exceeds 32 for IPv4"
  std::size_t column = 0; // 0-based offset into the input where the problem was found
};

// A prefix: address/length. A bare address is a host prefix (/32 or /128).
class Cidr {
 public:
  Cidr() = default;
  Cidr(Address network, unsigned prefix_len);  // clears host bits

  // "10.0.0.0/8", "2001:db8::/32", "192.0.2.7" (=/32). Host bits are cleared
  // ("10.1.2.3/8" parses as 10.0.0.0/8 and had_host_bits() is true so a config check can warn).
  // IPv4-mapped IPv6 prefixes of length >= 96 become the IPv4 prefix they cover.
  static Expected<Cidr, CidrError> parse(std::string_view text);

  const Address& network() const noexcept { return network_; }
  unsigned prefix_len() const noexcept { return prefix_len_; }
  Family family() const noexcept { return network_.family(); }
  bool had_host_bits() const noexcept { return had_host_bits_; }

  // True when `a` (after unmapping ::ffff:v4) lies inside this prefix.
  bool contains(const Address& a) const noexcept;
  // True when the two prefixes share at least one address.
  bool overlaps(const Cidr& other) const noexcept;

  std::string to_string() const;  // canonical "network/len"

  friend bool operator==(const Cidr& a, const Cidr& b) {
    return a.network_ == b.network_ && a.prefix_len_ == b.prefix_len_;
  }

 private:
  Address network_;
  unsigned prefix_len_ = 0;
  bool had_host_bits_ = false;
};

}  // namespace icegate::acl
