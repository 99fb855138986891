// DTLS record/handshake input through the engine: a server-role engine (the role that takes
// the first datagram from the network) gets a sequence of datagrams, with timer ticks in
// between. Input: repeated [u16 big-endian length][that many bytes]; a trailing partial chunk
// is one more datagram. Garbage in, no crash, no sanitizer report, state stays consistent.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "media/dtls/engine.hpp"

using namespace icegate::media::dtls;

namespace {
const DtlsConfig& config() {
  static const DtlsConfig c = [] {
    DtlsConfig cfg;
    cfg.role = Role::server;
    auto cert = Certificate::generate();
    if (!cert) std::abort();
    cfg.certificate = *cert;
    cfg.expected_peer_fingerprints = {(*cert)->fingerprint()};
    cfg.mtu = 1200;
    return cfg;
  }();
  return c;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto engine = DtlsEngine::create(config());
  if (!engine) std::abort();
  DtlsOutput out;
  TimePoint now{};
  const auto* bytes = reinterpret_cast<const std::byte*>(data);
  std::size_t off = 0;
  int n = 0;
  while (off < size && n++ < 64) {
    std::size_t len = size - off;
    if (size - off >= 2) {
      len = std::min<std::size_t>(static_cast<std::size_t>(data[off] << 8 | data[off + 1]),
                                  size - off - 2);
      off += 2;
    }
    engine->on_datagram(std::span<const std::byte>(bytes + off, len), now, out);
    off += len;
    now += std::chrono::milliseconds(300);
    engine->on_timer(now, out);
    for (const auto& d : out.datagrams) {
      if (d.empty() || d.size() > config().mtu) std::abort();  // never emit oversize datagrams
    }
    if (engine->state() == State::failed && engine->failure_reason().empty()) std::abort();
    out.clear();
  }
  return 0;
}
