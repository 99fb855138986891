// The SDP side of a call: what a leg's SDP tells the media engine, and the SDP icegate sends to
// each leg. Thin glue over the pure functions in sip/sdp/.
//
// One audio stream per call is relayed: the first active RTP section (for a BUNDLE offer the
// first audio section). Every other section is answered with port 0 (RFC 3264 §6).
#pragma once

#include <optional>
#include <string>

#include "acl/acl.hpp"
#include "sip/media_port.hpp"
#include "sip/sdp/description.hpp"
#include "sip/sdp/rewrite.hpp"

namespace icegate::sip {

struct RemoteAnalysis {
  RemoteMedia media;
  std::size_t section = 0;  // the relayed m= section
  std::string dropped;      // candidates dropped and why (for the call's log); empty if none
  // Set when the phone's ICE leg has no candidate icegate can send to (mDNS names, non-UDP, or
  // none yet) and its address is learnt from its first authenticated check: says so for the
  // call's log. Empty otherwise.
  std::string peer_reflexive;
};

// What a leg's SDP says about its far end. For a phone leg the candidates are filtered by
// `candidate_acl` (nullptr = allow all), UDP only, IP literals only. A phone that does ICE and
// offers only mDNS names / non-UDP candidates, or none yet (trickle), is an ICE leg without
// candidates: the media side learns its address from its first check (behaviour.md §3). When
// media cannot arrive at all the error names the candidates and the ACL (the caller answers
// 488).
Expected<RemoteAnalysis, std::string> analyse_remote(const sdp::Description& d, bool phone,
                                                     const acl::Acl* candidate_acl);

// Whether the party offered RTCP multiplexing on its relayed section.
bool offers_rtcp_mux(const sdp::Description& d);

// How a party's relayed section exchanges SRTP keys (behaviour.md §5).
struct Keying {
  enum class Kind : std::uint8_t { none, dtls, sdes };
  Kind kind = Kind::none;
  std::string proto;                      // of the relayed section, e.g. "UDP/TLS/RTP/SAVPF"
  std::vector<std::string> fingerprints;  // dtls: a=fingerprint values ("sha-256 AB:...")
  std::optional<sdp::Setup> setup;        // dtls: the party's a=setup, if given
  std::string tls_id;                     // dtls: the party's a=tls-id (RFC 8842), if given
  std::vector<std::string> crypto;        // sdes: a=crypto values, in order
};
std::string_view to_string(Keying::Kind k);

// The keying of the relayed section: DTLS for UDP/TLS/RTP/SAVP(F) (and for RTP/SAVP(F) with a
// fingerprint and no a=crypto, as old WebRTC stacks send), SDES for RTP/SAVP(F) with a=crypto,
// none for RTP/AVP(F). Errors: a secure profile without the keys it needs.
Expected<Keying, std::string> keying_of(const sdp::Description& d);

// icegate's DTLS role (true: client, a=setup:active) when answering an offer that says
// `offered` (RFC 5763 §5; RFC 4145 §4: absent means active), and after an answer to icegate's
// actpass offer. Error: holdconn (no connection wanted).
Expected<bool, std::string> dtls_client_answering(std::optional<sdp::Setup> offered);
bool dtls_client_after_answer(std::optional<sdp::Setup> answered);

// What the SDP toward one leg carries besides the other leg's media description.
struct LegSdpPolicy {
  acl::Address media_address;
  std::string session_id;  // o= of the B2BUA's own session toward this leg
  unsigned version = 1;
  std::string proto = "RTP/AVP";
  std::vector<std::string> crypto;  // SDES a=crypto values
};

struct PhoneSdpPolicy : LegSdpPolicy {
  std::optional<acl::Address> public_address;  // srflx candidate when set
  // When answering the phone: its offer (mids, BUNDLE and rtcp-mux are mirrored from it).
  const sdp::Description* phone_offer = nullptr;
  std::optional<sdp::DtlsAttributes> dtls;  // a=fingerprint + a=setup
  // Offering: what the phone agreed to about rtcp-mux in an earlier offer/answer; unknown
  // offers rtcp-mux with a fallback RTCP port when the leg has one (RFC 5761 §5.1.3).
  std::optional<bool> rtcp_mux;
};

using TrunkSdpPolicy = LegSdpPolicy;

// SDP toward the softphone leg on `side`, derived from the other leg's SDP `peer`.
Expected<std::string, std::string> sdp_for_phone(const sdp::Description& peer,
                                                 const MediaCall& call, Side side,
                                                 const PhoneSdpPolicy& policy);
// SDP toward the trunk leg on `side`, derived from the other leg's SDP `peer`.
Expected<std::string, std::string> sdp_for_trunk(const sdp::Description& peer,
                                                 const MediaCall& call, Side side,
                                                 const TrunkSdpPolicy& policy);

}  // namespace icegate::sip
