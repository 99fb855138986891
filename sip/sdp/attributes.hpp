// Typed read access to the SDP attributes the gateway understands. Attributes are parsed on
// demand; a malformed one reads as absent (the description still round-trips it verbatim).
//
// Where an attribute may sit at session or media level, the media-level one wins (RFC 8866 §5:
// media-level attributes override session-level ones). baresip writes ICE and DTLS attributes
// at session level, linphone and browsers at media level; callers need not care.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sip/sdp/candidate.hpp"
#include "sip/sdp/description.hpp"

namespace icegate::sip::sdp {

// The attribute at media level, else at session level; nullptr when neither has it.
const Attribute* find_effective(const Description& d, const MediaSection& m, std::string_view name);

// ---- codecs ----

// a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>] (RFC 8866 §6.6)
struct RtpMap {
  unsigned payload_type = 0;
  std::string encoding;
  std::uint32_t clock_rate = 0;
  std::optional<std::string> parameters;  // channels for audio
};
std::optional<RtpMap> rtpmap(const MediaSection& m, unsigned payload_type);
// a=fmtp:<payload type> <parameters> (RFC 8866 §6.15): the parameters text.
std::optional<std::string_view> fmtp(const MediaSection& m, unsigned payload_type);
// a=rtcp-fb:<pt> <feedback> (RFC 4585 §4.2): the feedback values for that payload type,
// including the ones given for every payload type with "*", in order.
std::vector<std::string_view> rtcp_fb(const MediaSection& m, unsigned payload_type);

// ---- direction and RTCP ----

enum class Direction : std::uint8_t { sendrecv, sendonly, recvonly, inactive };
std::string_view to_string(Direction d);
// RFC 8866 §6.7: media level, else session level, else sendrecv.
Direction direction(const Description& d, const MediaSection& m);

// RFC 5761 §5.1.1
bool rtcp_mux(const MediaSection& m);

// a=rtcp:<port> [<nettype> <addrtype> <address>] (RFC 3605)
struct Rtcp {
  std::uint16_t port = 0;
  std::optional<Connection> connection;
};
std::optional<Rtcp> rtcp(const MediaSection& m);

// ---- ICE (RFC 8839 §5) ----

std::optional<std::string_view> ice_ufrag(const Description& d, const MediaSection& m);
std::optional<std::string_view> ice_pwd(const Description& d, const MediaSection& m);
std::vector<std::string_view> ice_options(const Description& d, const MediaSection& m);
// RFC 8839 §5.3 defines ice-lite at session level; media level is tolerated.
bool ice_lite(const Description& d, const MediaSection& m);
// Well-formed a=candidate attributes of the section, in SDP order.
std::vector<Candidate> candidates(const MediaSection& m);
// The ICE attributes and candidate lines a gateway leg replaces with its own.
bool is_ice_attribute(std::string_view name);

// ---- DTLS (RFC 8122, RFC 4145) ----

struct Fingerprint {
  std::string hash_function;  // "sha-256", as written
  std::string value;          // hex pairs separated by ':'
  friend bool operator==(const Fingerprint&, const Fingerprint&) = default;
};
// RFC 8122 §5: media-level fingerprints replace session-level ones; several may be given.
std::vector<Fingerprint> fingerprints(const Description& d, const MediaSection& m);

enum class Setup : std::uint8_t { active, passive, actpass, holdconn };
std::string_view to_string(Setup s);
std::optional<Setup> setup(const Description& d, const MediaSection& m);

// ---- BUNDLE (RFC 9143) ----

std::optional<std::string_view> mid(const MediaSection& m);
// The identification tags of the first a=group:BUNDLE, in order; empty when there is none.
std::vector<std::string_view> bundle_group(const Description& d);

// ---- SDES (RFC 4568 §9.1) ----

// a=crypto:<tag> <crypto-suite> <key-params> [<session-params>]
struct Crypto {
  std::uint32_t tag = 0;
  std::string suite;
  std::string key_params;
  std::vector<std::string> session_params;
};
std::vector<Crypto> crypto(const MediaSection& m);

}  // namespace icegate::sip::sdp
