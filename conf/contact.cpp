#include "conf/contact.hpp"

#include <sofia-sip/url.h>

#include <array>
#include <cctype>
#include <vector>

#include "conf/values.hpp"

namespace icegate::conf {

Expected<StaticContact, std::string> parse_static_contact(std::string_view text) {
  const std::string quoted = "\"" + std::string(text) + "\"";
  // url_d decodes in place and points into the buffer: a copy of our own, NUL-terminated.
  std::vector<char> buf(text.begin(), text.end());
  buf.push_back('\0');
  url_t url;
  url_init(&url, url_any);
  if (text.empty() || url_d(&url, buf.data()) < 0) {
    return unexpected(quoted + " is not a SIP URI");
  }
  if (url.url_type != url_sip && url.url_type != url_sips) {
    return unexpected(quoted + " must be a sip: or sips: URI");
  }
  if (url.url_headers != nullptr) {
    return unexpected(quoted + " must not carry headers (?...)");
  }
  StaticContact c;
  c.uri = std::string(text);
  c.transport = url.url_type == url_sips ? Transport::tls : Transport::udp;
  if (url.url_params != nullptr) {
    std::array<char, 16> t{};
    // RFC 3261 §19.1.1: transport=udp|tcp|sctp|tls|other; icegate sends udp, tcp and tls.
    if (url_param(url.url_params, "transport", t.data(), t.size()) > 0) {
      std::string name(t.data());
      for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      auto parsed = parse_transport(name);  // URI parameters are case-insensitive
      if (!parsed) return unexpected(quoted + ": " + parsed.error());
      if (url.url_type == url_sips && *parsed != Transport::tls) {
        return unexpected(quoted + ": a sips: URI needs transport tls");
      }
      c.transport = *parsed;
    }
  }
  std::string_view host = url.url_host ? url.url_host : "";
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);  // RFC 3261 §25.1: IPv6reference
  }
  const auto address = acl::Address::parse(host);
  if (!address) {
    return unexpected(quoted + ": the host must be an IP address (a static contact is not looked up in "
                      "DNS)");
  }
  c.address = *address;
  c.port = c.transport == Transport::tls ? 5061 : 5060;  // RFC 3261 §19.1.2
  if (url.url_port != nullptr) {
    auto port = parse_port(url.url_port);
    if (!port) return unexpected(quoted + ": " + port.error());
    c.port = *port;
  }
  return c;
}

}  // namespace icegate::conf
