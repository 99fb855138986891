// SRTP cost per packet through icegate's wrapper (media/srtp), the number the relay's SRTP leg
// pays on top of plain forwarding. Protect and unprotect are measured separately on 172-byte
// RTP packets with strictly increasing sequence numbers (unprotect needs fresh indices: replay
// protection is on), for each profile. The context line says which libsrtp build is linked.
#include <benchmark/benchmark.h>
#include <dlfcn.h>
#include <srtp2/srtp.h>

#include <cstring>
#include <vector>

#include "media/srtp/session.hpp"

using namespace icegate::media::srtp;

namespace {

constexpr std::size_t kRtpLen = 172;
constexpr std::size_t kSlot = 256;  // receive slot with room for the tag

void fill_rtp(std::byte* p, std::uint16_t seq) {
  std::memset(p, 0, kRtpLen);
  p[0] = std::byte{0x80};
  p[2] = std::byte(seq >> 8);
  p[3] = std::byte(seq & 0xff);
  p[11] = std::byte{0x42};
  for (std::size_t i = 12; i < kRtpLen; ++i) p[i] = std::byte(i);
}

SrtpKey key_for(SrtpProfile p) {
  auto k = SrtpKey::generate(p);
  if (!k) std::abort();
  return *k;
}

void BM_Protect(benchmark::State& state) {
  const auto profile = static_cast<SrtpProfile>(state.range(0));
  auto tx = SrtpSender::create(key_for(profile));
  if (!tx) std::abort();
  std::vector<std::byte> slot(kSlot);
  std::uint16_t seq = 0;
  for (auto _ : state) {
    fill_rtp(slot.data(), seq++);
    auto r = tx->protect_rtp(slot, kRtpLen);
    benchmark::DoNotOptimize(r);
  }
  state.SetLabel(std::string(to_string(profile)));
  state.SetItemsProcessed(state.iterations());
}

void BM_Unprotect(benchmark::State& state) {
  const auto profile = static_cast<SrtpProfile>(state.range(0));
  const auto key = key_for(profile);
  auto tx = SrtpSender::create(key);
  auto rx = SrtpReceiver::create(key);
  if (!tx || !rx) std::abort();
  // Pre-protected packets in batches (outside the timing), consumed in order.
  constexpr std::size_t kBatch = 4096;
  std::vector<std::byte> batch(kBatch * kSlot);
  std::vector<std::size_t> lens(kBatch);
  std::vector<std::byte> slot(kSlot);
  std::uint16_t seq = 0;
  std::size_t next = kBatch;
  std::uint64_t failures = 0;
  for (auto _ : state) {
    if (next == kBatch) {
      state.PauseTiming();
      for (std::size_t i = 0; i < kBatch; ++i) {
        std::byte* p = batch.data() + i * kSlot;
        fill_rtp(p, seq++);
        lens[i] = *tx->protect_rtp(std::span<std::byte>(p, kSlot), kRtpLen);
      }
      next = 0;
      state.ResumeTiming();
    }
    std::memcpy(slot.data(), batch.data() + next * kSlot, lens[next]);  // the worker's copy
    auto r = rx->unprotect_rtp(slot, lens[next]);
    if (!r) ++failures;
    benchmark::DoNotOptimize(r);
    ++next;
  }
  if (failures != 0) state.SkipWithError("unprotect failed");
  state.SetLabel(std::string(to_string(profile)));
  state.SetItemsProcessed(state.iterations());
}

void BM_CopyBaseline(benchmark::State& state) {  // what any relay pays to move the bytes
  std::vector<std::byte> a(kSlot), b(kSlot);
  fill_rtp(a.data(), 1);
  for (auto _ : state) {
    std::memcpy(b.data(), a.data(), kRtpLen);
    benchmark::DoNotOptimize(b.data());
    benchmark::ClobberMemory();
  }
}

void profiles(benchmark::internal::Benchmark* b) {
  for (auto p : kAllProfiles) b->Arg(static_cast<int>(p));
}

BENCHMARK(BM_Protect)->Apply(profiles);
BENCHMARK(BM_Unprotect)->Apply(profiles);
BENCHMARK(BM_CopyBaseline);

}  // namespace

int main(int argc, char** argv) {
  Dl_info info{};
  const char* where =
      dladdr(reinterpret_cast<void*>(&srtp_init), &info) && info.dli_fname ? info.dli_fname : "?";
  benchmark::AddCustomContext("libsrtp", std::string(libsrtp_version()) + " from " + where);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
