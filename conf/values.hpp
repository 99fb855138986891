// Parsing of single configuration values (ports, durations, booleans, names). Pure functions;
// each error is a sentence the loader prefixes with file:line.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "acl/expected.hpp"
#include "conf/config.hpp"

namespace icegate::conf {

Expected<std::uint16_t, std::string> parse_port(std::string_view text);
Expected<unsigned, std::string> parse_unsigned(std::string_view text, unsigned max);
// "30" (seconds), "30s", "500ms", "2m", "1h".
Expected<Duration, std::string> parse_duration(std::string_view text);
// true/false, yes/no, on/off, 1/0.
Expected<bool, std::string> parse_bool(std::string_view text);
Expected<Transport, std::string> parse_transport(std::string_view text);
// A SIP listener's transport: parse_transport's, plus ws and wss (RFC 7118).
Expected<Transport, std::string> parse_listener_transport(std::string_view text);
Expected<MediaProfile, std::string> parse_media_profile(std::string_view text);
// Names of ACLs, servers, trunks, groups: letters, digits, '_', '-', '.'.
Expected<std::string, std::string> parse_name(std::string_view text);
// SIP user parts of configured users: letters, digits and the RFC 3261 unreserved marks.
Expected<std::string, std::string> parse_user_name(std::string_view text);
// Hosts: an IP literal or a DNS name (RFC 1123 labels).
Expected<std::string, std::string> parse_host(std::string_view text);
// A dial-string prefix for routes: digits, '+', '*', '#' or empty.
Expected<std::string, std::string> parse_prefix(std::string_view text);
std::string format_duration(Duration d);

}  // namespace icegate::conf
