#include "media/srtp/transform.hpp"

namespace icegate::media::srtp {

void SrtpDropCounters::count(SrtpError e) noexcept {
  switch (e) {
    case SrtpError::auth_failed:
      ++auth_failed;
      return;
    case SrtpError::replay:
      ++replay;
      return;
    case SrtpError::malformed:
      ++malformed;
      return;
    case SrtpError::no_room:
      ++no_room;
      return;
    case SrtpError::internal:
      ++internal;
      return;
  }
}

Expected<std::unique_ptr<SrtpTransform>, std::string> SrtpTransform::create(
    const SrtpKey& outbound, const SrtpKey& inbound, const SrtpOptions& options) {
  auto sender = SrtpSender::create(outbound, options);
  if (!sender) return unexpected("outbound: " + sender.error());
  auto receiver = SrtpReceiver::create(inbound, options);
  if (!receiver) return unexpected("inbound: " + receiver.error());
  return std::unique_ptr<SrtpTransform>(
      new SrtpTransform(std::move(*sender), std::move(*receiver)));
}

std::optional<std::size_t> SrtpTransform::unprotect(std::span<std::byte> buffer, std::size_t len,
                                                    bool rtcp) noexcept {
  auto r = rtcp ? receiver_.unprotect_rtcp(buffer, len) : receiver_.unprotect_rtp(buffer, len);
  if (!r) {
    counters_.inbound_drops.count(r.error());
    last_unprotect_error_ = r.error();
    return std::nullopt;
  }
  ++(rtcp ? counters_.unprotected_rtcp : counters_.unprotected_rtp);
  return *r;
}

std::optional<std::size_t> SrtpTransform::protect(std::span<std::byte> buffer, std::size_t len,
                                                  bool rtcp) noexcept {
  auto r = rtcp ? sender_.protect_rtcp(buffer, len) : sender_.protect_rtp(buffer, len);
  if (!r) {
    counters_.outbound_drops.count(r.error());
    return std::nullopt;
  }
  ++(rtcp ? counters_.protected_rtcp : counters_.protected_rtp);
  return *r;
}

}  // namespace icegate::media::srtp
