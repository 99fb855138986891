// Longest-prefix-match index over up to 128-bit keys: a level- and path-compressed multibit trie
// in the style of Poptrie (Asai & Ohara, SIGCOMM 2015). Internal to the ACL engine.
//
// Layout:
// - a direct-indexed root array of 2^R slots (R = 8..20, grown with the entry count), each slot
//   holding either the answer for its R-bit range or a reference to a node;
// - below it, one-cache-line nodes of stride 6: a 64-bit child bitmap plus a 64-bit "leaf run"
//   bitmap, with the children stored contiguously and found by popcount, and the leaf values
//   (one per run of equal slots) inside the node when there are few, as there mostly are;
// - answers are pushed down to the leaves (leaf pushing), so a lookup reads only the node path,
//   never a chain of candidates;
// - path compression: a chain of nodes that hold no prefix and have one child is skipped; the
//   node below it stores the key bits it stands for and the answer to give when they differ
//   (`fallback`). A subtree with a single prefix is one terminal node.
// A lookup therefore touches at most 1 + (width - R) / 6 nodes whatever the number of prefixes,
// and in practice about log64(n) + 2.
//
// Kept header-only because acl/CMakeLists.txt lists the library's sources; acl.cpp is its one
// user outside the tests.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <vector>

#include "acl/frozen_array.hpp"

namespace icegate::acl::detail {

// A key of up to 128 bits, left-aligned: bit 0 is the most significant bit of `hi`. IPv4 keys use
// the top 32 bits of `hi`; every bit past the key width is zero.
struct Key128 {
  std::uint64_t hi = 0;
  std::uint64_t lo = 0;
  friend bool operator==(const Key128&, const Key128&) = default;
  friend auto operator<=>(const Key128&, const Key128&) = default;
};

// Number of leading bits `a` and `b` share (128 when equal).
inline unsigned common_bits(const Key128& a, const Key128& b) noexcept {
  const std::uint64_t x = a.hi ^ b.hi;
  if (x != 0) return static_cast<unsigned>(std::countl_zero(x));
  return 64u + static_cast<unsigned>(std::countl_zero(a.lo ^ b.lo));
}

// `k` with every bit at position >= len cleared.
inline Key128 masked(const Key128& k, unsigned len) noexcept {
  if (len == 0) return {};
  if (len <= 64) return {k.hi & (~std::uint64_t{0} << (64 - len)), 0};
  if (len >= 128) return k;
  return {k.hi, k.lo & (~std::uint64_t{0} << (128 - len))};
}

// `n` (1..32) bits of `k` starting at bit `pos`; bits past 128 read as zero.
inline unsigned key_bits(const Key128& k, unsigned pos, unsigned n) noexcept {
  const std::uint64_t mask = (std::uint64_t{1} << n) - 1;
  if (pos >= 64) {
    const unsigned p = pos - 64;
    return static_cast<unsigned>(p + n <= 64 ? (k.lo >> (64 - p - n)) & mask
                                             : (k.lo << (p + n - 64)) & mask);
  }
  if (pos + n <= 64) return static_cast<unsigned>((k.hi >> (64 - pos - n)) & mask);
  // Straddles the two words (64 - pos < n <= 32, so no shift reaches 64).
  return static_cast<unsigned>(((k.hi << (pos + n - 64)) | (k.lo >> (128 - pos - n))) & mask);
}

struct Prefix {
  Key128 key;        // host bits (position >= len) must be zero
  unsigned len = 0;  // 0..width
  std::uint32_t value = 0;
};

class PrefixTrie {
 public:
  static constexpr std::uint32_t kNone = 0;
  static constexpr std::uint32_t kMaxValue = 0x7fffffffu;

  PrefixTrie() = default;

  // `prefixes`: distinct (key, len) pairs, len <= width <= 128, values in 1..kMaxValue.
  // Throws std::invalid_argument when that contract is broken (built at start-up or reload only).
  PrefixTrie(std::vector<Prefix> prefixes, unsigned width) : width_(width) {
    if (width == 0 || width > 128) throw std::invalid_argument("prefix trie width must be 1..128");
    for (const auto& p : prefixes) {
      if (p.len > width || p.value == kNone || p.value > kMaxValue || masked(p.key, p.len) != p.key)
        throw std::invalid_argument("malformed prefix for the prefix trie");
    }
    const auto by_key = [](const Prefix& a, const Prefix& b) {
      return a.key != b.key ? a.key < b.key : a.len < b.len;
    };
    if (!std::is_sorted(prefixes.begin(), prefixes.end(), by_key)) {
      std::sort(prefixes.begin(), prefixes.end(), by_key);
    }
    for (std::size_t i = 1; i < prefixes.size(); ++i) {
      if (prefixes[i].key == prefixes[i - 1].key && prefixes[i].len == prefixes[i - 1].len)
        throw std::invalid_argument("duplicate prefix for the prefix trie");
    }
    // Two to four root slots per prefix: most lookups then need at most one node below the
    // root. Capped at 2^20 slots (4 MiB), past which the root itself stops being cache-friendly.
    root_bits_ = std::clamp(static_cast<unsigned>(std::bit_width(prefixes.size())) + 1, 8u, 20u);
    root_bits_ = std::min(root_bits_, width_);
    Scratch b;
    // At most 2n nodes: n terminals at most, and every other node has a prefix ending in it or
    // two children. Reserving (virtual memory, touched only as used) avoids regrowth copies.
    b.nodes.reserve(2 * prefixes.size() + 1);
    build_root(b, prefixes);
    // Immutable from here on: exact-size copies, the large ones in huge pages.
    root_ = FrozenArray<std::uint32_t>(b.root);
    nodes_ = FrozenArray<Node>(b.nodes);
    leaves_ = FrozenArray<std::uint32_t>(b.leaves);
  }

  // The value of the longest prefix containing `key`, or kNone.
  std::uint32_t lookup(const Key128& key) const noexcept {
    if (root_.empty()) return kNone;
    const std::uint32_t slot = root_[key_bits(key, 0, root_bits_)];
    if ((slot & kNodeTag) == 0) return slot;
    const Node* n = &nodes_[slot & ~kNodeTag];
    for (;;) {
      // Bits skipped by path compression (or a terminal's whole prefix) must match.
      if (common_bits(key, n->prefix) < n->check_len) return n->fallback;
      if (n->start == kTerminal) return n->leaves[0];
      const std::uint64_t bit = std::uint64_t{1} << key_bits(key, n->start, kStride);
      if ((n->childvec & bit) != 0) {
        n = &nodes_[n->child_base + static_cast<unsigned>(std::popcount(n->childvec & (bit - 1)))];
        continue;
      }
      // (bit << 1) - 1 wraps to all ones for slot 63, as wanted. Bit 0 of leafvec is always set.
      const auto run = static_cast<unsigned>(std::popcount(n->leafvec & ((bit << 1) - 1))) - 1;
      return n->inline_leaves != 0 ? n->leaves[run] : leaves_[n->leaves[0] + run];
    }
  }

  std::size_t memory_bytes() const noexcept {
    return root_.memory_bytes() + nodes_.memory_bytes() + leaves_.memory_bytes();
  }
  std::size_t node_count() const noexcept { return nodes_.size(); }
  std::size_t leaf_count() const noexcept { return leaves_.size(); }

 private:
  static constexpr unsigned kStride = 6;  // 2^6 slots: one 64-bit word per bitmap
  static constexpr unsigned kSlots = 1u << kStride;
  static constexpr std::uint8_t kTerminal = 0xff;
  static constexpr std::uint32_t kNodeTag = 0x80000000u;  // root slot refers to a node

  // One cache line. Most nodes have few leaf runs (a handful of prefixes end in them), so their
  // leaves live in the node itself and the lookup reads no second line.
  static constexpr unsigned kInlineLeaves = 5;
  struct alignas(64) Node {
    Key128 prefix;                   // key bits [0, check_len), the rest zero
    std::uint64_t childvec = 0;      // slot has a child node
    std::uint64_t leafvec = 0;       // a new leaf run starts at this slot
    std::uint32_t child_base = 0;    // index of the first child in nodes_
    std::uint32_t fallback = kNone;  // answer when the key leaves `prefix` before check_len
    std::uint8_t check_len = 0;
    std::uint8_t start = 0;          // first key bit this node indexes, or kTerminal
    std::uint8_t inline_leaves = 0;  // leaves[] holds the runs, else leaves[0] indexes leaves_
    // Terminal: leaves[0] is the value.
    std::array<std::uint32_t, kInlineLeaves> leaves{};
  };
  static_assert(sizeof(Node) == 64);

  // The index under construction.
  struct Scratch {
    std::vector<std::uint32_t> root;
    std::vector<Node> nodes;
    std::vector<std::uint32_t> leaves;
  };

  void build_root(Scratch& b, std::span<const Prefix> all) {
    b.root.assign(std::size_t{1} << root_bits_, kNone);
    std::vector<std::uint8_t> lens(b.root.size(), 0);
    paint(all, 0, root_bits_, b.root, lens);
    // Longer prefixes, grouped by their first root_bits_ bits. Sorting by (key, len) makes every
    // group contiguous, and a prefix ending in the root sorts before the group it covers.
    for_each_group(all, 0, root_bits_, [&](unsigned slot, std::span<const Prefix> group) {
      const auto idx = static_cast<std::uint32_t>(b.nodes.size());
      b.nodes.emplace_back();
      build_node(b, idx, group, b.root[slot], root_bits_);
      b.root[slot] = kNodeTag | idx;
    });
  }

  // Fills nodes_[idx] with the subtree for `group` (at least one prefix, all longer than
  // `min_start`, all sharing the key bits [0, min_start)).
  void build_node(Scratch& b, std::uint32_t idx, std::span<const Prefix> group,
                  std::uint32_t fallback, unsigned min_start) {
    if (b.nodes.size() >= kNodeTag) throw std::length_error("prefix trie too large");
    if (group.size() == 1) {
      Node& t = b.nodes[idx];
      t.prefix = group[0].key;
      t.check_len = static_cast<std::uint8_t>(group[0].len);
      t.start = kTerminal;
      t.leaves[0] = group[0].value;
      t.fallback = fallback;
      return;
    }
    // Skip every level on which the group does not branch and no prefix ends: the node goes to
    // the deepest level boundary at or before both the shared bits and the shortest prefix.
    const unsigned shared = common_bits(group.front().key, group.back().key);
    unsigned shortest = width_;
    for (const auto& p : group) shortest = std::min(shortest, p.len);
    const unsigned levels =
        std::min((shared - min_start) / kStride, (shortest - 1 - min_start) / kStride);
    const unsigned start = min_start + levels * kStride;

    std::array<std::uint32_t, kSlots> pushed{};
    pushed.fill(fallback);
    std::array<std::uint8_t, kSlots> lens{};
    paint(group, start, kStride, pushed, lens);

    std::uint64_t childvec = 0;
    for_each_group(group, start, kStride, [&](unsigned slot, std::span<const Prefix>) {
      childvec |= std::uint64_t{1} << slot;
    });
    // A child slot's leaf is never read: give it its left neighbour's value so runs stay long.
    std::uint64_t leafvec = 0;
    std::array<std::uint32_t, kSlots> runs{};
    unsigned run_count = 0;
    for (unsigned s = 0; s < kSlots; ++s) {
      const bool child = ((childvec >> s) & 1u) != 0;
      const std::uint32_t v = (child && s > 0) ? runs[run_count - 1] : pushed[s];
      if (s == 0 || v != runs[run_count - 1]) {
        leafvec |= std::uint64_t{1} << s;
        runs[run_count++] = v;
      }
    }
    const auto child_base = static_cast<std::uint32_t>(b.nodes.size());
    b.nodes.resize(b.nodes.size() + static_cast<std::size_t>(std::popcount(childvec)));
    {
      Node& n = b.nodes[idx];  // no reference is held across a resize or the recursion
      n.prefix = masked(group.front().key, start);
      n.check_len = static_cast<std::uint8_t>(start);
      n.start = static_cast<std::uint8_t>(start);
      n.childvec = childvec;
      n.leafvec = leafvec;
      n.child_base = child_base;
      n.fallback = fallback;
      if (run_count <= kInlineLeaves) {
        n.inline_leaves = 1;
        std::copy_n(runs.begin(), run_count, n.leaves.begin());
      } else {
        n.leaves[0] = static_cast<std::uint32_t>(b.leaves.size());
        b.leaves.insert(b.leaves.end(), runs.begin(), runs.begin() + run_count);
      }
    }
    // Children are contiguous, in slot order; each inherits the pushed-down answer of its slot.
    std::uint32_t child = child_base;
    for_each_group(group, start, kStride, [&](unsigned slot, std::span<const Prefix> sub) {
      build_node(b, child++, sub, pushed[slot], start + kStride);
    });
  }

  // Expands every prefix of `prefixes` that ends within bits [pos, pos + n) over the slots it
  // covers (controlled prefix expansion); a slot keeps the longest. `lens` holds, per slot, the
  // length painted so far (0: none; a prefix ending here is longer than pos >= 0 bits, or is
  // the /0 prefix, which only the root holds and which is painted first).
  template <class Slots, class Lens>
  static void paint(std::span<const Prefix> prefixes, unsigned pos, unsigned n, Slots& slots,
                    Lens& lens) {
    for (const auto& p : prefixes) {
      if (p.len > pos + n) continue;
      const unsigned first = key_bits(p.key, pos, n);
      const std::size_t count = std::size_t{1} << (pos + n - p.len);
      for (std::size_t s = first; s < first + count; ++s) {
        if (p.len >= lens[s]) {
          slots[s] = p.value;
          lens[s] = static_cast<std::uint8_t>(p.len);
        }
      }
    }
  }

  // Calls fn(slot, prefixes) for each run of prefixes longer than pos + n, grouped by the n key
  // bits at `pos`. Relies on the (key, len) order: see build_root.
  template <class Fn>
  static void for_each_group(std::span<const Prefix> sorted, unsigned pos, unsigned n, Fn&& fn) {
    std::size_t i = 0;
    while (i < sorted.size()) {
      if (sorted[i].len <= pos + n) {
        ++i;
        continue;
      }
      const unsigned slot = key_bits(sorted[i].key, pos, n);
      std::size_t j = i + 1;
      while (j < sorted.size() && sorted[j].len > pos + n &&
             key_bits(sorted[j].key, pos, n) == slot)
        ++j;
      fn(slot, sorted.subspan(i, j - i));
      i = j;
    }
  }

  unsigned width_ = 0;
  unsigned root_bits_ = 0;
  FrozenArray<std::uint32_t> root_;
  FrozenArray<Node> nodes_;
  FrozenArray<std::uint32_t> leaves_;
};

}  // namespace icegate::acl::detail
