#include "media/relay/payloads.hpp"

namespace icegate::media::relay {

void LegPayloads::set(const PayloadPlan& plan) {
  formats_ = plan.formats;
  count_ = 0;
  for (const auto& [from, to] : plan.rewrite) {
    if (from > 127 || to > 127 || from == to) continue;  // RFC 3550 §5.1: 7-bit payload types
    if (count_ == kMaxRewrites) break;
    from_[count_] = from;
    to_[count_] = to;
    ++count_;
  }
  last_pt_ = kNone;
}

}  // namespace icegate::media::relay
