// Address rewriting for the two legs of a call: pure functions (description, policy) ->
// description. The gateway anchors all media, so every address and port of one side is replaced
// by the gateway's own before the description is handed to the other side; codecs and payload
// types pass through unchanged (no transcoding). Output always uses CRLF line endings.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "acl/address.hpp"
#include "acl/expected.hpp"
#include "sip/sdp/attributes.hpp"
#include "sip/sdp/description.hpp"

namespace icegate::sip::sdp {

struct DtlsAttributes {
  Fingerprint fingerprint;
  Setup setup = Setup::actpass;
};

// Toward a softphone: the gateway is an ICE-lite agent (RFC 8445 §2.5) on `media_address`.
struct SoftphonePolicy {
  acl::Address media_address;
  // One per m= section of the input; 0 rejects that section. Without rtcp-mux, RTCP uses
  // port + 1 (RFC 3550 §11), so the allocator must have reserved that port too.
  std::vector<std::uint16_t> ports;
  std::string ice_ufrag;  // RFC 8839 §5.4: 4-256 ice-chars
  std::string ice_pwd;    // RFC 8839 §5.4: 22-256 ice-chars
  // The cached STUN public address, when the public-candidate ACL allows it for this party.
  // RFC 8445 §5.1.3: no srflx candidate when it equals the media address (it would be redundant).
  std::optional<acl::Address> public_address;
  // RFC 5761 §5.1.1: an answer may only multiplex when the offer did (see mirror_offer).
  bool rtcp_mux = true;
  // An offer that asks for rtcp-mux but lets the answerer decline it (RFC 5761 §5.1.3): RTCP
  // candidates (component 2, port + 1) and a=rtcp are offered too. Only with rtcp_mux.
  bool rtcp_fallback = false;
  std::string proto = "RTP/AVP";       // later "UDP/TLS/RTP/SAVPF"
  std::optional<DtlsAttributes> dtls;  // a=fingerprint + a=setup of the gateway's certificate
  std::vector<std::string> crypto;     // SDES: a=crypto values (after "a=crypto:") to add
  // Replaces o= (the B2BUA's own session id and version). Without it the input's o= is kept
  // with the media address in place of the other side's address.
  std::optional<Origin> origin;
  // When answering an offer with a=mid: the offer's mids by section (RFC 5888 §9.1: the answer
  // echoes them); empty keeps the input's a=mid lines. With `bundle`, the answer groups the
  // accepted sections in a=group:BUNDLE.
  std::vector<std::string> mids;
  bool bundle = false;
};

// Fills rtcp_mux, mids and bundle of `p` for an answer to the softphone's `offer`.
void mirror_offer(SoftphonePolicy& p, const Description& offer);

// Output: c= and m= on the media address and allocated ports, proto from the policy, a=ice-lite
// at session level, the gateway's ICE credentials and candidates (one host, plus one srflx on the
// public address with the same port; component 2 too without rtcp-mux) and optional DTLS
// attributes in every accepted section. Removed from the input: every ICE attribute and
// candidate, a=fingerprint / a=setup / a=tls-id / a=connection, a=crypto / a=key-mgmt / k= (the
// gateway terminates crypto on each leg), a=rtcp (the other side's RTCP address), and a=rtcp-mux
// unless the policy multiplexes. Everything else, codecs included, is kept in order. Sections
// that are disabled in the input, have port 0 in the policy, or are not RTP (a data channel
// cannot be relayed once DTLS is terminated) keep their m= line with port 0 (RFC 3264 §6).
// Errors: a policy that does not fit the description (port count, bad ICE credentials, ...).
Expected<Description, std::string> rewrite_for_softphone(const Description& in,
                                                         const SoftphonePolicy& p);

// Toward a PBX or SIP trunk: plain RTP, no ICE, no DTLS.
struct TrunkPolicy {
  acl::Address media_address;
  // By m= section index; only the sections listed by trunk_media_sections() are read.
  std::vector<std::uint16_t> ports;
  std::string proto = "RTP/AVP";    // "RTP/SAVP" with SDES
  std::vector<std::string> crypto;  // SDES: a=crypto values (after "a=crypto:") to add
  bool rtcp_mux = false;
  std::optional<Origin> origin;  // as in SoftphonePolicy
};

// The indexes of the m= sections that stay active toward the trunk: RTP sections with a non-zero
// port; for a BUNDLE offer only the first such audio section, because a plain RTP trunk cannot
// demultiplex several streams on one port (RFC 9143) and the gateway relays one transport.
std::vector<std::size_t> trunk_media_sections(const Description& in);

// Output: c= and m= on the trunk-side address and ports, proto from the policy, the policy's
// a=crypto lines in place of the other side's; every other
// section is kept with port 0, no attributes and no b= (RFC 3264 §5.1 / §6: a disabled stream
// keeps its m= line so that offer and answer keep the same number of sections).
// Removed from active sections, because they are meaningless on a plain RTP trunk:
//   ICE: candidate, remote-candidates, end-of-candidates, ice-*
//   DTLS and keys: fingerprint, setup, tls-id, connection, crypto, key-mgmt, k=
//   the other side's transport: rtcp, rtcp-mux, rtcp-mux-only (rtcp-mux re-added on request)
//   BUNDLE and WebRTC: mid, bundle-only, extmap, extmap-allow-mixed, msid, ssrc, ssrc-group,
//     rid, simulcast, sctp-port, sctpmap, max-message-size, and at session level group,
//     msid-semantic
//   AVPF only (RFC 4585 §4.2, RFC 5506): rtcp-fb, rtcp-rsize, unless the proto ends in "AVPF".
// Codecs (rtpmap, fmtp, ptime, telephone-event) and unknown attributes are kept in order.
Expected<Description, std::string> rewrite_for_trunk(const Description& in, const TrunkPolicy& p);

}  // namespace icegate::sip::sdp
