#include "sip/request_info.hpp"

#include "sip/stack.hpp"

#include <netinet/in.h>
#include <sofia-sip/msg_addr.h>
#include <sofia-sip/su_addrinfo.h>

#include <cstring>

namespace icegate::sip {

std::string RequestSource::to_string() const {
  const std::string host = address.is_v4() ? address.to_string() : "[" + address.to_string() + "]";
  return host + ":" + std::to_string(port) + "/" + std::string(conf::to_string(transport));
}

std::optional<RequestSource> request_source(nua_t* nua) {
  msg_t* msg = nua_current_request(nua);
  if (!msg) return std::nullopt;
  const su_addrinfo_t* ai = msg_addrinfo(msg);
  if (!ai || !ai->ai_addr) return std::nullopt;
  RequestSource s;
  if (ai->ai_addr->sa_family == AF_INET) {
    sockaddr_in sin;
    std::memcpy(&sin, ai->ai_addr, sizeof sin);
    std::array<std::uint8_t, 4> b{};
    std::memcpy(b.data(), &sin.sin_addr, 4);
    s.address = acl::Address::v4(b);
    s.port = ntohs(sin.sin_port);
  } else if (ai->ai_addr->sa_family == AF_INET6) {
    sockaddr_in6 sin6;
    std::memcpy(&sin6, ai->ai_addr, sizeof sin6);
    std::array<std::uint8_t, 16> b{};
    std::memcpy(b.data(), &sin6.sin6_addr, 16);
    s.address = acl::Address::v6(b).unmapped();
    s.port = ntohs(sin6.sin6_port);
  } else {
    return std::nullopt;
  }
  s.transport = ai->ai_protocol == IPPROTO_TCP ? conf::Transport::tcp : conf::Transport::udp;
  const Profile* p = nua_magic(nua);
  // TLS runs over TCP; a TLS profile (its own nua) serves nothing else (check-config).
  if (p && p->tls && s.transport == conf::Transport::tcp) s.transport = conf::Transport::tls;
  if (p && p->ws) {
    // The bridge's loopback connection stands for a browser: say where the browser is.
    if (!s.address.is_loopback() || !p->stack) return std::nullopt;
    auto peer = p->stack->ws_peers().find(s.port);
    if (!peer) return std::nullopt;
    s.bridge_port = s.port;
    s.address = peer->address;
    s.port = peer->port;
    s.transport = peer->transport;
  }
  return s;
}

}  // namespace icegate::sip
