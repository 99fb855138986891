// SIP messages between a browser's WebSocket (RFC 7118) and the stack's loopback TCP bridge.
//
// Everything here parses and prints with Sofia-SIP's own message parser (msg/sip): nothing of
// SIP is parsed by hand. Pure functions plus one stream splitter, tested directly
// (tests/sip/ws_frames_test.cpp) and fuzzed (tests/fuzz/fuzz_ws_sip.cpp).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "acl/expected.hpp"
#include "sip/sofia_fwd.hpp"
#include "sip/ws/peers.hpp"

namespace icegate::sip::ws {

struct MsgDeleter {
  void operator()(msg_t* m) const;
};
using MsgPtr = std::unique_ptr<msg_t, MsgDeleter>;

// One SIP message from a browser (one WebSocket message, text or binary) made ready for the
// bridge: a request's top Via says SIP/2.0/TCP (nta refuses a Via whose transport is not the
// connection's), and Content-Length is the body's real length (RFC 7118 §5 lets a WebSocket
// message omit it). The error says why the message is dropped (not SIP, no CSeq, ...).
Expected<std::string, std::string> to_stack(std::string_view frame);

// One SIP message from the stack for the browser `peer`: a response to the browser's own
// request gets back the Via transport it used (SIP/2.0/WS or WSS) and received/rport naming its
// real address instead of the bridge's; requests go as they are.
Expected<std::string, std::string> to_phone(msg_t* message, const Peer& peer);

// The bridge's TCP byte stream from the stack, cut into whole SIP messages (Sofia's streaming
// parser, as its own TCP transport does).
class StreamSplitter {
 public:
  explicit StreamSplitter(std::size_t max_message = 65536);
  ~StreamSplitter();
  StreamSplitter(const StreamSplitter&) = delete;
  StreamSplitter& operator=(const StreamSplitter&) = delete;

  // Takes the next bytes of the stream; returns the messages completed by them. An error (a
  // message over the limit or one that cannot be parsed) ends the stream.
  Expected<std::vector<MsgPtr>, std::string> feed(std::string_view bytes);

 private:
  std::size_t max_;
  MsgPtr pending_;  // the message being received
};

}  // namespace icegate::sip::ws
