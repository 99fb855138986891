// Fuzz target for SIP over WebSocket (sip/ws/sip_frames.hpp): whatever a browser sends as a
// WebSocket message, and whatever bytes arrive on the bridge from the stack, in any cuts.
// Nothing may crash; a message to_stack() accepts must parse again as SIP with a TCP Via (for a
// request) and the same Call-ID; the splitter must yield the same messages however the stream
// is cut.
#include <sofia-sip/msg.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "sip/ws/sip_frames.hpp"

namespace {

using namespace icegate::sip::ws;

std::vector<std::string> split_all(std::string_view stream, std::size_t step) {
  StreamSplitter s;
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < stream.size(); i += step) {
    auto got = s.feed(stream.substr(i, step));
    if (!got) {
      ids.emplace_back("<error>");
      return ids;
    }
    for (auto& m : *got) {
      const sip_t* sip = sip_object(m.get());
      ids.emplace_back(sip && sip->sip_call_id ? sip->sip_call_id->i_id : "");
    }
  }
  return ids;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto out = to_stack(text)) {
    MsgPtr again(msg_make(sip_default_mclass(), 0, out->data(), static_cast<ssize_t>(out->size())));
    const sip_t* sip = again ? sip_object(again.get()) : nullptr;
    if (!sip || !sip->sip_call_id || !sip->sip_content_length) std::abort();
    if (sip->sip_request &&
        (!sip->sip_via || std::strcmp(sip->sip_via->v_protocol, "SIP/2.0/TCP") != 0)) {
      std::abort();
    }
    Peer peer;
    peer.address = icegate::acl::Address::v4(0xc0000207u);
    peer.port = 5555;
    if (!to_phone(again.get(), peer)) std::abort();
  }
  // The same bytes as a stream from the stack, whole and cut small: the same messages, unless
  // an error ended the stream (an error may come sooner when cut, never a different message).
  const auto whole = split_all(text, text.size() ? text.size() : 1);
  const auto cut = split_all(text, 7);
  const bool whole_failed = !whole.empty() && whole.back() == "<error>";
  const bool cut_failed = !cut.empty() && cut.back() == "<error>";
  if (!whole_failed && !cut_failed && whole != cut) std::abort();
  return 0;
}
