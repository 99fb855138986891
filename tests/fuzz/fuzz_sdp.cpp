// Fuzz target for the SDP model: whatever parses must serialise to text that parses to the same
// model, and serialising is a fixed point after one round. The rewriting and candidate filtering
// that run on every received description must not crash and must produce valid SDP.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sip/sdp/candidate_filter.hpp"
#include "sip/sdp/description.hpp"
#include "sip/sdp/rewrite.hpp"

namespace {

using namespace icegate::sip::sdp;

void check_valid(const icegate::Expected<Description, std::string>& out) {
  if (!out) return;  // a policy that does not fit the description is a clean error
  const std::string text = serialise(*out);
  auto again = parse(text);
  if (!again || !(*again == *out)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto d = parse(text);
  if (!d) {
    if (d.error().line == 0 || d.error().reason.empty()) std::abort();
    return 0;
  }
  const std::string once = serialise(*d);
  auto again = parse(once);
  if (!again || !(*again == *d)) std::abort();
  if (serialise(*again) != once) std::abort();

  const auto media = icegate::acl::Address::v4(0x0a003276);  // 10.0.50.118
  SoftphonePolicy sp;
  sp.media_address = media;
  sp.ports.assign(d->media.size(), 30124);
  sp.ice_ufrag = "Ig4uFrag";
  sp.ice_pwd = "icegatePwd0123456789abcd";
  sp.public_address = icegate::acl::Address::v4(0xcb007107);  // 203.0.113.7
  mirror_offer(sp, *d);
  check_valid(rewrite_for_softphone(*d, sp));

  TrunkPolicy tp;
  tp.media_address = media;
  tp.ports.assign(d->media.size(), 40000);
  check_valid(rewrite_for_trunk(*d, tp));

  const auto filtered = filter_remote_candidates(*d, nullptr);
  if (filtered.media.size() != d->media.size()) std::abort();
  for (const auto& m : filtered.media) {
    if (!m.disabled && !m.destination && !filtered.reject()) std::abort();
  }
  return 0;
}
