#include "sip/call_sdp.hpp"

#include <charconv>

#include <algorithm>

#include "sip/sdp/attributes.hpp"
#include "sip/sdp/candidate_filter.hpp"
#include "sip/sdp/rewrite.hpp"

namespace icegate::sip {
namespace {

// The first active section: what the relay carries.
std::optional<std::size_t> relayed_section(const sdp::Description& d) {
  const auto active = sdp::trunk_media_sections(d);
  if (active.empty()) return std::nullopt;
  return active.front();
}

std::vector<std::uint16_t> ports_for(const sdp::Description& d, std::uint16_t port) {
  std::vector<std::uint16_t> ports(d.media.size(), 0);
  if (auto s = relayed_section(d)) ports[*s] = port;
  return ports;
}

sdp::Origin origin_for(const acl::Address& a, const std::string& session_id, unsigned version) {
  sdp::Origin o;
  o.username = "icegate";
  o.session_id = session_id;
  o.session_version = std::to_string(version);
  o.addrtype = a.is_v4() ? "IP4" : "IP6";
  o.address = a.to_string();
  return o;
}

}  // namespace

std::string_view to_string(Keying::Kind k) {
  switch (k) {
    case Keying::Kind::dtls:
      return "DTLS-SRTP";
    case Keying::Kind::sdes:
      return "SDES-SRTP";
    case Keying::Kind::none:
      break;
  }
  return "plain RTP";
}

Expected<Keying, std::string> keying_of(const sdp::Description& d) {
  const auto section = relayed_section(d);
  if (!section) return unexpected(std::string("no active RTP media section in the SDP"));
  const sdp::MediaSection& m = d.media[*section];
  Keying k;
  k.proto = m.m.proto;
  const bool tls = k.proto.find("TLS/") != std::string::npos;
  const bool savp = k.proto.find("SAVP") != std::string::npos;
  if (!tls && !savp) return k;  // RTP/AVP(F): stray key attributes are ignored (RFC 5763 §5)
  for (const auto& c : sdp::crypto(m)) {
    std::string line = std::to_string(c.tag) + " " + c.suite + " " + c.key_params;
    for (const auto& sp : c.session_params) line += " " + sp;
    k.crypto.push_back(std::move(line));
  }
  for (const auto& f : sdp::fingerprints(d, m))
    k.fingerprints.push_back(f.hash_function + " " + f.value);
  k.setup = sdp::setup(d, m);
  // RFC 8842 §5: media level, or session level when the section has none.
  const sdp::Attribute* tls_id = m.attribute("tls-id");
  if (!tls_id) tls_id = d.attribute("tls-id");
  if (tls_id && tls_id->value) k.tls_id = *tls_id->value;
  if (tls || (k.crypto.empty() && !k.fingerprints.empty())) {
    if (k.fingerprints.empty()) {
      return unexpected(k.proto + " without a=fingerprint (RFC 5763 §5 requires one)");
    }
    k.kind = Keying::Kind::dtls;
    k.crypto.clear();
    return k;
  }
  if (k.crypto.empty()) return unexpected(k.proto + " without a=crypto or a=fingerprint: no keys");
  k.kind = Keying::Kind::sdes;
  k.fingerprints.clear();
  return k;
}

Expected<bool, std::string> dtls_client_answering(std::optional<sdp::Setup> offered) {
  if (!offered) return false;  // RFC 4145 §4: absent means active, so icegate is the server
  switch (*offered) {
    case sdp::Setup::actpass:  // RFC 5763 §5: the answerer SHOULD take the active role
    case sdp::Setup::passive:
      return true;
    case sdp::Setup::active:
      return false;
    case sdp::Setup::holdconn:
      break;
  }
  return unexpected(std::string("a=setup:holdconn (no DTLS connection wanted)"));
}

bool dtls_client_after_answer(std::optional<sdp::Setup> answered) {
  // active (or absent, RFC 4145 §4): the phone connects, icegate is the server. passive:
  // icegate connects. actpass is not allowed in an answer; icegate then connects.
  return answered && *answered != sdp::Setup::active;
}

bool offers_rtcp_mux(const sdp::Description& d) {
  auto s = relayed_section(d);
  return s && sdp::rtcp_mux(d.media[*s]);
}

Expected<RemoteAnalysis, std::string> analyse_remote(const sdp::Description& d, bool phone,
                                                     const acl::Acl* candidate_acl) {
  const auto section = relayed_section(d);
  if (!section) return unexpected(std::string("no active RTP media section in the SDP"));
  const sdp::MediaSection& m = d.media[*section];
  RemoteAnalysis out;
  out.section = *section;
  out.media.rtcp_mux = sdp::rtcp_mux(m);
  for (const auto& f : m.m.formats) {
    unsigned pt = 0;
    const auto [end, ec] = std::from_chars(f.data(), f.data() + f.size(), pt);
    if (ec == std::errc() && end == f.data() + f.size() && pt < 128) {
      out.media.payload_types.push_back(static_cast<std::uint8_t>(pt));
    }
  }
  if (phone) {
    if (m.has_attribute("ice-mismatch")) {
      // RFC 8839 a=ice-mismatch: the answerer cannot use our candidates for every component.
      return unexpected(
          std::string("the phone answered a=ice-mismatch (no candidate it could "
                      "pair with ours for every component)"));
    }
    auto filtered = sdp::filter_remote_candidates(d, candidate_acl);
    if (filtered.reject()) return unexpected(*filtered.reject_reason);
    const auto& mc = filtered.media.at(*section);
    for (const auto& dropped : mc.dropped) {
      out.dropped += (out.dropped.empty() ? "dropped remote candidates: " : "; ") + dropped.to_string();
    }
    if (mc.awaits_peer_reflexive) {
      // behaviour.md §3 / RFC 8445 §7.3.1.3: no candidate to send to, but the phone checks;
      // the candidate ACL travels with the call to the media side (LegSetup::candidate_acl).
      out.media.ice = IceCredentials{std::string(*sdp::ice_ufrag(d, m)),
                                     std::string(*sdp::ice_pwd(d, m))};
      const char* why = mc.ice ? "only candidates it cannot send to"
                        : mc.trickle ? "no candidates yet (trickle ICE)"
                                     : "no candidates";
      out.peer_reflexive = std::string("the phone offered ") + why +
                           ": its media address is learnt from its first authenticated ICE "
                           "check (peer-reflexive)";
      return out;
    }
    // behaviour.md §3: a phone that offers candidates must keep at least one usable RTP
    // candidate; falling back to c= would send media where the candidate ACL said no.
    const bool any_rtp = std::any_of(mc.usable.begin(), mc.usable.end(),
                                     [](const sdp::Candidate& c) { return c.component == 1; });
    if (mc.ice && !any_rtp) {
      return unexpected("no usable ICE candidate left in m= section " + std::to_string(*section) +
                        ": " + (out.dropped.empty() ? std::string("none offered") : out.dropped));
    }
    const auto ufrag = sdp::ice_ufrag(d, m);
    const auto pwd = sdp::ice_pwd(d, m);
    if (mc.ice && ufrag && pwd && !mc.destination_from_connection) {
      out.media.ice = IceCredentials{std::string(*ufrag), std::string(*pwd)};
      for (const auto& c : mc.usable) {
        auto ip = c.ip();
        if (!ip) continue;
        (c.component == 1 ? out.media.rtp : out.media.rtcp).push_back({*ip, c.port});
      }
      return out;
    }
    // A phone without ICE: its c=/m= address, and RTCP as for a trunk (a=rtcp or port + 1).
    if (mc.destination) out.media.rtp.push_back({mc.destination->address, mc.destination->port});
    if (out.media.rtp.empty()) return unexpected(std::string("no usable media address"));
    if (!out.media.rtcp_mux) {
      const auto rtcp = sdp::rtcp(m);
      const std::uint16_t rtcp_port =
          rtcp ? rtcp->port : static_cast<std::uint16_t>(out.media.rtp.front().port + 1);
      out.media.rtcp.push_back({out.media.rtp.front().address, rtcp_port});
    }
    return out;
  }
  // A trunk: c= (media or session level) and the m= port; RTCP from a=rtcp or port + 1.
  auto conn = m.connection();
  if (!conn) conn = d.connection();
  const auto ip = conn ? conn->ip() : std::nullopt;
  if (!ip) return unexpected(std::string("no usable c= address in the SDP"));
  out.media.rtp.push_back({*ip, m.m.port});
  if (!out.media.rtcp_mux) {
    const auto rtcp = sdp::rtcp(m);
    acl::Address rtcp_ip = *ip;
    if (rtcp && rtcp->connection && rtcp->connection->ip()) rtcp_ip = *rtcp->connection->ip();
    const std::uint16_t rtcp_port = rtcp ? rtcp->port : static_cast<std::uint16_t>(m.m.port + 1);
    out.media.rtcp.push_back({rtcp_ip, rtcp_port});
  }
  return out;
}

Expected<std::string, std::string> sdp_for_phone(const sdp::Description& peer,
                                                 const MediaCall& call, Side side,
                                                 const PhoneSdpPolicy& policy) {
  const LocalLeg& leg = call.leg(side);
  sdp::SoftphonePolicy p;
  p.media_address = policy.media_address;
  p.ice_ufrag = leg.ice.ufrag;
  p.ice_pwd = leg.ice.pwd;
  p.public_address = policy.public_address;
  p.rtcp_mux = true;  // RFC 5761: one port whenever the phone agrees
  p.origin = origin_for(policy.media_address, policy.session_id, policy.version);
  p.proto = policy.proto;
  p.dtls = policy.dtls;
  p.crypto = policy.crypto;
  if (policy.phone_offer) {
    // Answering the phone: the answer has the offer's sections, mids and BUNDLE.
    sdp::mirror_offer(p, *policy.phone_offer);
    p.ports = ports_for(*policy.phone_offer, leg.ports.rtp);
    if (peer.media.size() != policy.phone_offer->media.size()) {
      return unexpected(std::string("the answer has a different number of m= sections"));
    }
  } else {
    p.ports = ports_for(peer, leg.ports.rtp);
    if (policy.rtcp_mux) {
      p.rtcp_mux = *policy.rtcp_mux;
    } else {
      p.rtcp_fallback = leg.ports.rtcp != 0;
    }
    if (!p.rtcp_mux && leg.ports.rtcp == 0) {
      return unexpected(std::string("the leg has no RTCP port for a phone without rtcp-mux"));
    }
  }
  auto out = sdp::rewrite_for_softphone(peer, p);
  if (!out) return unexpected(out.error());
  return sdp::serialise(*out);
}

Expected<std::string, std::string> sdp_for_trunk(const sdp::Description& peer,
                                                 const MediaCall& call, Side side,
                                                 const TrunkSdpPolicy& policy) {
  const LocalLeg& leg = call.leg(side);
  sdp::TrunkPolicy p;
  p.media_address = policy.media_address;
  p.ports = ports_for(peer, leg.ports.rtp);
  p.rtcp_mux = leg.ports.rtcp == 0;
  p.origin = origin_for(policy.media_address, policy.session_id, policy.version);
  p.proto = policy.proto;
  p.crypto = policy.crypto;
  auto out = sdp::rewrite_for_trunk(peer, p);
  if (!out) return unexpected(out.error());
  return sdp::serialise(*out);
}

}  // namespace icegate::sip
