#include "conf/values.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace icegate::conf {
namespace {

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

}  // namespace

Expected<unsigned, std::string> parse_unsigned(std::string_view text, unsigned max) {
  if (!all_digits(text)) return unexpected(quoted(text) + " is not a non-negative integer");
  unsigned long long v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || v > max) {
    return unexpected(quoted(text) + " is out of range (0-" + std::to_string(max) + ")");
  }
  return static_cast<unsigned>(v);
}

Expected<std::uint16_t, std::string> parse_port(std::string_view text) {
  if (!all_digits(text)) return unexpected("port " + quoted(text) + " is not a number");
  unsigned long long v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || v < 1 || v > 65535) {
    return unexpected("port " + std::string(text) + " is out of range (1-65535)");
  }
  return static_cast<std::uint16_t>(v);
}

Expected<Duration, std::string> parse_duration(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  const std::string_view number = text.substr(0, digits);
  const std::string_view unit = text.substr(digits);
  if (number.empty() || number.size() > 9) {
    return unexpected("duration " + quoted(text) + " is not a number with an optional unit " +
                      "(ms, s, m, h)");
  }
  std::uint64_t v = 0;
  std::from_chars(number.data(), number.data() + number.size(), v);
  std::uint64_t factor = 0;
  if (unit.empty() || unit == "s") factor = 1000;
  else if (unit == "ms") factor = 1;
  else if (unit == "m") factor = 60'000;
  else if (unit == "h") factor = 3'600'000;
  else return unexpected("duration " + quoted(text) + " has an unknown unit (use ms, s, m or h)");
  return Duration(static_cast<Duration::rep>(v * factor));
}

Expected<bool, std::string> parse_bool(std::string_view text) {
  if (text == "true" || text == "yes" || text == "on" || text == "1") return true;
  if (text == "false" || text == "no" || text == "off" || text == "0") return false;
  return unexpected(quoted(text) + " is not a boolean (true or false)");
}

Expected<Transport, std::string> parse_transport(std::string_view text) {
  if (text == "udp") return Transport::udp;
  if (text == "tcp") return Transport::tcp;
  if (text == "tls") return Transport::tls;
  return unexpected("transport " + quoted(text) + " is not one of udp, tcp, tls");
}

Expected<Transport, std::string> parse_listener_transport(std::string_view text) {
  if (text == "ws") return Transport::ws;
  if (text == "wss") return Transport::wss;
  auto t = parse_transport(text);
  if (!t) return unexpected("transport " + quoted(text) + " is not one of udp, tcp, tls, ws, wss");
  return t;
}

Expected<MediaProfile, std::string> parse_media_profile(std::string_view text) {
  if (text == "rtp") return MediaProfile::rtp;
  if (text == "sdes") return MediaProfile::sdes;
  return unexpected("media profile " + quoted(text) + " is not one of rtp, sdes");
}

Expected<std::string, std::string> parse_name(std::string_view text) {
  if (text.empty()) return unexpected(std::string("name is empty"));
  if (text.size() > 64) return unexpected("name " + quoted(text) + " is longer than 64 characters");
  for (char c : text) {
    if (!is_alnum(c) && c != '_' && c != '-' && c != '.') {
      return unexpected("name " + quoted(text) +
                        " may only hold letters, digits, '_', '-' and '.'");
    }
  }
  return std::string(text);
}

Expected<std::string, std::string> parse_user_name(std::string_view text) {
  if (text.empty()) return unexpected(std::string("user name is empty"));
  static constexpr std::string_view kMarks = "-_.!~*'()&=+$,;?/";  // RFC 3261 user-unreserved
  for (char c : text) {
    if (!is_alnum(c) && kMarks.find(c) == std::string_view::npos) {
      return unexpected("user name " + quoted(text) + " holds a character not allowed in a SIP " +
                        "user part");
    }
  }
  return std::string(text);
}

Expected<std::string, std::string> parse_host(std::string_view text) {
  if (text.empty()) return unexpected(std::string("host is empty"));
  if (acl::Address::parse(text)) return std::string(text);
  if (text.size() > 253) return unexpected("host " + quoted(text) + " is too long");
  // RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens.
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t dot = std::min(text.find('.', start), text.size());
    const std::string_view label = text.substr(start, dot - start);
    const bool ok = !label.empty() && label.size() <= 63 && label.front() != '-' &&
                    label.back() != '-' &&
                    std::all_of(label.begin(), label.end(),
                                [](char c) { return is_alnum(c) || c == '-'; });
    if (!ok) return unexpected("host " + quoted(text) + " is neither an IP address nor a DNS name");
    start = dot + 1;
    if (dot == text.size()) break;
  }
  return std::string(text);
}

Expected<std::string, std::string> parse_prefix(std::string_view text) {
  for (char c : text) {
    if (!(c >= '0' && c <= '9') && c != '+' && c != '*' && c != '#') {
      return unexpected("route prefix " + quoted(text) + " may only hold digits, '+', '*', '#'");
    }
  }
  return std::string(text);
}

std::string format_duration(Duration d) {
  const auto ms = d.count();
  if (ms % 3'600'000 == 0 && ms != 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0 && ms != 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace icegate::conf
