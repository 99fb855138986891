// A small, strict, round-tripping SDP model (RFC 8866).
//
// A description is a session-level block followed by media sections. Each block keeps its
// non-attribute fields (i=, c=, b=, ...) and its a= attributes in input order, verbatim: only the
// lines the gateway must understand (v=, o=, c=, t=, m=) are checked against the grammar, and
// only m= is stored in parsed form (its canonical serialisation is enforced on input, so it
// round-trips exactly). Everything else is kept as it came.
//
// Round trip: serialise(parse(x)) == x byte for byte when x uses one line ending throughout and
// its last line is terminated. Otherwise every line is written with the ending of the first line
// (a missing final terminator is added). Trailing empty lines (baresip appends one) are kept.
// Descriptions produced by rewriting always use CRLF (RFC 8866 §5).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "acl/address.hpp"
#include "acl/expected.hpp"

namespace icegate::sip::sdp {

struct ParseError {
  std::size_t line = 0;  // 1-based line of the input where parsing failed
  std::string reason;
  std::string to_string() const;  // "line 7: ..."
};

// One non-attribute, non-m= line: type letter and value (the text after '='), verbatim.
struct Field {
  char type = 0;
  std::string value;
  friend bool operator==(const Field&, const Field&) = default;
};

// a=<name>[:<value>]. A property attribute ("a=rtcp-mux") has no value; "a=x:" has an empty one.
struct Attribute {
  std::string name;
  std::optional<std::string> value;
  std::string to_string() const;  // the text after "a="
  friend bool operator==(const Attribute&, const Attribute&) = default;
};

// c=<nettype> <addrtype> <connection-address>. The address is kept as text: it may be an FQDN or
// a multicast address with TTL.
struct Connection {
  std::string nettype = "IN";
  std::string addrtype = "IP4";
  std::string address;

  static Expected<Connection, std::string> parse(std::string_view value);
  static Connection of(const acl::Address& a);  // IN IP4 / IN IP6 <a>
  std::string to_string() const;
  // The unicast IP address, or nullopt for an FQDN, a multicast "addr/ttl" form, or an address
  // family that disagrees with addrtype.
  std::optional<acl::Address> ip() const;
  friend bool operator==(const Connection&, const Connection&) = default;
};

// o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>, kept as text.
struct Origin {
  std::string username = "-";
  std::string session_id;
  std::string session_version;
  std::string nettype = "IN";
  std::string addrtype = "IP4";
  std::string address;

  static Expected<Origin, std::string> parse(std::string_view value);
  std::string to_string() const;
  friend bool operator==(const Origin&, const Origin&) = default;
};

// m=<media> <port>[/<number of ports>] <proto> <fmt> ...
struct MediaLine {
  std::string media;  // audio, video, application, ...
  std::uint16_t port = 0;
  std::optional<std::uint32_t> port_count;
  std::string proto;                 // RTP/AVP, UDP/TLS/RTP/SAVPF, UDP/DTLS/SCTP, ...
  std::vector<std::string> formats;  // RTP payload types for RTP protos, kept as text

  static Expected<MediaLine, std::string> parse(std::string_view value);
  std::string to_string() const;
  friend bool operator==(const MediaLine&, const MediaLine&) = default;
};

// The fields and attributes of one level (session or media), in input order.
struct Block {
  std::vector<Field> fields;
  std::vector<Attribute> attributes;

  const Field* field(char type) const;
  const Attribute* attribute(std::string_view name) const;  // the first one with that name
  std::vector<const Attribute*> attributes_named(std::string_view name) const;
  bool has_attribute(std::string_view name) const { return attribute(name) != nullptr; }
  // Removes every attribute with that name; returns how many were removed.
  std::size_t remove_attributes(std::string_view name);
  // The c= field, parsed; nullopt when absent (parse() has already validated it).
  std::optional<Connection> connection() const;

  friend bool operator==(const Block&, const Block&) = default;
};

struct MediaSection : Block {
  MediaLine m;
  // Replaces the c= field or inserts it where RFC 8866 §5 wants it (after i=, before b=).
  void set_connection(const Connection& c);
  // RFC 3264 §6: port 0 means the stream is rejected or disabled.
  bool rejected() const noexcept { return m.port == 0; }
  friend bool operator==(const MediaSection&, const MediaSection&) = default;
};

enum class LineEnding : std::uint8_t { crlf, lf };

struct Description : Block {
  std::vector<MediaSection> media;
  LineEnding line_ending = LineEnding::crlf;
  std::size_t trailing_empty_lines = 0;

  Origin origin() const;  // parse() guarantees an o= line
  void set_origin(const Origin& o);
  void set_connection(const Connection& c);  // session level
  void remove_connection();                  // session level
  friend bool operator==(const Description&, const Description&) = default;
};

// Parses a complete session description. Accepts CRLF or LF line endings.
Expected<Description, ParseError> parse(std::string_view text);
std::string serialise(const Description& d);

// RFC 8866 §9 token (attribute names, m= media and formats).
bool is_token(std::string_view s) noexcept;
// Canonical unsigned decimal (no sign, no leading zero): what round-trips through to_string.
std::optional<std::uint64_t> parse_decimal(std::string_view s, std::uint64_t max) noexcept;
// Splits on single spaces; empty pieces (double or edge spaces) are kept so callers can reject.
std::vector<std::string_view> split_spaces(std::string_view s);

}  // namespace icegate::sip::sdp
