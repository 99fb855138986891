// XML -> Config. Walks the documents once, checks every element and attribute name against the
// schema below, converts values into typed fields and then runs the cross-checks (references,
// duplicates, ranges) in validate.cpp. Every problem becomes a Diagnostic with file and line.
#include <pugixml.hpp>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "acl/unique_fd.hpp"
#include "conf/config.hpp"
#include "conf/contact.hpp"
#include "conf/loader_state.hpp"
#include "conf/security_values.hpp"
#include "conf/values.hpp"

namespace icegate::conf {
namespace {

namespace fs = std::filesystem;

// A configuration, include or token file is read whole, and only when it is a regular file of
// at most this size: a FIFO would block a reload (and the shutdown waiting for it) forever, and
// /dev/zero would grow without end (issue 13).
constexpr std::size_t kMaxFileBytes = 4 * 1024 * 1024;

Expected<std::string, std::string> read_whole_file(const std::string& path) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fd) return unexpected(std::string(std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return unexpected(std::string(std::strerror(errno)));
  if (!S_ISREG(st.st_mode)) {
    return unexpected(std::string(S_ISDIR(st.st_mode)    ? "a directory"
                                  : S_ISFIFO(st.st_mode) ? "a FIFO"
                                  : S_ISCHR(st.st_mode)  ? "a character device"
                                                         : "not a regular file") +
                      ", not a regular file");
  }
  if (static_cast<std::uintmax_t>(st.st_size) > kMaxFileBytes) {
    return unexpected("larger than " + std::to_string(kMaxFileBytes / (1024 * 1024)) +
                      " MiB (" + std::to_string(st.st_size) + " bytes)");
  }
  std::string text;
  char buf[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return unexpected(std::string(std::strerror(errno)));
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > kMaxFileBytes) {
      return unexpected("larger than " + std::to_string(kMaxFileBytes / (1024 * 1024)) + " MiB");
    }
  }
  return text;
}

constexpr int kMaxIncludeDepth = 16;

// One parsed file; kept alive while its nodes are walked.
struct Document {
  std::string path;
  std::string text;
  std::vector<std::size_t> line_starts;  // byte offset of each line
  pugi::xml_document xml;

  unsigned line_of(std::ptrdiff_t offset) const {
    if (offset < 0) return 0;
    auto it = std::upper_bound(line_starts.begin(), line_starts.end(),
                               static_cast<std::size_t>(offset));
    return static_cast<unsigned>(it - line_starts.begin());
  }
};

// An element together with where it stands.
struct Node {
  const Document* doc;
  pugi::xml_node xml;
  Location where() const { return {doc->path, doc->line_of(xml.offset_debug())}; }
  std::string_view name() const { return xml.name(); }
};

class Loader {
 public:
  explicit Loader(LoaderState& st) : st_(st) {}

  void load_file(const std::string& path, const Location* included_from, int depth) {
    auto doc = std::make_unique<Document>();
    doc->path = path;
    auto text = read_whole_file(path);
    if (!text) {
      if (included_from) {
        st_.error(*included_from, "cannot read included file \"" + path + "\": " + text.error());
      } else {
        st_.error({path, 0}, "cannot read configuration file: " + text.error());
      }
      return;
    }
    doc->text = std::move(*text);
    load_document(std::move(doc), included_from, depth);
  }

  void load_document(std::unique_ptr<Document> doc, const Location* included_from, int depth) {
    doc->line_starts.push_back(0);
    for (std::size_t i = 0; i < doc->text.size(); ++i) {
      if (doc->text[i] == '\n') doc->line_starts.push_back(i + 1);
    }
    const auto res = doc->xml.load_buffer(doc->text.data(), doc->text.size(),
                                          pugi::parse_default | pugi::parse_ws_pcdata_single);
    if (!res) {
      st_.error({doc->path, doc->line_of(res.offset)},
                std::string("XML syntax error: ") + res.description());
      return;
    }
    st_.cfg.files.push_back(doc->path);
    const Document* d = doc.get();
    docs_.push_back(std::move(doc));

    const pugi::xml_node root = d->xml.document_element();
    const Node root_node{d, root};
    if (included_from == nullptr && root_node.name() != "icegate") {
      st_.error(root_node.where(), "the root element must be <icegate>, not <" +
                                       std::string(root_node.name()) + ">");
      return;
    }
    if (root_node.name() == "icegate") {
      check_attributes(root_node, {});
      for (auto child : root.children()) {
        if (child.type() == pugi::node_element) top_level({d, child}, depth);
        else if (child.type() == pugi::node_pcdata) stray_text({d, root});
      }
    } else {
      // An included file may hold a single section (<users>, <acls>, ...) as its root.
      top_level(root_node, depth);
    }
  }

 private:
  void stray_text(const Node& parent) {
    st_.error(parent.where(), "unexpected text inside <" + std::string(parent.name()) + ">");
  }

  // Rejects attributes not in `allowed`.
  void check_attributes(const Node& n, std::initializer_list<std::string_view> allowed) {
    for (auto a : n.xml.attributes()) {
      if (std::find(allowed.begin(), allowed.end(), std::string_view(a.name())) == allowed.end()) {
        st_.error(n.where(), "unknown attribute \"" + std::string(a.name()) + "\" on <" +
                                 std::string(n.name()) + ">");
      }
    }
  }

  // Calls `fn` for each child element; unknown element names and stray text are errors.
  template <class Fn>
  void for_children(const Node& n, std::initializer_list<std::string_view> allowed, Fn&& fn) {
    for (auto child : n.xml.children()) {
      if (child.type() == pugi::node_pcdata || child.type() == pugi::node_cdata) {
        stray_text(n);
        continue;
      }
      if (child.type() != pugi::node_element) continue;
      const Node c{n.doc, child};
      if (std::find(allowed.begin(), allowed.end(), c.name()) == allowed.end()) {
        st_.error(c.where(), "unknown element <" + std::string(c.name()) + "> inside <" +
                                 std::string(n.name()) + ">");
        continue;
      }
      fn(c);
    }
  }

  void no_children(const Node& n) { for_children(n, {}, [](const Node&) {}); }

  std::optional<std::string> attr(const Node& n, const char* name, bool required) {
    const auto a = n.xml.attribute(name);
    if (!a) {
      if (required) {
        st_.error(n.where(), "<" + std::string(n.name()) + "> needs the attribute \"" + name + "\"");
      }
      return std::nullopt;
    }
    return std::string(a.value());
  }

  // Reads attribute `name` through `parse` into `out` when present.
  template <class T, class Parse>
  bool value(const Node& n, const char* name, bool required, T& out, Parse&& parse) {
    auto text = attr(n, name, required);
    if (!text) return false;
    auto v = parse(*text);
    if (!v) {
      st_.error(n.where(), std::string(name) + ": " + v.error());
      return false;
    }
    out = std::move(*v);
    return true;
  }

  template <class T, class Parse>
  bool value(const Node& n, const char* name, bool required, std::optional<T>& out, Parse&& parse) {
    T tmp{};
    if (!value(n, name, required, tmp, std::forward<Parse>(parse))) return false;
    out = std::move(tmp);
    return true;
  }

  static Expected<std::string, std::string> any_text(std::string_view s) { return std::string(s); }
  static Expected<std::string, std::string> non_empty(std::string_view s) {
    if (s.empty()) return unexpected(std::string("must not be empty"));
    return std::string(s);
  }
  static Expected<acl::Address, std::string> address(std::string_view s) {
    return acl::Address::parse(s);
  }

  // Sections that may appear once only (across all files).
  bool once(const Node& n) {
    const std::string key(n.name());
    auto [it, fresh] = singletons_.emplace(key, n.where());
    if (!fresh) {
      st_.error(n.where(), "<" + key + "> appears twice (first at " + it->second.to_string() + ")");
    }
    return fresh;
  }

  void top_level(const Node& n, int depth) {
    const std::string_view name = n.name();
    if (name == "include") return include(n, depth);
    if (name == "logging") return logging(n);
    if (name == "admin") return admin(n);
    if (name == "capture") return capture(n);
    if (name == "sip") return sip(n);
    if (name == "media") return media(n);
    if (name == "stun") return stun(n);
    if (name == "dtls") return dtls(n);
    if (name == "turn") return turn(n);
    if (name == "groups") return groups(n);
    if (name == "acls") return acls(n);
    if (name == "acl-policy") return acl_policy(n);
    if (name == "users") return users(n);
    if (name == "trunks") return trunks(n);
    if (name == "routes") return routes(n);
    st_.error(n.where(), "unknown element <" + std::string(name) + "> inside <icegate>");
  }

  void include(const Node& n, int depth) {
    check_attributes(n, {"file"});
    no_children(n);
    auto file = attr(n, "file", true);
    if (!file) return;
    const Location here = n.where();
    if (depth >= kMaxIncludeDepth) {
      st_.error(here, "includes nested deeper than " + std::to_string(kMaxIncludeDepth) +
                          " levels (an include cycle?)");
      return;
    }
    fs::path p(*file);
    if (p.is_relative()) p = fs::path(n.doc->path).parent_path() / p;
    const std::string path = p.lexically_normal().string();
    if (std::find(st_.cfg.files.begin(), st_.cfg.files.end(), path) != st_.cfg.files.end()) {
      st_.error(here, "\"" + path + "\" is included twice (or includes itself)");
      return;
    }
    load_file(path, &here, depth + 1);
  }

  void logging(const Node& n) {
    if (!once(n)) return;
    check_attributes(n, {"level", "sofia-level"});
    no_children(n);
    static constexpr auto level = [](std::string_view s) -> Expected<std::string, std::string> {
      for (std::string_view l : {"trace", "debug", "info", "warn", "error", "off"}) {
        if (s == l) return std::string(s);
      }
      return unexpected("log level \"" + std::string(s) +
                        "\" is not one of trace, debug, info, warn, error, off");
    };
    value(n, "level", false, st_.cfg.logging.level, level);
    value(n, "sofia-level", false, st_.cfg.logging.sofia_level, level);
  }

  void admin(const Node& n) {
    if (!once(n)) return;
    check_attributes(n, {"address", "port", "token", "token-file", "certificate", "private-key",
                         "client-ca"});
    no_children(n);
    Admin a;
    a.where = n.where();
    value(n, "address", false, a.address, address);
    value(n, "port", false, a.port, parse_port);
    value(n, "token", false, a.token, non_empty);
    std::string token_file;
    value(n, "token-file", false, token_file, relative_file(n));
    if (!token_file.empty()) {
      if (!a.token.empty()) {
        st_.error(a.where, "<admin> has both token and token-file: give one");
      } else if (auto t = read_token(token_file); t) {
        a.token = std::move(*t);
      } else {
        st_.error(a.where, "token-file \"" + token_file + "\": " + t.error());
      }
    }
    const auto file = relative_file(n);
    value(n, "certificate", false, a.certificate_file, file);
    value(n, "private-key", false, a.private_key_file, file);
    value(n, "client-ca", false, a.client_ca_file, file);
    if (a.certificate_file.empty() != a.private_key_file.empty()) {
      st_.error(a.where, "<admin> needs both certificate and private-key for HTTPS");
    }
    if (!a.client_ca_file.empty() && a.certificate_file.empty()) {
      st_.error(a.where, "<admin> client-ca (mutual TLS) needs certificate and private-key");
    }
    // Whoever reaches the control API can hang up calls: off loopback it must authenticate.
    if (!a.address.is_loopback() && a.token.empty() && a.client_ca_file.empty()) {
      st_.error(a.where, "admin address " + a.address.to_string() +
                             " is not loopback: set token (or token-file) or client-ca");
    }
    st_.cfg.admin = std::move(a);
  }

  void capture(const Node& n) {
    if (!once(n)) return;
    check_attributes(n, {"directory", "max-megabytes", "max-duration", "sip"});
    no_children(n);
    Capture c;
    c.where = n.where();
    value(n, "directory", true, c.directory, relative_file(n));
    value(n, "max-megabytes", false, c.max_megabytes,
          [](std::string_view s) { return parse_unsigned(s, 4096); });
    value(n, "max-duration", false, c.max_duration, parse_duration);
    value(n, "sip", false, c.sip, parse_bool);
    if (c.max_megabytes == 0) st_.error(c.where, "<capture> max-megabytes must be at least 1");
    if (c.max_duration.count() <= 0) st_.error(c.where, "<capture> max-duration must be positive");
    st_.cfg.capture = std::move(c);
  }

  // The first line of a token file, without surrounding white space.
  static Expected<std::string, std::string> read_token(const std::string& path) {
    auto text = read_whole_file(path);
    if (!text) return unexpected(text.error());
    const std::string line = text->substr(0, text->find('\n'));
    const auto b = line.find_first_not_of(" \t\r");
    const auto e = line.find_last_not_of(" \t\r");
    if (b == std::string::npos) return unexpected(std::string("the file is empty"));
    return line.substr(b, e - b + 1);
  }

  void sip(const Node& n) {
    if (!once(n)) return;
    check_attributes(n, {"user-agent"});
    value(n, "user-agent", false, st_.cfg.sip.user_agent, non_empty);
    for_children(n, {"listener", "registrar", "security"}, [&](const Node& c) {
      if (c.name() == "listener") return listener(c);
      if (c.name() == "security") return security(c);
      if (!once(c)) return;
      check_attributes(c, {"realm", "min-expires", "default-expires", "max-expires", "keepalive",
                           "keepalive-misses"});
      no_children(c);
      auto& r = st_.cfg.sip.registrar;
      value(c, "realm", false, r.realm, non_empty);
      value(c, "min-expires", false, r.min_expires, parse_duration);
      value(c, "default-expires", false, r.default_expires, parse_duration);
      value(c, "max-expires", false, r.max_expires, parse_duration);
      value(c, "keepalive", false, r.keepalive, parse_duration);
      value(c, "keepalive-misses", false, r.keepalive_misses,
            [](std::string_view s) { return parse_unsigned(s, 100); });
      st_.registrar_where = c.where();
    });
  }

  // <security> (conf/security.hpp, docs/security.md).
  void security(const Node& n) {
    if (!once(n)) return;
    check_attributes(n, {"nonce-ttl", "digest", "requests-per-second", "ban-time", "reply-503",
                         "auth-failures", "user-auth-failures", "auth-window", "trusted",
                         "max-tracked-sources", "strict-digest-uri"});
    no_children(n);
    auto& s = st_.cfg.sip.security;
    const auto count = [](std::string_view v) { return parse_unsigned(v, 1000000); };
    value(n, "nonce-ttl", false, s.nonce_ttl, parse_duration);
    value(n, "digest", false, s.digest_algorithms, parse_digest_algorithms);
    value(n, "requests-per-second", false, s.requests_per_second, count);
    value(n, "ban-time", false, s.ban_time, parse_duration);
    value(n, "reply-503", false, s.reply_503, parse_bool);
    value(n, "auth-failures", false, s.auth_failures, count);
    value(n, "user-auth-failures", false, s.user_auth_failures, count);
    value(n, "auth-window", false, s.auth_window, parse_duration);
    value(n, "trusted", false, s.trusted_acl, parse_name);
    value(n, "max-tracked-sources", false, s.max_tracked_sources, count);
    value(n, "strict-digest-uri", false, s.strict_digest_uri, parse_bool);
    if (s.nonce_ttl < std::chrono::seconds(1)) {
      st_.error(n.where(), "nonce-ttl must be at least 1s");
    }
    if (s.auth_window.count() <= 0) st_.error(n.where(), "auth-window must be positive");
  }

  void listener(const Node& n) {
    check_attributes(n, {"name", "transport", "address", "port", "certificate", "private-key",
                         "origins"});
    no_children(n);
    Listener l;
    l.where = n.where();
    value(n, "transport", true, l.transport, parse_listener_transport);
    value(n, "address", true, l.address, address);
    if (l.transport == Transport::tls) l.port = 5061;  // RFC 3261 §26.2 / RFC 5630
    if (l.transport == Transport::ws) l.port = 80;     // RFC 7118 §7 (the WebSocket defaults)
    if (l.transport == Transport::wss) l.port = 443;
    value(n, "port", false, l.port, parse_port);
    value(n, "certificate", false, l.certificate_file, relative_file(n));
    value(n, "private-key", false, l.private_key_file, relative_file(n));
    if (const auto o = attr(n, "origins", false)) {
      std::istringstream words(*o);
      for (std::string w; words >> w;) l.origins.push_back(w);
      if (l.transport != Transport::ws && l.transport != Transport::wss) {
        st_.error(n.where(), "origins is for transport ws or wss");
      }
    }
    l.name = std::string(to_string(l.transport)) + ":" + l.address.to_string() + ":" + std::to_string(l.port);
    value(n, "name", false, l.name, parse_name);
    st_.cfg.sip.listeners.push_back(std::move(l));
  }

  void media(const Node& n) {
    if (!once(n)) return;
    check_attributes(n, {"address", "rtp-min", "rtp-max", "media-timeout", "consent-timeout",
                         "port-quarantine", "ice-timeout", "pinhole-puncher", "latching", "workers",
                         "public-address"});
    no_children(n);
    auto& m = st_.cfg.media;
    m.where = n.where();
    value(n, "address", true, m.address, address);
    value(n, "rtp-min", false, m.rtp_min, parse_port);
    value(n, "rtp-max", false, m.rtp_max, parse_port);
    value(n, "media-timeout", false, m.media_timeout, parse_duration);
    value(n, "consent-timeout", false, m.consent_timeout, parse_duration);
    value(n, "port-quarantine", false, m.port_quarantine, parse_duration);
    value(n, "ice-timeout", false, m.ice_timeout, parse_duration);
    value(n, "pinhole-puncher", false, m.pinhole_puncher, parse_bool);
    value(n, "latching", false, m.latching, parse_bool);
    value(n, "workers", false, m.workers, [](std::string_view s) { return parse_unsigned(s, 256); });
    value(n, "public-address", false, m.public_address, address);
  }

  // A file name attribute: not empty, relative paths resolved against the file that has it.
  static std::function<Expected<std::string, std::string>(std::string_view)> relative_file(
      const Node& n) {
    return [&n](std::string_view s) -> Expected<std::string, std::string> {
      if (s.empty()) return unexpected(std::string("must not be empty"));
      fs::path p(s);
      if (p.is_relative()) p = fs::path(n.doc->path).parent_path() / p;
      return p.lexically_normal().string();
    };
  }

  void dtls(const Node& n) {
    if (!once(n)) return;
    check_attributes(n, {"certificate", "private-key", "offer-to-phones", "handshake-timeout"});
    no_children(n);
    auto& d = st_.cfg.dtls;
    d.where = n.where();
    const auto file = relative_file(n);
    value(n, "certificate", false, d.certificate_file, file);
    value(n, "private-key", false, d.private_key_file, file);
    value(n, "offer-to-phones", false, d.offer_to_phones, parse_bool);
    value(n, "handshake-timeout", false, d.handshake_timeout, parse_duration);
  }

  void stun(const Node& n) {
    if (!once(n)) return;
    check_attributes(n, {"enabled"});
    st_.cfg.stun.where = n.where();
    value(n, "enabled", false, st_.cfg.stun.enabled, parse_bool);
    for_children(n, {"server"}, [&](const Node& c) {
      check_attributes(c, {"name", "host", "port", "comment"});
      no_children(c);
      StunServer s;
      s.where = c.where();
      value(c, "name", true, s.name, parse_name);
      value(c, "host", true, s.host, parse_host);
      value(c, "port", false, s.port, parse_port);
      value(c, "comment", false, s.comment, any_text);
      st_.cfg.stun.servers.push_back(std::move(s));
    });
  }

  void turn(const Node& n) {
    check_attributes(n, {});
    for_children(n, {"server"}, [&](const Node& c) {
      check_attributes(c, {"name", "host", "port", "transport", "username", "password",
                           "shared-secret", "credential-ttl", "comment"});
      no_children(c);
      TurnServer t;
      t.where = c.where();
      value(c, "name", true, t.name, parse_name);
      value(c, "host", true, t.host, parse_host);
      value(c, "port", false, t.port, parse_port);
      value(c, "transport", false, t.transport, parse_transport);
      value(c, "username", false, t.username, non_empty);
      value(c, "password", false, t.password, non_empty);
      value(c, "shared-secret", false, t.shared_secret, non_empty);
      value(c, "credential-ttl", false, t.credential_ttl, parse_duration);
      value(c, "comment", false, t.comment, any_text);
      st_.cfg.turn_servers.push_back(std::move(t));
    });
  }

  void groups(const Node& n) {
    check_attributes(n, {});
    for_children(n, {"group"}, [&](const Node& c) {
      check_attributes(c, {"name", "turn", "latching"});
      no_children(c);
      Group g;
      g.where = c.where();
      value(c, "name", true, g.name, parse_name);
      if (attr(c, "latching", false)) {
        bool latching = true;
        value(c, "latching", false, latching, parse_bool);
        g.latching = latching;
      }
      if (auto list = attr(c, "turn", false)) {
        std::istringstream words(*list);
        for (std::string w; words >> w;) {
          if (auto name = parse_name(w)) g.turn_servers.push_back(*name);
          else st_.error(g.where, "turn: " + name.error());
        }
      }
      st_.cfg.groups.push_back(std::move(g));
    });
  }

  void acls(const Node& n) {
    check_attributes(n, {});
    for_children(n, {"acl"}, [&](const Node& c) {
      check_attributes(c, {"name"});
      AclDraft draft;
      draft.where = c.where();
      if (!value(c, "name", true, draft.name, parse_name)) return;
      for_children(c, {"whitelist", "blacklist"}, [&](const Node& e) {
        check_attributes(e, {"cidr"});
        no_children(e);
        auto text = attr(e, "cidr", true);
        if (!text) return;
        auto cidr = acl::Cidr::parse(*text);
        if (!cidr) {
          st_.error(e.where(), "cidr \"" + *text + "\": " + cidr.error().reason + " (at column " +
                                   std::to_string(cidr.error().column + 1) + ")");
          return;
        }
        if (cidr->had_host_bits()) {
          st_.warning(e.where(), "cidr \"" + *text + "\" has host bits set; it means " +
                                     cidr->to_string());
        }
        const auto kind = e.name() == "whitelist" ? acl::ListKind::whitelist
                                                  : acl::ListKind::blacklist;
        draft.entries.push_back({*cidr, kind, e.where().to_string()});
      });
      st_.acl_drafts.push_back(std::move(draft));
    });
  }

  void acl_policy(const Node& n) {
    if (!once(n)) return;
    check_attributes(n, {"sip-inbound", "sip-register", "remote-candidates", "public-candidate"});
    no_children(n);
    st_.policy_where = n.where();
    auto& p = st_.policy_names;
    value(n, "sip-inbound", false, p.sip_inbound, parse_name);
    value(n, "sip-register", false, p.sip_register, parse_name);
    value(n, "remote-candidates", false, p.remote_candidates, parse_name);
    value(n, "public-candidate", false, p.public_candidate, parse_name);
  }

  void users(const Node& n) {
    check_attributes(n, {});
    for_children(n, {"user"}, [&](const Node& c) {
      check_attributes(c, {"name", "password", "ha1", "ha1-sha256", "group", "contact"});
      no_children(c);
      User u;
      u.where = c.where();
      value(c, "name", true, u.name, parse_user_name);
      value(c, "password", false, u.password, non_empty);
      value(c, "ha1", false, u.ha1, [](std::string_view v) { return parse_hex_digest(v, 16); });
      value(c, "ha1-sha256", false, u.ha1_sha256,
            [](std::string_view v) { return parse_hex_digest(v, 32); });
      if (u.password.empty() && u.ha1.empty() && u.ha1_sha256.empty()) {
        st_.error(u.where, "<user> needs the attribute \"password\" (or \"ha1\"/\"ha1-sha256\")");
      }
      value(c, "group", false, u.group, parse_name);
      value(c, "contact", false, u.contact, parse_static_contact);  // conf/contact.hpp
      st_.cfg.users.push_back(std::move(u));
    });
  }

  void trunks(const Node& n) {
    check_attributes(n, {});
    for_children(n, {"trunk"}, [&](const Node& c) {
      check_attributes(c, {"name", "transport", "media-profile", "options-interval"});
      Trunk t;
      t.where = c.where();
      value(c, "name", true, t.name, parse_name);
      value(c, "transport", false, t.transport, parse_transport);
      value(c, "media-profile", false, t.media_profile, parse_media_profile);
      value(c, "options-interval", false, t.options_interval, parse_duration);
      for_children(c, {"address", "source", "registration"}, [&](const Node& e) {
        no_children(e);
        if (e.name() == "source") {
          check_attributes(e, {"cidr"});
          auto text = attr(e, "cidr", true);
          if (!text) return;
          auto cidr = acl::Cidr::parse(*text);
          if (!cidr) {
            st_.error(e.where(), "cidr \"" + *text + "\": " + cidr.error().reason +
                                     " (at column " + std::to_string(cidr.error().column + 1) + ")");
            return;
          }
          t.sources.push_back(*cidr);
          return;
        }
        if (e.name() == "address") {
          check_attributes(e, {"host", "port"});
          TrunkAddress a;
          value(e, "host", true, a.host, parse_host);
          value(e, "port", false, a.port, parse_port);
          t.addresses.push_back(std::move(a));
          return;
        }
        if (t.registration) {
          st_.error(e.where(), "trunk \"" + t.name + "\" has more than one <registration>");
          return;
        }
        check_attributes(e, {"username", "password", "domain", "expires"});
        TrunkRegistration r;
        value(e, "username", true, r.username, non_empty);
        value(e, "password", true, r.password, non_empty);
        value(e, "domain", false, r.domain, parse_host);
        value(e, "expires", false, r.expires, parse_duration);
        t.registration = std::move(r);
      });
      st_.cfg.trunks.push_back(std::move(t));
    });
  }

  void routes(const Node& n) {
    check_attributes(n, {});
    for_children(n, {"route"}, [&](const Node& c) {
      check_attributes(c, {"prefix", "trunk"});
      no_children(c);
      Route r;
      r.where = c.where();
      value(c, "prefix", false, r.prefix, parse_prefix);
      value(c, "trunk", true, r.trunk, parse_name);
      st_.cfg.routes.push_back(std::move(r));
    });
  }

  LoaderState& st_;
  std::vector<std::unique_ptr<Document>> docs_;
  std::map<std::string, Location> singletons_;
};

// The admin listener never shares a port with a SIP listener on an overlapping address (HTTP on
// the SIP port would break both; the issue asks for "never on the SIP ports").
void check_admin_port(LoaderState& st) {
  if (!st.cfg.admin) return;
  const Admin& a = *st.cfg.admin;
  for (const auto& l : st.cfg.sip.listeners) {
    if (l.transport == Transport::udp || l.port != a.port) continue;
    if (l.address == a.address || l.address.is_unspecified() || a.address.is_unspecified()) {
      st.error(a.where, "admin port " + std::to_string(a.port) + " is SIP listener " + l.name +
                            "'s port (" + l.where.to_string() + ")");
    }
  }
}

Expected<Loaded, std::vector<Diagnostic>> finish(LoaderState& st) {
  // Cross-checks run even after syntax errors, so one pass shows every problem; a
  // definition that failed to parse is simply absent from them.
  check_admin_port(st);
  if (st.cfg.capture && !st.cfg.admin) {
    st.warning(st.cfg.capture->where,
               "<capture> without <admin>: captures are requested through the control API, "
               "which is off");
  }
  validate(st);
  if (st.has_errors()) return unexpected(std::move(st.errors));
  return Loaded{std::make_shared<const Config>(std::move(st.cfg)), std::move(st.warnings)};
}

}  // namespace

Expected<Loaded, std::vector<Diagnostic>> load_file(const std::string& path) {
  LoaderState st;
  Loader(st).load_file(path, nullptr, 0);
  return finish(st);
}

Expected<Loaded, std::vector<Diagnostic>> load_string(std::string_view xml, const std::string& name,
                                                      const std::string& base_dir) {
  LoaderState st;
  const std::string path = (fs::path(base_dir) / name).lexically_normal().string();
  auto doc = std::make_unique<Document>();
  doc->path = path;
  doc->text = std::string(xml);
  Loader(st).load_document(std::move(doc), nullptr, 0);
  return finish(st);
}

}  // namespace icegate::conf
