#include "sip/sdp/description.hpp"

#include <algorithm>
#include <initializer_list>
#include <limits>

namespace icegate::sip::sdp {
namespace {

// RFC 8866 §5: the order of fields at each level, one group of letters per rank. Letters of one
// group may interleave (t= and r= form time descriptions). -1: not allowed at that level.
int rank_in(std::initializer_list<std::string_view> order, char type) {
  int rank = 0;
  for (std::string_view group : order) {
    if (group.find(type) != std::string_view::npos) return rank;
    ++rank;
  }
  return -1;
}

int session_rank(char type) {
  return rank_in({"v", "o", "s", "i", "u", "e", "p", "c", "b", "tr", "z", "k", "a"}, type);
}
int media_rank(char type) {
  return rank_in({"i", "c", "b", "k", "a"}, type);
}

// Fields that may appear at most once per level. RFC 8866 §5.7 allows several c= per media
// section only for multicast, which a unicast gateway does not take part in.
bool single_per_session(char type) {
  return std::string_view("vosiuczk").find(type) != std::string_view::npos;
}
bool single_per_media(char type) {
  return std::string_view("ick").find(type) != std::string_view::npos;
}

bool is_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_token_char(unsigned char c) {
  // RFC 8866 §9: token-char = %x21 / %x23-27 / %x2A-2B / %x2D-2E / %x30-39 / %x41-5A / %x5E-7E
  return c == 0x21 || (c >= 0x23 && c <= 0x27) || c == 0x2A || c == 0x2B || c == 0x2D ||
         c == 0x2E || (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) ||
         (c >= 0x5E && c <= 0x7E);
}

// proto = token *("/" token)
bool is_proto(std::string_view s) {
  if (s.empty() || s.front() == '/' || s.back() == '/') return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '/') {
      if (s[i + 1] == '/') return false;
    } else if (!is_token_char(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return true;
}

void upsert_field(std::vector<Field>& fields, Field f, int (*rank)(char)) {
  for (auto& existing : fields) {
    if (existing.type == f.type) {
      existing = std::move(f);
      return;
    }
  }
  const int r = rank(f.type);
  auto pos =
      std::find_if(fields.begin(), fields.end(), [&](const Field& x) { return rank(x.type) > r; });
  fields.insert(pos, std::move(f));
}

}  // namespace

std::string ParseError::to_string() const {
  return "line " + std::to_string(line) + ": " + reason;
}

bool is_token(std::string_view s) noexcept {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return is_token_char(static_cast<unsigned char>(c));
  });
}

std::optional<std::uint64_t> parse_decimal(std::string_view s, std::uint64_t max) noexcept {
  if (!is_digits(s) || (s.size() > 1 && s.front() == '0') || s.size() > 20) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (v > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return std::nullopt;
    v = v * 10 + digit;
  }
  if (v > max) return std::nullopt;
  return v;
}

std::vector<std::string_view> split_spaces(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    const auto sp = s.find(' ', start);
    out.push_back(
        s.substr(start, sp == std::string_view::npos ? std::string_view::npos : sp - start));
    if (sp == std::string_view::npos) return out;
    start = sp + 1;
  }
}

std::string Attribute::to_string() const {
  return value ? name + ":" + *value : name;
}

// ---- c= ----

Expected<Connection, std::string> Connection::parse(std::string_view value) {
  const auto parts = split_spaces(value);
  if (parts.size() != 3) return unexpected(std::string("c= needs <nettype> <addrtype> <address>"));
  if (!is_token(parts[0]) || !is_token(parts[1]))
    return unexpected(std::string("bad c= nettype or addrtype"));
  if (parts[2].empty()) return unexpected(std::string("empty c= address"));
  return Connection{std::string(parts[0]), std::string(parts[1]), std::string(parts[2])};
}

Connection Connection::of(const acl::Address& a) {
  return Connection{"IN", a.is_v4() ? "IP4" : "IP6", a.to_string()};
}

std::string Connection::to_string() const {
  return nettype + " " + addrtype + " " + address;
}

std::optional<acl::Address> Connection::ip() const {
  if (nettype != "IN" || address.find('/') != std::string::npos) return std::nullopt;
  auto a = acl::Address::parse(address);
  if (!a) return std::nullopt;
  if ((addrtype == "IP4") != a->is_v4() || (addrtype != "IP4" && addrtype != "IP6"))
    return std::nullopt;
  return *a;
}

// ---- o= ----

Expected<Origin, std::string> Origin::parse(std::string_view value) {
  const auto p = split_spaces(value);
  if (p.size() != 6 || std::any_of(p.begin(), p.end(), [](auto x) { return x.empty(); })) {
    return unexpected(std::string(
        "o= needs <username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>"));
  }
  // RFC 8866 §5.2: sess-id and sess-version are numeric.
  if (!is_digits(p[1]) || !is_digits(p[2]))
    return unexpected(std::string("o= session id and version must be numeric"));
  return Origin{std::string(p[0]), std::string(p[1]), std::string(p[2]),
                std::string(p[3]), std::string(p[4]), std::string(p[5])};
}

std::string Origin::to_string() const {
  return username + " " + session_id + " " + session_version + " " + nettype + " " + addrtype +
         " " + address;
}

// ---- m= ----

Expected<MediaLine, std::string> MediaLine::parse(std::string_view value) {
  const auto p = split_spaces(value);
  if (p.size() < 4) return unexpected(std::string("m= needs <media> <port> <proto> <fmt> ..."));
  MediaLine m;
  if (!is_token(p[0])) return unexpected("bad media type '" + std::string(p[0]) + "'");
  m.media = p[0];
  std::string_view port = p[1];
  if (const auto slash = port.find('/'); slash != std::string_view::npos) {
    const auto count =
        parse_decimal(port.substr(slash + 1), std::numeric_limits<std::uint32_t>::max());
    if (!count || *count == 0)
      return unexpected("bad number of ports in '" + std::string(port) + "'");
    m.port_count = static_cast<std::uint32_t>(*count);
    port = port.substr(0, slash);
  }
  // Non-canonical numbers ("08000") are rejected so that the m= line round-trips exactly.
  const auto num = parse_decimal(port, 65535);
  if (!num) return unexpected("bad port '" + std::string(p[1]) + "' (0-65535 expected)");
  m.port = static_cast<std::uint16_t>(*num);
  if (!is_proto(p[2])) return unexpected("bad transport protocol '" + std::string(p[2]) + "'");
  m.proto = p[2];
  for (std::size_t i = 3; i < p.size(); ++i) {
    if (!is_token(p[i])) return unexpected("bad format '" + std::string(p[i]) + "'");
    m.formats.emplace_back(p[i]);
  }
  return m;
}

std::string MediaLine::to_string() const {
  std::string s = media + " " + std::to_string(port);
  if (port_count) s += "/" + std::to_string(*port_count);
  s += " " + proto;
  for (const auto& f : formats) s += " " + f;
  return s;
}

// ---- blocks ----

const Field* Block::field(char type) const {
  auto it =
      std::find_if(fields.begin(), fields.end(), [&](const Field& f) { return f.type == type; });
  return it == fields.end() ? nullptr : &*it;
}

const Attribute* Block::attribute(std::string_view name) const {
  auto it = std::find_if(attributes.begin(), attributes.end(),
                         [&](const Attribute& a) { return a.name == name; });
  return it == attributes.end() ? nullptr : &*it;
}

std::vector<const Attribute*> Block::attributes_named(std::string_view name) const {
  std::vector<const Attribute*> out;
  for (const auto& a : attributes) {
    if (a.name == name) out.push_back(&a);
  }
  return out;
}

std::size_t Block::remove_attributes(std::string_view name) {
  return std::erase_if(attributes, [&](const Attribute& a) { return a.name == name; });
}

std::optional<Connection> Block::connection() const {
  const Field* c = field('c');
  if (c == nullptr) return std::nullopt;
  auto parsed = Connection::parse(c->value);
  if (!parsed) return std::nullopt;
  return *parsed;
}

void MediaSection::set_connection(const Connection& c) {
  upsert_field(fields, Field{'c', c.to_string()}, media_rank);
}

Origin Description::origin() const {
  const Field* o = field('o');
  if (o != nullptr) {
    if (auto parsed = Origin::parse(o->value)) return *parsed;
  }
  return Origin{};
}

void Description::set_origin(const Origin& o) {
  upsert_field(fields, Field{'o', o.to_string()}, session_rank);
}

void Description::set_connection(const Connection& c) {
  upsert_field(fields, Field{'c', c.to_string()}, session_rank);
}

void Description::remove_connection() {
  std::erase_if(fields, [](const Field& f) { return f.type == 'c'; });
}

// ---- parse / serialise ----

namespace {

// Parser state for one level: the last rank seen and which single-occurrence types appeared.
struct LevelState {
  int last_rank = -1;
  std::string seen;
};

Unexpected<ParseError> fail(std::size_t line, std::string reason) {
  return unexpected(ParseError{line, std::move(reason)});
}

}  // namespace

Expected<Description, ParseError> parse(std::string_view text) {
  Description d;
  LevelState level;
  bool seen_t = false;
  std::size_t lineno = 0;
  std::size_t fields_seen = 0;  // non-empty lines so far
  std::size_t empty_run = 0;    // empty lines since the last field
  std::size_t empty_run_start = 0;
  std::size_t pos = 0;

  while (pos < text.size()) {
    ++lineno;
    const auto nl = text.find('\n', pos);
    std::string_view line =
        text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    LineEnding eol = LineEnding::lf;
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
      eol = LineEnding::crlf;
    }
    if (lineno == 1) d.line_ending = eol;
    if (line.empty()) {
      if (empty_run++ == 0) empty_run_start = lineno;
      continue;
    }
    // Empty lines are tolerated only at the very end (RFC 8866 §5 has none at all).
    if (empty_run > 0) return fail(empty_run_start, "empty line inside the description");
    if (line.find('\r') != std::string_view::npos) return fail(lineno, "CR not followed by LF");
    if (line.find('\0') != std::string_view::npos) return fail(lineno, "NUL byte");
    if (line.size() < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z') {
      return fail(lineno, "expected <type>=<value> with a lowercase type letter");
    }
    const char type = line[0];
    const std::string_view value = line.substr(2);
    ++fields_seen;

    // RFC 8866 §5: v=, o= and s= are the first three lines, in that order.
    static constexpr std::string_view kHead = "vos";
    if (fields_seen <= kHead.size() && type != kHead[fields_seen - 1]) {
      return fail(lineno, std::string("expected ") + kHead[fields_seen - 1] +
                              "= here (RFC 8866 §5: v=, o=, s= come first)");
    }

    if (type == 'm') {
      if (!seen_t)
        return fail(lineno, "m= before any t= (RFC 8866 §5.9: a time description is required)");
      auto m = MediaLine::parse(value);
      if (!m) return fail(lineno, m.error());
      d.media.push_back(MediaSection{{}, std::move(*m)});
      level = LevelState{};
      continue;
    }

    const bool in_media = !d.media.empty();
    const int rank = in_media ? media_rank(type) : session_rank(type);
    if (rank < 0) {
      if (session_rank(type) < 0)
        return fail(lineno,
                    std::string("unknown type letter '") + type + "' (RFC 8866 §5: MUST reject)");
      return fail(lineno, std::string(1, type) + "= is not allowed in a media section");
    }
    if (rank < level.last_rank) {
      return fail(lineno,
                  std::string(1, type) + "= out of order (RFC 8866 §5 fixes the order of fields)");
    }
    level.last_rank = rank;
    if (in_media ? single_per_media(type) : single_per_session(type)) {
      if (level.seen.find(type) != std::string::npos)
        return fail(lineno, std::string("repeated ") + type + "=");
      level.seen += type;
    }
    Block& block = in_media ? static_cast<Block&>(d.media.back()) : static_cast<Block&>(d);

    if (type == 'a') {
      const auto colon = value.find(':');
      const std::string_view name = value.substr(0, colon);
      if (!is_token(name))
        return fail(lineno, "attribute name '" + std::string(name) + "' is not a token");
      Attribute a{std::string(name), std::nullopt};
      if (colon != std::string_view::npos) a.value = std::string(value.substr(colon + 1));
      block.attributes.push_back(std::move(a));
      continue;
    }

    switch (type) {
      case 'v':
        if (value != "0")
          return fail(lineno, "unsupported SDP version '" + std::string(value) + "'");
        break;
      case 'o':
        if (auto o = Origin::parse(value); !o) return fail(lineno, o.error());
        break;
      case 'c':
        if (auto c = Connection::parse(value); !c) return fail(lineno, c.error());
        break;
      case 't': {
        const auto p = split_spaces(value);
        if (p.size() != 2 || !is_digits(p[0]) || !is_digits(p[1])) {
          return fail(lineno, "t= needs <start-time> <stop-time>");
        }
        seen_t = true;
        break;
      }
      case 'r':
        if (!seen_t) return fail(lineno, "r= without a preceding t=");
        break;
      default:
        break;
    }
    block.fields.push_back(Field{type, std::string(value)});
  }

  if (fields_seen == 0) return fail(1, "empty session description (expected v=0)");
  if (fields_seen < 3) return fail(lineno, "truncated description: v=, o= and s= are required");
  if (!seen_t) return fail(lineno, "missing t= (RFC 8866 §5.9)");
  d.trailing_empty_lines = empty_run;
  return d;
}

std::string serialise(const Description& d) {
  const std::string_view eol = d.line_ending == LineEnding::crlf ? "\r\n" : "\n";
  std::string out;
  const auto put_block = [&](const Block& b) {
    for (const auto& f : b.fields) {
      out += f.type;
      out += '=';
      out += f.value;
      out += eol;
    }
    for (const auto& a : b.attributes) {
      out += "a=";
      out += a.to_string();
      out += eol;
    }
  };
  put_block(d);
  for (const auto& m : d.media) {
    out += "m=";
    out += m.m.to_string();
    out += eol;
    put_block(m);
  }
  for (std::size_t i = 0; i < d.trailing_empty_lines; ++i) out += eol;
  return out;
}

}  // namespace icegate::sip::sdp
