// Big-endian load/store helpers for the STUN codec (internal to media/stun).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace icegate::media::stun::wire {

inline std::uint16_t load16(std::span<const std::byte> b, std::size_t at) noexcept {
  return static_cast<std::uint16_t>((std::to_integer<unsigned>(b[at]) << 8) |
                                    std::to_integer<unsigned>(b[at + 1]));
}
inline std::uint32_t load32(std::span<const std::byte> b, std::size_t at) noexcept {
  return (std::uint32_t{load16(b, at)} << 16) | load16(b, at + 2);
}
inline std::uint64_t load64(std::span<const std::byte> b, std::size_t at) noexcept {
  return (std::uint64_t{load32(b, at)} << 32) | load32(b, at + 4);
}

inline void store16(std::span<std::byte> b, std::size_t at, std::uint16_t v) noexcept {
  b[at] = static_cast<std::byte>(v >> 8);
  b[at + 1] = static_cast<std::byte>(v & 0xFF);
}
inline void store32(std::span<std::byte> b, std::size_t at, std::uint32_t v) noexcept {
  store16(b, at, static_cast<std::uint16_t>(v >> 16));
  store16(b, at + 2, static_cast<std::uint16_t>(v & 0xFFFF));
}

inline void put16(std::vector<std::byte>& out, std::uint16_t v) {
  out.push_back(static_cast<std::byte>(v >> 8));
  out.push_back(static_cast<std::byte>(v & 0xFF));
}
inline void put32(std::vector<std::byte>& out, std::uint32_t v) {
  put16(out, static_cast<std::uint16_t>(v >> 16));
  put16(out, static_cast<std::uint16_t>(v & 0xFFFF));
}
inline void put64(std::vector<std::byte>& out, std::uint64_t v) {
  put32(out, static_cast<std::uint32_t>(v >> 32));
  put32(out, static_cast<std::uint32_t>(v & 0xFFFFFFFFu));
}

constexpr std::size_t padded(std::size_t n) noexcept {
  return (n + 3) & ~std::size_t{3};
}

}  // namespace icegate::media::stun::wire
