#include "sip/sdp/payload_types.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "sip/sdp/attributes.hpp"

namespace icegate::sip::sdp {
namespace {

struct StaticType {
  std::uint8_t pt;
  const char* encoding;
  std::uint32_t clock_rate;
  std::uint32_t channels;
};

// RFC 3551 §6, table 4 (audio); the unassigned and video numbers are left out.
constexpr StaticType kStatic[] = {
    {0, "pcmu", 8000, 1},  {3, "gsm", 8000, 1},   {4, "g723", 8000, 1},   {5, "dvi4", 8000, 1},
    {6, "dvi4", 16000, 1}, {7, "lpc", 8000, 1},   {8, "pcma", 8000, 1},   {9, "g722", 8000, 1},
    {10, "l16", 44100, 2}, {11, "l16", 44100, 1}, {12, "qcelp", 8000, 1}, {13, "cn", 8000, 1},
    {14, "mpa", 90000, 1}, {15, "g728", 8000, 1}, {16, "dvi4", 11025, 1}, {17, "dvi4", 22050, 1},
    {18, "g729", 8000, 1},
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::vector<PayloadType> payload_types(const MediaSection& m) {
  std::vector<PayloadType> out;
  for (const auto& f : m.m.formats) {
    unsigned pt = 0;
    const auto [end, ec] = std::from_chars(f.data(), f.data() + f.size(), pt);
    if (ec != std::errc() || end != f.data() + f.size() || pt > 127) continue;
    PayloadType t;
    t.pt = static_cast<std::uint8_t>(pt);
    if (auto r = rtpmap(m, pt); r && r->clock_rate != 0) {
      t.encoding = lower(r->encoding);
      t.clock_rate = r->clock_rate;
      if (r->parameters) {
        unsigned ch = 0;
        const auto& p = *r->parameters;
        const auto [e, err] = std::from_chars(p.data(), p.data() + p.size(), ch);
        if (err == std::errc() && e == p.data() + p.size() && ch > 0) t.channels = ch;
      }
    } else {
      const auto* s = std::find_if(std::begin(kStatic), std::end(kStatic),
                                   [pt](const StaticType& st) { return st.pt == pt; });
      if (s == std::end(kStatic)) continue;
      t.encoding = s->encoding;
      t.clock_rate = s->clock_rate;
      t.channels = s->channels;
    }
    out.push_back(std::move(t));
  }
  return out;
}

bool same_codec(const PayloadType& a, const PayloadType& b) noexcept {
  return a.encoding == b.encoding && a.clock_rate == b.clock_rate && a.channels == b.channels;
}

std::vector<PayloadType> merge_payload_types(std::vector<PayloadType> list,
                                             std::span<const PayloadType> more) {
  for (const auto& t : more) {
    const bool taken =
        std::any_of(list.begin(), list.end(), [&t](const PayloadType& l) { return l.pt == t.pt; });
    if (!taken) list.push_back(t);
  }
  return list;
}

std::vector<std::pair<std::uint8_t, std::uint8_t>> payload_type_map(
    std::span<const PayloadType> from, std::span<const PayloadType> to) {
  std::vector<std::pair<std::uint8_t, std::uint8_t>> out;
  for (const auto& f : from) {
    // A payload type that `to` uses for the same codec stays as it is.
    const bool same_number = std::any_of(to.begin(), to.end(), [&f](const PayloadType& t) {
      return t.pt == f.pt && same_codec(t, f);
    });
    if (same_number) continue;
    const auto it =
        std::find_if(to.begin(), to.end(), [&f](const PayloadType& t) { return same_codec(t, f); });
    if (it == to.end()) continue;
    const bool seen =
        std::any_of(out.begin(), out.end(), [&f](const auto& p) { return p.first == f.pt; });
    if (!seen) out.emplace_back(f.pt, it->pt);
  }
  return out;
}

}  // namespace icegate::sip::sdp
