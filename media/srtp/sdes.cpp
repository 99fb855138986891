#include "media/srtp/sdes.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <charconv>

namespace icegate::media::srtp {
namespace {

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t';
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x | 0x20) == (y | 0x20);
         });
}

struct Token {
  std::string_view text;
  std::size_t column;
};

std::vector<Token> split_ws(std::string_view s) {
  std::vector<Token> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_space(s[i])) ++i;
    const auto start = i;
    while (i < s.size() && !is_space(s[i])) ++i;
    if (i > start) out.push_back({s.substr(start, i - start), start});
  }
  return out;
}

template <class T>
bool parse_uint(std::string_view s, T& out) noexcept {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

Unexpected<SdesError> fail(std::string reason, std::size_t column) {
  return unexpected(SdesError{std::move(reason), column});
}

// RFC 4568 §6.1: lifetime = ["2^"] 1*(DIGIT); SRTP limits it to 2^48 packets (RFC 3711 §9.2).
std::optional<std::uint64_t> parse_lifetime(std::string_view s) {
  std::uint64_t v = 0;
  if (s.starts_with("2^")) {
    unsigned exp = 0;
    if (!parse_uint(s.substr(2), exp) || exp > 48) return std::nullopt;
    return std::uint64_t{1} << exp;
  }
  if (!parse_uint(s, v) || v == 0 || v > (std::uint64_t{1} << 48)) return std::nullopt;
  return v;
}

std::string format_lifetime(std::uint64_t v) {
  if (v != 0 && (v & (v - 1)) == 0) {
    unsigned exp = 0;
    while ((std::uint64_t{1} << exp) != v) ++exp;
    return "2^" + std::to_string(exp);
  }
  return std::to_string(v);
}

// RFC 4568 §6.3: parameters that change the transform are refused; the rest are harmless here.
std::optional<std::string> check_session_param(std::string_view p) {
  if (p == "UNENCRYPTED_SRTP" || p == "UNENCRYPTED_SRTCP" || p == "UNAUTHENTICATED_SRTP") {
    return std::string(p) + " is not supported";
  }
  if (p.starts_with("KDR=")) {
    unsigned kdr = 0;
    if (!parse_uint(p.substr(4), kdr)) return "bad KDR value";
    if (kdr != 0) return "key derivation rate " + std::to_string(kdr) + " is not supported";
    return std::nullopt;
  }
  if (p.starts_with("WSH=")) {
    unsigned wsh = 0;
    if (!parse_uint(p.substr(4), wsh) || wsh < 64) return "bad WSH value";  // §6.3.6
    return std::nullopt;
  }
  if (p.starts_with("FEC_ORDER=")) return std::nullopt;  // no FEC: the order does not matter
  if (p.starts_with("FEC_KEY=")) return std::string("FEC_KEY is not supported");
  return "unknown session parameter " + std::string(p);
}

}  // namespace

std::string base64_encode(std::span<const std::uint8_t> bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(std::max(n, 0)));
  return out;
}

std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text) {
  std::size_t data_len = text.size();
  std::size_t pad = 0;
  while (data_len > 0 && text[data_len - 1] == '=' && pad < 2) {
    --data_len;
    ++pad;
  }
  for (std::size_t i = 0; i < data_len; ++i) {
    const char c = text[i];
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '+' || c == '/';
    if (!ok) return std::nullopt;
  }
  if (data_len % 4 == 1) return std::nullopt;  // no whole byte fits in 6 bits
  if (pad != 0 && (data_len + pad) % 4 != 0) return std::nullopt;
  std::string padded(text.substr(0, data_len));
  const std::size_t missing = (4 - data_len % 4) % 4;
  padded.append(missing, '=');
  std::vector<std::uint8_t> out(padded.size() / 4 * 3);
  const int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(padded.data()),
                                static_cast<int>(padded.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts the bytes the padding stands for; drop them.
  out.resize(static_cast<std::size_t>(n) - missing);
  return out;
}

Expected<SdesCrypto, SdesError> parse_sdes_crypto(std::string_view value) {
  const auto tokens = split_ws(value);
  if (tokens.size() < 3) return fail("expected <tag> <crypto-suite> <key-params>", value.size());
  SdesCrypto c;
  const auto& tag = tokens[0];
  if (tag.text.size() > 9 || !parse_uint(tag.text, c.tag)) {
    return fail("tag must be 1 to 9 digits", tag.column);
  }
  const auto& suite = tokens[1];
  const auto profile = profile_from_sdes_name(suite.text);
  if (!profile) return fail("unsupported crypto-suite " + std::string(suite.text), suite.column);

  const auto& kp = tokens[2];
  if (const auto semi = kp.text.find(';'); semi != std::string_view::npos) {
    return fail("several master keys are not supported", kp.column + semi);
  }
  const auto colon = kp.text.find(':');
  if (colon == std::string_view::npos || !iequals(kp.text.substr(0, colon), "inline")) {
    return fail("key method must be inline", kp.column);
  }
  std::string_view info_text = kp.text.substr(colon + 1);
  std::size_t col = kp.column + colon + 1;
  // key-info = key-salt ["|" lifetime] ["|" mki]; an MKI has the form value:length.
  std::vector<Token> fields;
  for (std::size_t start = 0;;) {
    const auto bar = info_text.find('|', start);
    fields.push_back({info_text.substr(start, bar - start), col + start});
    if (bar == std::string_view::npos) break;
    start = bar + 1;
  }
  if (fields.size() > 3) return fail("too many '|' fields in key-info", fields[3].column);
  for (std::size_t i = 1; i < fields.size(); ++i) {
    if (fields[i].text.find(':') != std::string_view::npos) {
      return fail("MKI is not supported", fields[i].column);
    }
    if (i == 2) return fail("unexpected field after lifetime", fields[i].column);
    c.lifetime = parse_lifetime(fields[i].text);
    if (!c.lifetime) return fail("bad lifetime", fields[i].column);
  }
  auto decoded = base64_decode(fields[0].text);
  if (!decoded) return fail("key-salt is not valid base64", fields[0].column);
  auto key = SrtpKey::from_master(*profile, *decoded);
  OPENSSL_cleanse(decoded->data(), decoded->size());
  if (!key) return fail(key.error(), fields[0].column);
  c.key = *key;

  for (std::size_t i = 3; i < tokens.size(); ++i) {
    if (auto why = check_session_param(tokens[i].text)) return fail(*why, tokens[i].column);
    c.session_params.emplace_back(tokens[i].text);
  }
  return c;
}

std::string format_sdes_crypto(const SdesCrypto& c) {
  std::string out = std::to_string(c.tag);
  out += ' ';
  out += info(c.key.profile()).sdes_name;
  out += " inline:";
  out += base64_encode(c.key.master());
  if (c.lifetime) {
    out += '|';
    out += format_lifetime(*c.lifetime);
  }
  for (const auto& p : c.session_params) {
    out += ' ';
    out += p;
  }
  return out;
}

Expected<SdesCrypto, std::string> make_sdes_crypto(std::uint32_t tag, SrtpProfile profile) {
  auto key = SrtpKey::generate(profile);
  if (!key) return unexpected(std::move(key).error());
  SdesCrypto c;
  c.tag = tag;
  c.key = *key;
  return c;
}

}  // namespace icegate::media::srtp
