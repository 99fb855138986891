#include "tools/bench/ws/register_flow.hpp"

#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip.h>

#include <cstring>
#include <strings.h>

#include "tests/sip/digest_client.hpp"

namespace icegate::bench {
namespace {

// A parameter's value from Sofia's parsed list ("name=value" items), unquoted.
std::optional<std::string> param(msg_param_t const* params, const char* name_eq) {
  const char* v = msg_params_find(params, name_eq);
  if (!v) return std::nullopt;
  if (*v != '"') return std::string(v);
  std::string out(std::strlen(v) + 1, '\0');
  msg_unquote(out.data(), v);
  out.resize(std::strlen(out.c_str()));
  return out;
}

}  // namespace

std::string register_request(const Identity& id, unsigned cseq, const std::string& call_id,
                             const std::string& branch, const std::string& authorization) {
  std::string m;
  m.reserve(640);
  m += "REGISTER sip:" + id.domain + " SIP/2.0\r\n";
  m += "Via: SIP/2.0/" + id.transport + " " + id.via_host + ";branch=z9hG4bK" + branch + ";rport\r\n";
  m += "Max-Forwards: 70\r\n";
  m += "From: <sip:" + id.user + "@" + id.domain + ">;tag=" + call_id + "\r\n";
  m += "To: <sip:" + id.user + "@" + id.domain + ">\r\n";
  m += "Call-ID: " + call_id + "\r\n";
  m += "CSeq: " + std::to_string(cseq) + " REGISTER\r\n";
  m += "Contact: <" + id.contact + ">\r\n";
  m += "Expires: 3600\r\n";
  if (!authorization.empty()) m += "Authorization: " + authorization + "\r\n";
  m += "User-Agent: icegate-bench-ws\r\nContent-Length: 0\r\n\r\n";
  return m;
}

std::optional<Answer> read_answer(msg_t* message) {
  sip_t* sip = sip_object(message);
  if (!sip || !sip->sip_status || !sip->sip_cseq) return std::nullopt;
  Answer a;
  a.status = sip->sip_status->st_status;
  a.cseq = sip->sip_cseq->cs_seq;
  for (const sip_www_authenticate_t* w = sip->sip_www_authenticate; w; w = w->au_next) {
    if (!w->au_scheme || strcasecmp(w->au_scheme, "Digest") != 0) continue;
    const auto algorithm = param(w->au_params, "algorithm=");
    if (algorithm && strcasecmp(algorithm->c_str(), "MD5") != 0) continue;
    a.realm = param(w->au_params, "realm=");
    a.nonce = param(w->au_params, "nonce=");
    a.opaque = param(w->au_params, "opaque=");
    if (const auto qop = param(w->au_params, "qop=")) {
      // qop is a comma-separated list (RFC 2617 §3.2.1); "auth" is what this client does.
      std::string list = "," + *qop + ",";
      for (auto& c : list) c = c == ' ' ? ',' : c;
      a.qop_auth = list.find(",auth,") != std::string::npos;
    }
    break;
  }
  return a;
}

std::string authorization(const Identity& id, const Answer& a, const std::string& uri) {
  const auto params = sip::test::client_params(id.user, a.realm.value_or(""), id.password,
                                               a.nonce.value_or(""), "REGISTER", uri,
                                               a.qop_auth ? "00000001" : nullptr, "MD5");
  std::string out = "Digest ";
  for (std::size_t i = 0; i < params.size(); ++i) out += (i ? ", " : "") + params[i];
  if (a.opaque) out += ", opaque=\"" + *a.opaque + "\"";
  return out;
}

}  // namespace icegate::bench
