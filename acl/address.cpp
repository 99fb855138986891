#include "acl/address.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace icegate::acl {
namespace {

constexpr std::array<std::uint8_t, 12> kMappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool has_mapped_prefix(const std::array<std::uint8_t, 16>& b) {
  return std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), b.begin());
}

// Clears every bit at position >= len (0 = most significant).
void clear_host_bits(std::array<std::uint8_t, 16>& b, unsigned len, unsigned width) {
  for (unsigned i = len; i < width; ++i) b[i / 8] &= static_cast<std::uint8_t>(~(0x80u >> (i % 8)));
}

// Built with append, not `"\"" + std::string(text)`: that form trips GCC 12's false -Wrestrict
// (GCC bug 105329) at -O2, which -Werror turns into a failed Release build.
std::string not_an_address(std::string_view text, std::string_view family) {
  std::string s = "\"";
  s.append(text);
  s.append("\" is not an ");
  s.append(family);
  s.append(" address");
  return s;
}

}  // namespace

Address Address::v4(std::uint32_t host_order) {
  return v4(std::array<std::uint8_t, 4>{static_cast<std::uint8_t>(host_order >> 24),
                                        static_cast<std::uint8_t>(host_order >> 16),
                                        static_cast<std::uint8_t>(host_order >> 8),
                                        static_cast<std::uint8_t>(host_order)});
}

Address Address::v4(const std::array<std::uint8_t, 4>& network_order) {
  Address a;
  a.family_ = Family::v4;
  std::copy(network_order.begin(), network_order.end(), a.bytes_.begin());
  return a;
}

Address Address::v6(const std::array<std::uint8_t, 16>& network_order) {
  Address a;
  a.family_ = Family::v6;
  a.bytes_ = network_order;
  return a;
}

Expected<Address, std::string> Address::parse(std::string_view text) {
  if (text.empty()) return unexpected(std::string("empty address"));
  if (text.size() > INET6_ADDRSTRLEN) return unexpected(std::string("address too long"));
  // inet_pton stops at a NUL byte, so "1.2.3.4\0junk" would otherwise parse as 1.2.3.4.
  if (text.find('\0') != std::string_view::npos) {
    return unexpected(std::string("address contains a NUL byte"));
  }
  // inet_pton needs a NUL-terminated copy; the input itself is never modified.
  char buf[INET6_ADDRSTRLEN + 1] = {};
  std::memcpy(buf, text.data(), text.size());
  if (text.find(':') == std::string_view::npos) {
    std::array<std::uint8_t, 4> b{};
    if (inet_pton(AF_INET, buf, b.data()) != 1) {
      return unexpected(not_an_address(text, "IPv4"));
    }
    return v4(b);
  }
  std::array<std::uint8_t, 16> b{};
  if (inet_pton(AF_INET6, buf, b.data()) != 1) {
    return unexpected(not_an_address(text, "IPv6"));
  }
  return v6(b);
}

bool Address::is_v4_mapped() const noexcept { return !is_v4() && has_mapped_prefix(bytes_); }

Address Address::unmapped() const noexcept {
  if (!is_v4_mapped()) return *this;
  return v4(std::array<std::uint8_t, 4>{bytes_[12], bytes_[13], bytes_[14], bytes_[15]});
}

bool Address::is_loopback() const noexcept {
  const Address a = unmapped();
  if (a.is_v4()) return a.bytes_[0] == 127;
  static constexpr std::array<std::uint8_t, 16> kLoop = {0, 0, 0, 0, 0, 0, 0, 0,
                                                         0, 0, 0, 0, 0, 0, 0, 1};
  return a.bytes_ == kLoop;
}

bool Address::is_unspecified() const noexcept {
  const unsigned n = is_v4() ? 4 : 16;
  return std::all_of(bytes_.begin(), bytes_.begin() + n, [](std::uint8_t x) { return x == 0; });
}

std::string Address::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (is_v4() || is_v4_mapped()) {
    // glibc prints ::ffff:a.b.c.d itself, which is the RFC 5952 §5 form for mapped addresses.
    inet_ntop(is_v4() ? AF_INET : AF_INET6, bytes_.data(), buf, sizeof buf);
    return buf;
  }
  // Not inet_ntop: glibc prints the deprecated IPv4-compatible form ("::0.1.0.2" for ::1:2),
  // which RFC 5952 §5 does not recommend. RFC 5952 §4: lowercase, no leading zeros, "::"
  // replaces the longest run (the first on a tie) of two or more zero groups.
  std::array<unsigned, 8> groups{};
  for (unsigned i = 0; i < 8; ++i) groups[i] = (unsigned{bytes_[2 * i]} << 8) | bytes_[2 * i + 1];
  int best = -1;
  int best_len = 1;  // a single zero group is never compressed (RFC 5952 §4.2.2)
  for (int i = 0; i < 8;) {
    if (groups[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && groups[j] == 0) ++j;
    if (j - i > best_len) {
      best = i;
      best_len = j - i;
    }
    i = j;
  }
  std::string out;
  for (int i = 0; i < 8; ++i) {
    if (i == best) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    char hex[8];
    const auto r = std::to_chars(hex, hex + sizeof hex, groups[i], 16);
    out.append(hex, r.ptr);
  }
  return out;
}

Cidr::Cidr(Address network, unsigned prefix_len) {
  // A prefix inside ::ffff:0:0/96 is the IPv4 prefix it covers: lookups unmap addresses first,
  // so the IPv6 spelling would never match anything.
  if (network.is_v4_mapped() && prefix_len >= 96) {
    network = network.unmapped();
    prefix_len -= 96;
  }
  auto bytes = network.bytes();
  const unsigned width = network.bit_width();
  prefix_len_ = std::min(prefix_len, width);
  const auto before = bytes;
  clear_host_bits(bytes, prefix_len_, width);
  had_host_bits_ = before != bytes;
  network_ = network.is_v4() ? Address::v4(std::array<std::uint8_t, 4>{bytes[0], bytes[1], bytes[2],
                                                                       bytes[3]})
                             : Address::v6(bytes);
}

Expected<Cidr, CidrError> Cidr::parse(std::string_view text) {
  const auto slash = text.find('/');
  const std::string_view addr_text = text.substr(0, slash);
  auto addr = Address::parse(addr_text);
  if (!addr) return unexpected(CidrError{addr.error(), 0});
  unsigned len = addr->bit_width();
  if (slash != std::string_view::npos) {
    const std::string_view len_text = text.substr(slash + 1);
    const std::size_t col = slash + 1;
    if (len_text.empty()) return unexpected(CidrError{"missing prefix length after '/'", col});
    if (!std::all_of(len_text.begin(), len_text.end(),
                     [](char c) { return c >= '0' && c <= '9'; })) {
      return unexpected(
          CidrError{"prefix length \"" + std::string(len_text) + "\" is not a number", col});
    }
    // Three digits hold every valid length; more would only be leading zeros or an overflow.
    if (len_text.size() > 3) {
      return unexpected(
          CidrError{"prefix length \"" + std::string(len_text) + "\" has too many digits", col});
    }
    std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
    if (len > addr->bit_width()) {
      return unexpected(CidrError{"prefix length " + std::to_string(len) + " exceeds " +
                                      std::to_string(addr->bit_width()) + " for " +
                                      (addr->is_v4() ? "IPv4" : "IPv6"),
                                  col});
    }
  }
  // The constructor turns a prefix wholly inside ::ffff:0:0/96 into the IPv4 prefix it covers.
  return Cidr(*addr, len);
}

bool Cidr::contains(const Address& a) const noexcept {
  const Address x = a.unmapped();
  if (x.family() != family()) return false;
  const auto& nb = network_.bytes();
  const auto& xb = x.bytes();
  const unsigned full = prefix_len_ / 8;
  if (!std::equal(nb.begin(), nb.begin() + full, xb.begin())) return false;
  const unsigned rest = prefix_len_ % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff00u >> rest);
  return (nb[full] & mask) == (xb[full] & mask);
}

bool Cidr::overlaps(const Cidr& other) const noexcept {
  if (family() != other.family()) return false;
  return prefix_len_ <= other.prefix_len_ ? contains(other.network_) : other.contains(network_);
}

std::string Cidr::to_string() const {
  return network_.to_string() + "/" + std::to_string(prefix_len_);
}

}  // namespace icegate::acl
