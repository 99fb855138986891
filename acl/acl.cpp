#include "acl/acl.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <tuple>
#include <utility>

#include "acl/prefix_trie.hpp"

namespace icegate::acl {
namespace {

using detail::Key128;
using detail::PrefixTrie;

// A trie value names the deciding entry and carries its list kind, so that a lookup needs no
// access to the (large, cold) entry vector to reach a verdict: ((index + 1) << 1) | blacklist.
constexpr std::size_t kMaxEntries = (PrefixTrie::kMaxValue >> 1) - 1;

std::uint32_t encode(std::size_t index, ListKind kind) {
  return static_cast<std::uint32_t>(((index + 1) << 1) | (kind == ListKind::blacklist ? 1u : 0u));
}
std::size_t decoded_index(std::uint32_t v) {
  return (v >> 1) - 1;
}
bool decoded_blacklist(std::uint32_t v) {
  return (v & 1u) != 0;
}

std::uint64_t load_be64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

// The address bits, left-aligned. Callers unmap ::ffff:a.b.c.d first.
Key128 key_of(const Address& a) {
  const auto& b = a.bytes();
  if (a.is_v4()) {
    const std::uint64_t v4 = (std::uint64_t{b[0]} << 24) | (std::uint64_t{b[1]} << 16) |
                             (std::uint64_t{b[2]} << 8) | b[3];
    return {v4 << 32, 0};
  }
  return {load_be64(b.data()), load_be64(b.data() + 8)};
}

// Orders entries by family, then network, then length: a containing prefix sorts before every
// prefix inside it, and everything between them lies inside it too. Whitelist before blacklist
// on the same CIDR, then insertion order.
struct SortKey {
  Key128 key;
  std::uint32_t index;
  std::uint8_t len;
  std::uint8_t v6;
  std::uint8_t blacklist;
  auto tie() const { return std::tie(v6, key, len, blacklist, index); }
  bool same_cidr(const SortKey& o) const { return v6 == o.v6 && key == o.key && len == o.len; }
};

std::vector<SortKey> sort_keys(const std::vector<Entry>& entries) {
  std::vector<SortKey> keys;
  keys.reserve(entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const Cidr& c = entries[i].cidr;
    keys.push_back({key_of(c.network()), static_cast<std::uint32_t>(i),
                    static_cast<std::uint8_t>(c.prefix_len()),
                    static_cast<std::uint8_t>(c.family() == Family::v6),
                    static_cast<std::uint8_t>(entries[i].kind == ListKind::blacklist)});
  }
  std::sort(keys.begin(), keys.end(),
            [](const SortKey& a, const SortKey& b) { return a.tie() < b.tie(); });
  return keys;
}

}  // namespace

std::string_view to_string(ListKind k) {
  return k == ListKind::whitelist ? "whitelist" : "blacklist";
}

std::string Decision::explain() const {
  if (entry == nullptr) {
    return verdict == Verdict::deny ? "default deny: not in any whitelist entry"
                                    : "default allow: no entry matches";
  }
  std::string s = std::string(to_string(entry->kind)) + " " + entry->cidr.to_string();
  if (!entry->origin.empty()) s += " (" + entry->origin + ")";
  return s;
}

struct Acl::Index {
  PrefixTrie v4;
  PrefixTrie v6;
};

AclBuilder::AclBuilder(std::string name) : name_(std::move(name)) {}

void AclBuilder::add(Cidr cidr, ListKind kind, std::string origin) {
  entries_.push_back(Entry{std::move(cidr), kind, std::move(origin)});
}

std::shared_ptr<const Acl> AclBuilder::build() && {
  // Not make_shared: the constructor is private to Acl and its friend.
  return std::shared_ptr<const Acl>(new Acl(std::move(name_), std::move(entries_)));
}

Acl::Acl(std::string name, std::vector<Entry> entries) : name_(std::move(name)) {
  if (entries.size() > kMaxEntries)
    throw std::length_error("acl \"" + name_ + "\": too many entries");
  auto keys = sort_keys(entries);

  // Duplicates (same CIDR, same list) are kept once: the first one defined, whose origin a
  // config message should point at. Insertion order is preserved for the rest.
  std::vector<bool> keep(entries.size(), true);
  for (std::size_t i = 1; i < keys.size(); ++i) {
    if (keys[i].same_cidr(keys[i - 1]) && keys[i].blacklist == keys[i - 1].blacklist) {
      keep[keys[i].index] = false;
    }
  }
  std::vector<std::uint32_t> new_index(entries.size(), 0);
  entries_.reserve(entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (!keep[i]) continue;
    new_index[i] = static_cast<std::uint32_t>(entries_.size());
    if (entries[i].kind == ListKind::whitelist)
      ++whitelist_count_;
    else
      ++blacklist_count_;
    entries_.push_back(std::move(entries[i]));
  }

  // One trie prefix per distinct CIDR; the sort put its whitelist entry (if any) first, which is
  // how the same CIDR in both lists resolves to the whitelist.
  std::vector<detail::Prefix> v4;
  std::vector<detail::Prefix> v6;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (i > 0 && keys[i].same_cidr(keys[i - 1])) continue;
    const SortKey& k = keys[i];
    const auto value =
        encode(new_index[k.index], k.blacklist != 0 ? ListKind::blacklist : ListKind::whitelist);
    (k.v6 != 0 ? v6 : v4).push_back({k.key, k.len, value});
  }
  index_ =
      std::make_unique<Index>(Index{PrefixTrie(std::move(v4), 32), PrefixTrie(std::move(v6), 128)});
}

Acl::~Acl() = default;

std::size_t Acl::index_memory_bytes() const noexcept {
  return sizeof(Index) + index_->v4.memory_bytes() + index_->v6.memory_bytes();
}

Decision Acl::check(const Address& a) const noexcept {
  // Mapped addresses (a dual-stack socket's view of an IPv4 peer) are the IPv4 peer.
  const Address u = a.unmapped();
  const std::uint32_t v = u.is_v4() ? index_->v4.lookup(key_of(u)) : index_->v6.lookup(key_of(u));
  if (v == PrefixTrie::kNone) {
    // behaviour.md §6: a whitelist alone blocks everything else; otherwise no match allows.
    const bool whitelist_only = has_whitelist() && !has_blacklist();
    return {whitelist_only ? Verdict::deny : Verdict::allow, nullptr};
  }
  return {decoded_blacklist(v) ? Verdict::deny : Verdict::allow, &entries_[decoded_index(v)]};
}

std::vector<SuspectOverlap> Acl::suspect_overlaps() const {
  // One sweep in containment order: `open` holds the whitelist entries containing the current
  // position, innermost last (they nest, so a stack suffices). O(n log n + pairs).
  const auto keys = sort_keys(entries_);
  std::vector<SuspectOverlap> out;
  std::vector<const SortKey*> open;
  for (const auto& k : keys) {
    const Cidr& here = entries_[k.index].cidr;
    while (!open.empty() && !entries_[open.back()->index].cidr.overlaps(here)) open.pop_back();
    if (k.blacklist == 0) {
      open.push_back(&k);
      continue;
    }
    for (const SortKey* w : open) {
      // Strictly less specific: the same CIDR in both lists is resolved, not a hole.
      if (w->len < k.len) out.push_back({&entries_[w->index], &entries_[k.index]});
    }
  }
  return out;
}

}  // namespace icegate::acl
