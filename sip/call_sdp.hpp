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

namespace icegate::sip {

struct RemoteAnalysis {
  RemoteMedia media;
  std::size_t section = 0;  // the relayed m= section
  std::string dropped;      // candidates dropped and why (for the call's log); empty if none
};

// What a leg's SDP says about its far end. For a phone leg the candidates are filtered by
// `candidate_acl` (nullptr = allow all), UDP only, IP literals only; when none is usable the
// error names the candidates and the ACL (the caller answers 488).
Expected<RemoteAnalysis, std::string> analyse_remote(const sdp::Description& d, bool phone,
                                                     const acl::Acl* candidate_acl);

// Whether the party offered RTCP multiplexing on its relayed section.
bool offers_rtcp_mux(const sdp::Description& d);

struct PhoneSdpPolicy {
  acl::Address media_address;
  std::optional<acl::Address> public_address;  // srflx candidate when set
  // When answering the phone: its offer (mids, BUNDLE and rtcp-mux are mirrored from it).
  const sdp::Description* phone_offer = nullptr;
  std::string session_id;  // o= of the B2BUA's own session toward this leg
  unsigned version = 1;
};

// SDP toward the softphone leg on `side`, derived from the other leg's SDP `peer`.
Expected<std::string, std::string> sdp_for_phone(const sdp::Description& peer,
                                                 const MediaCall& call, Side side,
                                                 const PhoneSdpPolicy& policy);
// SDP toward the trunk leg on `side`, derived from the other leg's SDP `peer`.
Expected<std::string, std::string> sdp_for_trunk(const sdp::Description& peer,
                                                 const MediaCall& call, Side side,
                                                 const acl::Address& media_address,
                                                 const std::string& session_id, unsigned version);

}  // namespace icegate::sip
