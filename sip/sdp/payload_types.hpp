// The payload types of an RTP m= line as codecs (a=rtpmap, or RFC 3551 §6's static table), and
// the mapping between two parties that number the same codec differently (a trunk's
// telephone-event 101 is a browser's 126). Pure functions; the call layer hands the result to
// the relay as numbers (sip/media_port.hpp PayloadTypes).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "sip/sdp/description.hpp"

namespace icegate::sip::sdp {

struct PayloadType {
  std::uint8_t pt = 0;
  std::string encoding;  // lower case (RFC 4855 §3: encoding names are case-insensitive)
  std::uint32_t clock_rate = 0;
  std::uint32_t channels = 1;
  bool event() const noexcept { return encoding == "telephone-event"; }  // RFC 4733
  friend bool operator==(const PayloadType&, const PayloadType&) = default;
};

// The m= line's payload types in m= order: a=rtpmap where given, else RFC 3551's static
// assignment (0 PCMU/8000, 8 PCMA/8000, 9 G722/8000: RFC 3551 §4.5.2 keeps G722 at 8000 although
// it samples at 16 kHz, ...). A dynamic type without a=rtpmap is left out (nothing says what it
// is).
std::vector<PayloadType> payload_types(const MediaSection& m);

// Same codec: encoding name, clock rate and channels (fmtp parameters are not compared).
bool same_codec(const PayloadType& a, const PayloadType& b) noexcept;

// `list` followed by those of `more` whose payload type `list` does not use yet.
std::vector<PayloadType> merge_payload_types(std::vector<PayloadType> list,
                                             std::span<const PayloadType> more);

// For every payload type of `from` whose codec `to` has under another number (its first one):
// {from's, to's}. What a party sends (`from`) reaches the other (`to`) in its own numbering.
std::vector<std::pair<std::uint8_t, std::uint8_t>> payload_type_map(
    std::span<const PayloadType> from, std::span<const PayloadType> to);

}  // namespace icegate::sip::sdp
