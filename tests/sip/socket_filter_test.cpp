// The kernel ban filter's BPF program (sip/flood/socket_filter.hpp), run by a small interpreter
// of the instructions it uses: the source address decides, for any number of banned sources.
#include <gtest/gtest.h>

#include <linux/filter.h>

#include "sip/flood/socket_filter.hpp"

namespace icegate::sip::flood {
namespace {

// Runs `p` on an IPv4 datagram from `src`: true = accepted.
bool accepts(const std::vector<BpfInsn>& p, const acl::Address& src) {
  const auto b = src.bytes();
  const std::uint32_t source =
      (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | b[3];
  std::uint32_t a = 0;
  for (std::size_t pc = 0; pc < p.size();) {
    const auto& i = p[pc];
    if (i.code == (BPF_LD | BPF_W | BPF_ABS)) {
      EXPECT_EQ(i.k, static_cast<std::uint32_t>(SKF_NET_OFF + 12)) << "the IPv4 source field";
      a = source;
      ++pc;
    } else if (i.code == (BPF_JMP | BPF_JEQ | BPF_K)) {
      pc += 1 + (a == i.k ? i.jt : i.jf);
    } else if (i.code == (BPF_JMP | BPF_JA)) {
      pc += 1 + i.k;
    } else if (i.code == (BPF_RET | BPF_K)) {
      return i.k != 0;
    } else {
      ADD_FAILURE() << "unexpected instruction " << i.code;
      return false;
    }
  }
  ADD_FAILURE() << "ran off the end";
  return false;
}

TEST(KernelBanFilter, EmptyListAcceptsAll) {
  EXPECT_TRUE(accepts(ban_program({}), acl::Address::v4({127, 0, 0, 1})));
}

TEST(KernelBanFilter, DropsExactlyTheBannedSourcesAtAnyListSize) {
  for (const std::size_t n : {1UL, 3UL, 250UL, 251UL, 1000UL, kMaxFilteredSources}) {
    std::vector<acl::Address> banned;
    for (std::size_t i = 0; i < n; ++i) {
      banned.push_back(
          acl::Address::v4({10, static_cast<std::uint8_t>(i >> 16),
                            static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i)}));
    }
    const auto p = ban_program(banned);
    EXPECT_LE(p.size(), static_cast<std::size_t>(BPF_MAXINSNS)) << n;
    for (const std::size_t i : {std::size_t{0}, n / 2, n - 1}) {
      EXPECT_FALSE(accepts(p, banned[i])) << "n=" << n << " i=" << i;
    }
    EXPECT_TRUE(accepts(p, acl::Address::v4({10, 200, 0, 1}))) << n;
    EXPECT_TRUE(accepts(p, acl::Address::v4({192, 0, 2, 1}))) << n;
  }
}

TEST(KernelBanFilter, IPv6AndOverflowAreLeftToUserSpace) {
  std::vector<acl::Address> banned{*acl::Address::parse("2001:db8::1")};
  for (std::size_t i = 0; i < kMaxFilteredSources + 10; ++i) {
    banned.push_back(
        acl::Address::v4({10, 0, static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i)}));
  }
  const auto p = ban_program(banned);
  EXPECT_LE(p.size(), static_cast<std::size_t>(BPF_MAXINSNS));
  EXPECT_TRUE(accepts(p, banned.back())) << "beyond the filter's capacity";
}

}  // namespace
}  // namespace icegate::sip::flood
