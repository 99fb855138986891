// Fuzz target for the configuration loader: any bytes either load or produce diagnostics that
// name a file and a line; nothing crashes. A loaded configuration must satisfy its invariants.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "conf/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view xml(reinterpret_cast<const char*>(data), size);
  // base_dir points nowhere, so <include> can only fail cleanly.
  auto r = icegate::conf::load_string(xml, "fuzz.xml", "/nonexistent-icegate-fuzz");
  if (!r) {
    for (const auto& d : r.error()) {
      if (d.where.file.empty() || d.message.empty()) std::abort();
    }
    return 0;
  }
  const auto& c = *r->config;
  if (c.sip.listeners.empty() || c.media.rtp_min > c.media.rtp_max) std::abort();
  for (const auto& t : c.trunks) {
    if (t.addresses.empty()) std::abort();
  }
  return 0;
}
