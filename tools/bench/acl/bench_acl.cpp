// ACL lookup and build cost (behaviour.md §6: lookups must cost the same with 10 rules or
// 1,000,000). Run in a Release build:
//   bench_acl --benchmark_format=json [--benchmark_out=acl.json --benchmark_out_format=json]
//
// Entries are random but shaped like real lists: half IPv4 (/8../32, mostly /24 and /32), half
// IPv6 inside 2000::/3 (/16../128, mostly /48, /64 and /128), both list kinds. Probe addresses
// are generated beforehand so the RNG is not measured:
// - "random": uniformly random addresses (IPv6 inside 2000::/3), half of each family;
// - "inside": an address inside a random entry (random host bits), which walks the trie to the
//   bottom: the worst case for the trie.
// Two loop shapes: "throughput" (independent lookups, as a busy signalling thread sees them) and
// "latency" (each probe index depends on the previous answer, so lookups cannot overlap).
#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "acl/acl.hpp"

namespace {

using icegate::acl::Acl;
using icegate::acl::AclBuilder;
using icegate::acl::Address;
using icegate::acl::Cidr;
using icegate::acl::ListKind;

constexpr std::size_t kProbes = std::size_t{1} << 20;  // power of two: index by mask

unsigned pick_v4_len(std::mt19937_64& rng) {
  const auto r = rng() % 100;
  if (r < 35) return 24;
  if (r < 65) return 32;
  if (r < 85) return 16 + static_cast<unsigned>(rng() % 8);  // /16../23
  if (r < 95) return 25 + static_cast<unsigned>(rng() % 7);  // /25../31
  return 8 + static_cast<unsigned>(rng() % 8);               // /8../15
}

unsigned pick_v6_len(std::mt19937_64& rng) {
  const auto r = rng() % 100;
  if (r < 20) return 48;
  if (r < 50) return 64;
  if (r < 75) return 128;
  if (r < 80) return 56;
  if (r < 85) return 32;
  return 16 + static_cast<unsigned>(rng() % 112);  // anything in /16../127
}

Address random_v4(std::mt19937_64& rng) {
  return Address::v4(static_cast<std::uint32_t>(rng()));
}

Address random_v6(std::mt19937_64& rng) {
  std::array<std::uint8_t, 16> b{};
  for (auto& x : b) x = static_cast<std::uint8_t>(rng());
  b[0] = static_cast<std::uint8_t>(0x20 | (b[0] & 0x1f));  // 2000::/3, global unicast
  return Address::v6(b);
}

struct CidrHash {
  std::size_t operator()(const Cidr& c) const noexcept {
    std::size_t h = c.prefix_len() * 0x9e3779b97f4a7c15ull;
    for (auto x : c.network().bytes()) h = (h ^ x) * 0x100000001b3ull;
    return h;
  }
};

// `n` distinct entries (a real list has no duplicates worth measuring).
std::vector<Cidr> random_cidrs(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::unordered_set<Cidr, CidrHash> seen;
  std::vector<Cidr> out;
  out.reserve(n);
  while (out.size() < n) {
    const bool v6 = (rng() & 1u) != 0;
    const Cidr c =
        v6 ? Cidr(random_v6(rng), pick_v6_len(rng)) : Cidr(random_v4(rng), pick_v4_len(rng));
    if (seen.insert(c).second) out.push_back(c);
  }
  return out;
}

std::shared_ptr<const Acl> build(const std::vector<Cidr>& cidrs) {
  AclBuilder b("bench");
  for (std::size_t i = 0; i < cidrs.size(); ++i) {
    // One in four entries whitelisted; origins as short as a real "file.xml:line".
    b.add(cidrs[i], i % 4 == 0 ? ListKind::whitelist : ListKind::blacklist,
          "acl.xml:" + std::to_string(i));
  }
  return std::move(b).build();
}

std::vector<Address> random_probes(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Address> out(kProbes);
  for (auto& a : out) a = (rng() & 1u) != 0 ? random_v6(rng) : random_v4(rng);
  return out;
}

std::vector<Address> inside_probes(const std::vector<Cidr>& cidrs, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Address> out(kProbes);
  for (auto& a : out) {
    const Cidr& c = cidrs[rng() % cidrs.size()];
    auto b = c.network().bytes();
    for (unsigned i = c.prefix_len(); i < c.network().bit_width(); ++i) {
      if ((rng() & 1u) != 0) b[i / 8] |= static_cast<std::uint8_t>(0x80u >> (i % 8));
    }
    a = c.network().is_v4() ? Address::v4(std::array<std::uint8_t, 4>{b[0], b[1], b[2], b[3]})
                            : Address::v6(b);
  }
  return out;
}

void set_memory_counters(benchmark::State& state, const Acl& acl) {
  const double n = static_cast<double>(acl.size());
  state.counters["entries"] = n;
  state.counters["index_bytes_per_entry"] = static_cast<double>(acl.index_memory_bytes()) / n;
  state.counters["entry_bytes_per_entry"] =
      static_cast<double>(acl.entries().capacity() * sizeof(icegate::acl::Entry)) / n;
}

void lookup_throughput(benchmark::State& state, std::shared_ptr<const Acl> acl,
                       std::shared_ptr<const std::vector<Address>> probes) {
  const Acl& a = *acl;
  const std::vector<Address>& p = *probes;
  std::size_t i = 0;
  std::size_t allowed = 0;
  for (auto _ : state) {
    const auto d = a.check(p[i++ & (kProbes - 1)]);
    allowed += d.allowed();
    benchmark::DoNotOptimize(d);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["allowed_ratio"] =
      static_cast<double>(allowed) / static_cast<double>(state.iterations());
  set_memory_counters(state, a);
}

void lookup_latency(benchmark::State& state, std::shared_ptr<const Acl> acl,
                    std::shared_ptr<const std::vector<Address>> probes) {
  const Acl& a = *acl;
  const std::vector<Address>& p = *probes;
  std::size_t i = 0;
  for (auto _ : state) {
    const auto d = a.check(p[i & (kProbes - 1)]);
    // The next probe depends on this answer: no two lookups overlap in the pipeline.
    i += 1 + (d.entry == nullptr ? 1 : 0);
    benchmark::DoNotOptimize(i);
  }
  state.SetItemsProcessed(state.iterations());
  set_memory_counters(state, a);
}

void build_acl(benchmark::State& state, std::shared_ptr<const std::vector<Cidr>> cidrs) {
  std::size_t index_bytes = 0;
  for (auto _ : state) {
    auto acl = build(*cidrs);
    index_bytes = acl->index_memory_bytes();
    benchmark::DoNotOptimize(acl);
  }
  state.counters["entries"] = static_cast<double>(cidrs->size());
  state.counters["index_bytes_per_entry"] =
      static_cast<double>(index_bytes) / static_cast<double>(cidrs->size());
}

void suspect_overlaps(benchmark::State& state, std::shared_ptr<const Acl> acl) {
  std::size_t found = 0;
  for (auto _ : state) {
    found = acl->suspect_overlaps().size();
    benchmark::DoNotOptimize(found);
  }
  state.counters["entries"] = static_cast<double>(acl->size());
  state.counters["pairs"] = static_cast<double>(found);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  const auto random = std::make_shared<const std::vector<Address>>(random_probes(2));
  for (const std::size_t n : {std::size_t{10}, std::size_t{10'000}, std::size_t{1'000'000}}) {
    const auto cidrs = std::make_shared<const std::vector<Cidr>>(random_cidrs(n, 1));
    const auto acl = build(*cidrs);
    const auto inside = std::make_shared<const std::vector<Address>>(inside_probes(*cidrs, 3));
    const std::string size = std::to_string(n);
    benchmark::RegisterBenchmark(("lookup/random/throughput/" + size).c_str(), lookup_throughput,
                                 acl, random);
    benchmark::RegisterBenchmark(("lookup/inside/throughput/" + size).c_str(), lookup_throughput,
                                 acl, inside);
    benchmark::RegisterBenchmark(("lookup/random/latency/" + size).c_str(), lookup_latency, acl,
                                 random);
    benchmark::RegisterBenchmark(("lookup/inside/latency/" + size).c_str(), lookup_latency, acl,
                                 inside);
    if (n == 1'000'000) {
      benchmark::RegisterBenchmark(("build/" + size).c_str(), build_acl, cidrs)
          ->Unit(benchmark::kMillisecond)
          ->Iterations(5);
      benchmark::RegisterBenchmark(("suspect_overlaps/" + size).c_str(), suspect_overlaps, acl)
          ->Unit(benchmark::kMillisecond)
          ->Iterations(3);
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
