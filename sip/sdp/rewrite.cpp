#include "sip/sdp/rewrite.hpp"

#include <algorithm>
#include <initializer_list>

#include "sip/sdp/candidate.hpp"

namespace icegate::sip::sdp {
namespace {

bool one_of(std::string_view name, std::initializer_list<std::string_view> names) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// Attributes that describe the other side's transport security: each leg has its own.
bool is_crypto_attribute(std::string_view name) {
  return one_of(name, {"fingerprint", "setup", "tls-id", "connection", "crypto", "key-mgmt"});
}

bool is_rtp_proto(std::string_view proto) {
  return proto.find("RTP/") != std::string_view::npos;
}
bool is_avpf(std::string_view proto) {
  return proto.ends_with("AVPF");
}

// The B2BUA owns each leg's session: without an explicit o=, at least the other side's address
// does not leak (RFC 8866 §5.2: the address of the machine that created the session).
void rewrite_origin(Description& out, const std::optional<Origin>& given,
                    const acl::Address& media_address) {
  if (given) {
    out.set_origin(*given);
    return;
  }
  Origin o = out.origin();
  const Connection c = Connection::of(media_address);
  o.nettype = c.nettype;
  o.addrtype = c.addrtype;
  o.address = c.address;
  out.set_origin(o);
}

void remove_key_fields(Block& b) {
  // RFC 8866 §5.12: k= is obsolete and would carry the other leg's key in clear.
  std::erase_if(b.fields, [](const Field& f) { return f.type == 'k'; });
}

// c= on `conn` wherever the input had one; media level too where nothing covers a section.
void rewrite_connections(Description& out, const Connection& conn) {
  const bool session_level = out.field('c') != nullptr;
  if (session_level) out.set_connection(conn);
  for (auto& m : out.media) {
    if (!session_level || m.field('c') != nullptr) m.set_connection(conn);
  }
}

// RFC 8122 §5: fingerprint = 2UHEX *(":" 2UHEX)
bool is_fingerprint(std::string_view v) {
  if (v.size() < 2 || v.size() % 3 != 2) return false;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const char c = v[i];
    const bool ok = i % 3 == 2 ? c == ':' : ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'));
    if (!ok) return false;
  }
  return true;
}

Unexpected<std::string> bad(std::string reason) {
  return unexpected(std::move(reason));
}

std::string candidate_line(std::string_view foundation, std::uint32_t component,
                           std::uint32_t type_pref, const acl::Address& addr, std::uint16_t port,
                           std::string_view type,
                           const std::optional<std::pair<acl::Address, std::uint16_t>>& related) {
  Candidate c;
  c.foundation = foundation;
  c.component = component;
  c.transport = "udp";
  c.priority = candidate_priority(type_pref, 65535, component);
  c.address = addr.to_string();
  c.port = port;
  c.type = type;
  if (related) {
    c.related_address = related->first.to_string();
    c.related_port = related->second;
  }
  return c.to_string();
}

std::optional<std::string> check_ports(const std::vector<std::uint16_t>& ports, std::size_t index,
                                       bool rtcp_mux) {
  if (index >= ports.size()) return "no port allocated for media section " + std::to_string(index);
  if (ports[index] == 65535 && !rtcp_mux) {
    return "port 65535 of media section " + std::to_string(index) +
           " leaves no room for RTCP on port + 1";
  }
  return std::nullopt;
}

// RFC 4568 §9.1: "<tag> <suite> <key-params> [<session-params>]"; one line, no control chars.
std::optional<std::string> check_crypto(const std::vector<std::string>& lines) {
  for (const auto& c : lines) {
    const bool clean = std::none_of(c.begin(), c.end(), [](char ch) {
      return static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f;
    });
    if (c.empty() || !clean || std::count(c.begin(), c.end(), ' ') < 2) {
      return "bad a=crypto value '" + c + "'";
    }
  }
  return std::nullopt;
}

}  // namespace

void mirror_offer(SoftphonePolicy& p, const Description& offer) {
  // RFC 5761 §5.1.1: multiplex only when the offer asked for it; the first accepted section
  // decides (browsers mark every section alike).
  p.rtcp_mux = false;
  for (const auto& m : offer.media) {
    if (!m.rejected()) {
      p.rtcp_mux = rtcp_mux(m);
      break;
    }
  }
  p.mids.clear();
  bool any_mid = false;
  for (const auto& m : offer.media) {
    const auto id = mid(m);
    p.mids.emplace_back(id ? *id : std::string_view());
    any_mid = any_mid || id.has_value();
  }
  if (!any_mid) p.mids.clear();
  p.bundle = !bundle_group(offer).empty();
}

Expected<Description, std::string> rewrite_for_softphone(const Description& in,
                                                         const SoftphonePolicy& p) {
  if (p.ports.size() != in.media.size()) {
    return bad("policy has " + std::to_string(p.ports.size()) + " ports for " +
               std::to_string(in.media.size()) + " media sections");
  }
  if (!p.mids.empty() && p.mids.size() != in.media.size())
    return bad("policy mids do not match the media sections");
  // RFC 8839 §5.4: ice-ufrag is 4-256 ice-chars, ice-pwd 22-256.
  if (p.ice_ufrag.size() < 4 || p.ice_ufrag.size() > 256 || !is_ice_chars(p.ice_ufrag)) {
    return bad("ICE ufrag must be 4-256 ice-chars (RFC 8839 §5.4)");
  }
  if (p.ice_pwd.size() < 22 || p.ice_pwd.size() > 256 || !is_ice_chars(p.ice_pwd)) {
    return bad("ICE pwd must be 22-256 ice-chars (RFC 8839 §5.4)");
  }
  if (p.proto.empty() || p.proto.find(' ') != std::string::npos)
    return bad("bad proto '" + p.proto + "'");
  if (p.dtls && (!is_token(p.dtls->fingerprint.hash_function) ||
                 !is_fingerprint(p.dtls->fingerprint.value))) {
    return bad("bad DTLS fingerprint (RFC 8122 §5: <hash-func> <hex pairs separated by ':'>)");
  }

  if (auto err = check_crypto(p.crypto)) return bad(*err);

  Description out = in;
  out.line_ending = LineEnding::crlf;
  out.trailing_empty_lines = 0;
  rewrite_origin(out, p.origin, p.media_address);

  const auto strip = [&](const Attribute& a) {
    return is_ice_attribute(a.name) || is_crypto_attribute(a.name) || a.name == "rtcp" ||
           (a.name == "rtcp-mux" && !p.rtcp_mux) ||
           (!p.mids.empty() && (a.name == "mid" || a.name == "group"));
  };
  std::erase_if(out.attributes, strip);
  remove_key_fields(out);
  const bool add_srflx = p.public_address && *p.public_address != p.media_address;
  // RFC 8445 §5.1.4: c= names the default candidate, the one most likely to work: the srflx
  // when this call gets one (a phone that ignores ICE, or uses c= once ICE is done, as baresip
  // does, sends its media there), the host otherwise.
  rewrite_connections(out, Connection::of(add_srflx ? *p.public_address : p.media_address));
  // RFC 8839 §5.3: ice-lite is a session-level attribute.
  out.attributes.push_back(Attribute{"ice-lite", std::nullopt});

  std::vector<std::string> bundled;
  for (std::size_t i = 0; i < out.media.size(); ++i) {
    MediaSection& m = out.media[i];
    std::erase_if(m.attributes, strip);
    remove_key_fields(m);
    if (!p.mids.empty() && !p.mids[i].empty()) m.attributes.push_back(Attribute{"mid", p.mids[i]});
    // Non-RTP sections (data channels) cannot be relayed: the gateway terminates DTLS.
    if (m.rejected() || p.ports[i] == 0 || !is_rtp_proto(m.m.proto)) {
      m.m.port = 0;  // RFC 3264 §6: a rejected stream keeps its m= line with port 0
      continue;
    }
    if (auto err = check_ports(p.ports, i, p.rtcp_mux && !p.rtcp_fallback)) return bad(*err);
    if (!p.mids.empty() && !p.mids[i].empty()) bundled.push_back(p.mids[i]);
    m.m.port = p.ports[i];
    m.m.proto = p.proto;
    if (p.rtcp_mux && !m.has_attribute("rtcp-mux"))
      m.attributes.push_back(Attribute{"rtcp-mux", std::nullopt});
    m.attributes.push_back(Attribute{"ice-ufrag", p.ice_ufrag});
    m.attributes.push_back(Attribute{"ice-pwd", p.ice_pwd});
    if (p.dtls) {
      m.attributes.push_back(Attribute{
          "fingerprint", p.dtls->fingerprint.hash_function + " " + p.dtls->fingerprint.value});
      m.attributes.push_back(Attribute{"setup", std::string(to_string(p.dtls->setup))});
    }
    for (const auto& c : p.crypto) m.attributes.push_back(Attribute{"crypto", c});
    if (p.rtcp_mux && p.rtcp_fallback) {
      // RFC 5761 §5.1.3 / RFC 3605: where RTCP goes if the answer declines the multiplexing.
      m.attributes.push_back(Attribute{"rtcp", std::to_string(p.ports[i] + 1)});
    }
    // RFC 8445 §5.1.1.3: candidates of one type and base share a foundation across components.
    const std::uint32_t components = p.rtcp_mux && !p.rtcp_fallback ? 1 : 2;
    for (std::uint32_t c = 1; c <= components; ++c) {
      const auto port = static_cast<std::uint16_t>(p.ports[i] + c - 1);
      m.attributes.push_back(
          Attribute{"candidate", candidate_line("1", c, kHostTypePreference, p.media_address, port,
                                                "host", std::nullopt)});
    }
    // The srflx candidate assumes the server-side NAT keeps ports (RTP range forwarded 1:1).
    for (std::uint32_t c = 1; add_srflx && c <= components; ++c) {
      const auto port = static_cast<std::uint16_t>(p.ports[i] + c - 1);
      m.attributes.push_back(
          Attribute{"candidate", candidate_line("2", c, kSrflxTypePreference, *p.public_address,
                                                port, "srflx", std::pair{p.media_address, port})});
    }
  }
  if (p.bundle && !bundled.empty()) {
    std::string group = "BUNDLE";
    for (const auto& id : bundled) group += " " + id;
    out.attributes.push_back(Attribute{"group", group});
  }
  return out;
}

std::vector<std::size_t> trunk_media_sections(const Description& in) {
  const bool bundle = !bundle_group(in).empty();
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < in.media.size(); ++i) {
    const MediaSection& m = in.media[i];
    if (m.rejected() || !is_rtp_proto(m.m.proto)) continue;
    if (bundle) {
      if (m.m.media == "audio") {
        out.push_back(i);
        break;
      }
      continue;
    }
    out.push_back(i);
  }
  return out;
}

Expected<Description, std::string> rewrite_for_trunk(const Description& in, const TrunkPolicy& p) {
  if (p.proto.empty() || p.proto.find(' ') != std::string::npos)
    return bad("bad proto '" + p.proto + "'");
  const auto active = trunk_media_sections(in);
  for (std::size_t i : active) {
    if (auto err = check_ports(p.ports, i, p.rtcp_mux)) return bad(*err);
    if (p.ports[i] == 0)
      return bad("port 0 allocated for active media section " + std::to_string(i));
  }
  if (auto err = check_crypto(p.crypto)) return bad(*err);

  Description out = in;
  out.line_ending = LineEnding::crlf;
  out.trailing_empty_lines = 0;
  rewrite_origin(out, p.origin, p.media_address);
  const bool avpf = is_avpf(p.proto);
  const auto strip = [&](const Attribute& a) {
    return is_ice_attribute(a.name) || is_crypto_attribute(a.name) ||
           one_of(a.name, {"rtcp", "rtcp-mux", "rtcp-mux-only", "mid", "bundle-only", "extmap",
                           "extmap-allow-mixed", "msid", "ssrc", "ssrc-group", "rid", "simulcast",
                           "sctp-port", "sctpmap", "max-message-size", "group", "msid-semantic"}) ||
           (!avpf && one_of(a.name, {"rtcp-fb", "rtcp-rsize"}));
  };
  std::erase_if(out.attributes, strip);
  remove_key_fields(out);
  rewrite_connections(out, Connection::of(p.media_address));

  for (std::size_t i = 0; i < out.media.size(); ++i) {
    MediaSection& m = out.media[i];
    if (std::find(active.begin(), active.end(), i) == active.end()) {
      m.m.port = 0;
      m.attributes.clear();
      std::erase_if(m.fields, [](const Field& f) { return f.type != 'c' && f.type != 'i'; });
      continue;
    }
    std::erase_if(m.attributes, strip);
    remove_key_fields(m);
    m.m.port = p.ports[i];
    m.m.proto = p.proto;
    if (p.rtcp_mux) m.attributes.push_back(Attribute{"rtcp-mux", std::nullopt});
    for (const auto& c : p.crypto) m.attributes.push_back(Attribute{"crypto", c});
  }
  return out;
}

}  // namespace icegate::sip::sdp
