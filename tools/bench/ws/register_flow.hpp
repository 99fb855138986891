// One phone's registration as the load client sees it (issue 11 benchmark): the REGISTER text it
// sends, and what it reads from icegate's answers. Answers are parsed with Sofia-SIP's own parser
// (the messages come out of sip::ws::StreamSplitter); nothing of SIP is parsed by hand here.
#pragma once

#include <optional>
#include <string>

#include "sip/sofia_fwd.hpp"

namespace icegate::bench {

struct Identity {
  std::string user;
  std::string password;
  std::string domain;     // the registrar's address: Request-URI sip:DOMAIN, To/From's host
  std::string transport;  // Via transport: "WS" or "TCP"
  std::string via_host;   // Via sent-by host[:port]
  std::string contact;    // the Contact URI
};

// A REGISTER (Expires 3600) with CSeq `cseq` and Call-ID `call_id`; `authorization` empty: none.
std::string register_request(const Identity& id, unsigned cseq, const std::string& call_id,
                             const std::string& branch, const std::string& authorization);

// What a response says, read from Sofia's parsed message.
struct Answer {
  int status = 0;
  unsigned cseq = 0;
  // The first MD5 WWW-Authenticate challenge of a 401.
  std::optional<std::string> realm, nonce, opaque;
  bool qop_auth = false;
};
// nullopt: not a response (a request from icegate, or a message Sofia could not parse).
std::optional<Answer> read_answer(msg_t* message);

// The Authorization header value for REGISTER on `uri` answering `a` (RFC 2617 §3.2.2, MD5;
// the computation of tests/sip/digest_client.hpp, independent of icegate's own).
std::string authorization(const Identity& id, const Answer& a, const std::string& uri);

}  // namespace icegate::bench
