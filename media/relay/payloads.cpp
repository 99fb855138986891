#include "media/relay/payloads.hpp"

namespace icegate::media::relay {

void LegPayloads::set(const PayloadPlan& plan) {
  formats_ = plan.formats;
  out_ = identity();
  rewrites_ = false;
  for (const auto& [from, to] : plan.rewrite) {
    if (from > 127 || to > 127 || from == to) continue;  // RFC 3550 §5.1: 7-bit payload types
    out_[from] = to;
    rewrites_ = true;
  }
  last_pt_ = kNone;
}

}  // namespace icegate::media::relay
