// The SDP side of a call: what a leg's SDP tells the media engine, and the SDP icegate sends to
// each leg. Thin glue over the pure functions in sip/sdp/.
#pragma once

#include <optional>
#include <string>

#include "acl/acl.hpp"
#include "sip/media_port.hpp"
#include "sip/sdp/description.hpp"

namespace icegate::sip {

struct RemoteAnalysis {
  RemoteMedia media;
  std::string dropped;  // human-readable list of candidates dropped and why (for the log)
};

// What a leg's SDP says about its far end. For a phone leg the candidates are filtered by
// `candidate_acl` (nullptr = allow all), UDP only, IP literals only; when none is usable the
// error text names the candidates and the ACL (the caller answers 488).
Expected<RemoteAnalysis, std::string> analyse_remote(const sdp::Description& d, bool phone,
                                                     const acl::Acl* candidate_acl);

// Whether the party offered RTCP multiplexing on its first audio section.
bool offers_rtcp_mux(const sdp::Description& d);

// SDP toward a softphone leg on `side`, derived from the other leg's SDP.
std::string sdp_for_phone(const sdp::Description& peer, const MediaCall& call, Side side,
                          const acl::Address& media_address, bool rtcp_mux,
                          const std::optional<acl::Address>& public_address);
// SDP toward a trunk leg on `side`, derived from the other leg's SDP.
std::string sdp_for_trunk(const sdp::Description& peer, const MediaCall& call, Side side,
                          const acl::Address& media_address);

}  // namespace icegate::sip
