// Named whitelist/blacklist ACLs (behaviour.md section 6).
//
// Semantics: the most specific (longest prefix) entry that contains the address decides; on equal
// prefixes the whitelist wins. When no entry matches: an ACL with only whitelist entries denies,
// every other ACL (blacklist only, both kinds, or empty) allows. IPv4-mapped IPv6 addresses are
// looked up as the IPv4 address they carry.
//
// Lookup cost is bounded by the address width, never by the number of entries.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "acl/address.hpp"

namespace icegate::acl {

enum class ListKind : std::uint8_t { whitelist, blacklist };
std::string_view to_string(ListKind k);

struct Entry {
  Cidr cidr;
  ListKind kind = ListKind::whitelist;
  std::string origin;  // where it was defined, e.g. "icegate.xml:42"; may be empty
};

enum class Verdict : std::uint8_t { allow, deny };

struct Decision {
  Verdict verdict = Verdict::allow;
  // The entry that decided, or nullptr when no entry matched and the default applied.
  const Entry* entry = nullptr;
  bool allowed() const noexcept { return verdict == Verdict::allow; }
  // "whitelist 10.0.0.0/8 (icegate.xml:42)" or "default deny: not in any whitelist entry"
  // or "default allow: no entry matches".
  std::string explain() const;
};

// A whitelist entry that is less specific than a blacklist entry inside it: legal, but the
// blacklist entry carves a hole into the whitelist, which confuses readers (config check warns).
struct SuspectOverlap {
  const Entry* whitelist;
  const Entry* blacklist;
};

class Acl;

class AclBuilder {
 public:
  explicit AclBuilder(std::string name);
  void add(Cidr cidr, ListKind kind, std::string origin = {});
  // Builds the immutable lookup structure. Duplicate entries (same CIDR, same list) are kept
  // once; the same CIDR in both lists resolves to the whitelist entry.
  std::shared_ptr<const Acl> build() &&;

 private:
  std::string name_;
  std::vector<Entry> entries_;
};

class Acl {
 public:
  const std::string& name() const noexcept { return name_; }
  std::size_t size() const noexcept { return entries_.size(); }
  const std::vector<Entry>& entries() const noexcept { return entries_; }
  bool has_whitelist() const noexcept { return whitelist_count_ > 0; }
  bool has_blacklist() const noexcept { return blacklist_count_ > 0; }

  Decision check(const Address& a) const noexcept;
  std::vector<SuspectOverlap> suspect_overlaps() const;
  // Heap bytes of the lookup structure (not of entries()), for capacity planning and benchmarks.
  std::size_t index_memory_bytes() const noexcept;

  ~Acl();
  Acl(const Acl&) = delete;
  Acl& operator=(const Acl&) = delete;

 private:
  friend class AclBuilder;
  struct Index;  // the prefix trie, defined in acl.cpp
  Acl(std::string name, std::vector<Entry> entries);

  std::string name_;
  std::vector<Entry> entries_;
  std::size_t whitelist_count_ = 0;
  std::size_t blacklist_count_ = 0;
  std::unique_ptr<Index> index_;
};

}  // namespace icegate::acl
