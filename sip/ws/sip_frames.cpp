#include "sip/ws/sip_frames.hpp"

#include <sofia-sip/msg.h>
#include <sofia-sip/msg_addr.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_protos.h>
#include <sofia-sip/su_alloc.h>

#include <algorithm>
#include <cstring>

namespace icegate::sip::ws {
namespace {

constexpr char kWs[] = "SIP/2.0/WS";
constexpr char kWss[] = "SIP/2.0/WSS";

// msg_as_string() into a std::string (the text is allocated on the message's own home).
Expected<std::string, std::string> print(msg_t* msg) {
  size_t len = 0;
  char* text = msg_as_string(msg_home(msg), msg, nullptr, 0, &len);
  if (!text) return unexpected(std::string("cannot print the message"));
  std::string out(text, len);
  su_free(msg_home(msg), text);
  return out;
}

}  // namespace

void MsgDeleter::operator()(msg_t* m) const {
  msg_destroy(m);
}

Expected<std::string, std::string> to_stack(std::string_view frame) {
  if (frame.empty()) return unexpected(std::string("empty message"));
  MsgPtr msg(msg_make(sip_default_mclass(), 0, frame.data(), static_cast<ssize_t>(frame.size())));
  if (!msg) return unexpected(std::string("not a SIP message"));
  sip_t* sip = sip_object(msg.get());
  if (!sip || msg_has_error(msg.get()) || (!sip->sip_request && !sip->sip_status)) {
    return unexpected(std::string("not a SIP message"));
  }
  if (sip->sip_error) return unexpected(std::string("a header cannot be parsed"));
  if (sip->sip_request) {
    sip_via_t* v = sip->sip_via;
    if (!v) return unexpected(std::string("request without Via"));
    if (!v->v_protocol || std::strcmp(v->v_protocol, sip_transport_tcp) != 0) {
      v->v_protocol = sip_transport_tcp;
      msg_fragment_clear(v->v_common);
    }
  }
  // Content-Length from the body's real length; also refuses a message without CSeq, Call-ID,
  // From or To.
  if (sip_complete_message(msg.get()) < 0) {
    return unexpected(std::string("incomplete SIP message (CSeq, Call-ID, From or To missing)"));
  }
  return print(msg.get());
}

Expected<std::string, std::string> to_phone(msg_t* message, const Peer& peer) {
  sip_t* sip = sip_object(message);
  if (!sip) return unexpected(std::string("not a SIP message"));
  if (sip->sip_status && sip->sip_via) {
    sip_via_t* v = sip->sip_via;
    su_home_t* home = msg_home(message);
    v->v_protocol = peer.transport == conf::Transport::wss ? kWss : kWs;
    const std::string received = "received=" + peer.address.to_string();
    const std::string rport = "rport=" + std::to_string(peer.port);
    if (v->v_received) {
      msg_header_replace_param(home, v->v_common, su_strdup(home, received.c_str()));
    }
    if (v->v_rport) msg_header_replace_param(home, v->v_common, su_strdup(home, rport.c_str()));
    msg_fragment_clear(v->v_common);
  }
  return print(message);
}

StreamSplitter::StreamSplitter(std::size_t max_message) : max_(max_message) {}

StreamSplitter::~StreamSplitter() = default;

Expected<std::vector<MsgPtr>, std::string> StreamSplitter::feed(std::string_view bytes) {
  std::vector<MsgPtr> done;
  if (bytes.empty()) return done;
  if (!pending_) {
    pending_.reset(msg_create(sip_default_mclass(), 0));
    if (!pending_) return unexpected(std::string("out of memory"));
    msg_maxsize(pending_.get(), max_);
  }
  // The buffer space may come in fragments (a message received over several reads).
  msg_iovec_t vec[msg_n_fragments] = {};
  const auto veclen = msg_recv_iovec(pending_.get(), vec, msg_n_fragments, bytes.size(), 0);
  if (veclen < 0) {
    pending_.reset();
    return unexpected("a SIP message from the stack is over " + std::to_string(max_) + " bytes");
  }
  std::size_t copied = 0;
  for (isize_t i = 0; i < veclen && copied < bytes.size(); ++i) {
    const std::size_t n = std::min<std::size_t>(vec[i].mv_len, bytes.size() - copied);
    std::memcpy(vec[i].mv_base, bytes.data() + copied, n);
    copied += n;
  }
  msg_recv_commit(pending_.get(), copied, 0);
  for (;;) {
    const int n = msg_extract(pending_.get());
    if (n < 0 || msg_get_flags(pending_.get(), MSG_FLG_ERROR | MSG_FLG_TOOLARGE)) {
      pending_.reset();
      return unexpected(std::string("unparsable or oversized SIP message from the stack"));
    }
    if (n == 0) break;  // needs more bytes
    // Complete: what follows it (the next message's first bytes) moves to a new message.
    MsgPtr next(msg_next(pending_.get()));
    done.push_back(std::move(pending_));
    if (!next) break;
    pending_ = std::move(next);
    msg_maxsize(pending_.get(), max_);
  }
  return done;
}

}  // namespace icegate::sip::ws
