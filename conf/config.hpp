// The configuration snapshot: parsed once from XML, validated in one place, immutable afterwards.
// A reload builds a new snapshot and swaps the shared_ptr (see gateway/).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "acl/acl.hpp"
#include "acl/address.hpp"
#include "conf/security.hpp"

namespace icegate::conf {

using Duration = std::chrono::milliseconds;

// Where something was defined: file and 1-based line; 0 when it is about the whole file (one
// that cannot be read), shown then as "file" alone.
struct Location {
  std::string file;
  unsigned line = 0;
  std::string to_string() const { return line ? file + ":" + std::to_string(line) : file; }
};

// ws and wss (SIP over WebSocket, RFC 7118) are for listeners only; trunks and TURN servers
// take udp, tcp or tls.
enum class Transport : std::uint8_t { udp, tcp, tls, ws, wss };
// A connection-oriented transport whose connection is the way back to the peer (not UDP).
inline bool is_stream(Transport t) { return t != Transport::udp; }
std::string_view to_string(Transport t);

struct Listener {
  std::string name;
  Transport transport = Transport::udp;
  acl::Address address;
  std::uint16_t port = 5060;
  // transport="tls" or "wss": the server certificate (chain) and its private key, PEM files
  // (relative paths: to the configuration file). Required for them, refused for the others.
  std::string certificate_file;
  std::string private_key_file;
  // transport="ws"/"wss": the Origin values a browser's WebSocket upgrade may carry (exact
  // match, e.g. "https://phone.example.com"); empty: any origin.
  std::vector<std::string> origins;
  Location where;
};

struct Registrar {
  std::string realm = "icegate";
  Duration min_expires = std::chrono::seconds(60);
  Duration default_expires = std::chrono::seconds(600);
  Duration max_expires = std::chrono::seconds(3600);
  // NAT keep-alive (behaviour.md §7): an OPTIONS request to every registered UDP contact this
  // often (0 = off); a contact that leaves `keepalive_misses` in a row unanswered is removed.
  Duration keepalive = std::chrono::seconds(25);
  unsigned keepalive_misses = 3;
};

struct Sip {
  std::vector<Listener> listeners;
  Registrar registrar;
  Security security;  // conf/security.hpp
  std::string user_agent = "icegate";
};

struct Media {
  acl::Address address = acl::Address::v4(0x7f000001);  // 127.0.0.1
  std::uint16_t rtp_min = 30000;
  std::uint16_t rtp_max = 33000;
  Duration media_timeout = std::chrono::seconds(60);
  Duration consent_timeout = std::chrono::seconds(30);  // RFC 7675 §5.1
  Duration port_quarantine = std::chrono::seconds(10);
  // How long a softphone leg may take to pass ICE after the answer before the call is ended
  // (behaviour.md §4: a call whose ICE never succeeds must not hang in silence).
  Duration ice_timeout = std::chrono::seconds(15);
  bool pinhole_puncher = false;  // binding requests to every client candidate, not just the first
  bool latching = true;          // learn the trunk's RTP source from its first packets
  unsigned workers = 0;          // 0 = one per core
  // Static public address (until / instead of STUN discovery); srflx candidate when set.
  std::optional<acl::Address> public_address;
  Location where;
};

// DTLS-SRTP toward softphones (behaviour.md §5).
struct Dtls {
  // PEM files of icegate's certificate and private key; both empty: a fresh ECDSA P-256
  // certificate is generated at start and on every reload (RFC 8122 §5: peers check the
  // fingerprint in SDP, not a CA chain). Paths are resolved against the configuration file.
  std::string certificate_file;
  std::string private_key_file;
  // Calls toward a softphone are offered UDP/TLS/RTP/SAVPF with a=setup:actpass; false offers
  // plain RTP/AVP + ICE. Answers always follow what the phone offered.
  bool offer_to_phones = true;
  // From the selected ICE path to a finished handshake; a peer that never starts DTLS ends the
  // call after this long (the handshake's own retransmissions are 1, 2, 4, 8 s).
  Duration handshake_timeout = std::chrono::seconds(20);
  Location where;
};

struct StunServer {
  std::string name;
  std::string host;  // IP literal or FQDN, resolved at lookup time
  std::uint16_t port = 3478;
  std::string comment;
  Location where;
};

struct Stun {
  bool enabled = false;
  std::vector<StunServer> servers;  // in order of preference: the first answer is used
  Location where;
};

struct TurnServer {
  std::string name;
  std::string host;
  std::uint16_t port = 3478;
  Transport transport = Transport::udp;
  // Either long-term credentials or a shared secret (TURN REST API, coturn use-auth-secret).
  std::optional<std::string> username;
  std::optional<std::string> password;
  std::optional<std::string> shared_secret;
  Duration credential_ttl = std::chrono::hours(24);
  std::string comment;
  Location where;
};

// A group of users that is handed the same TURN servers.
struct Group {
  std::string name;
  std::vector<std::string> turn_servers;
  // Latching (symmetric RTP) on the phone legs of this group's users when they do no ICE;
  // unset: <media latching>.
  std::optional<bool> latching;
  Location where;
};

// Where calls to a user that never registers go (a fixed device, a web app that only calls):
// <user contact="sip:1002@192.0.2.10:5060;transport=tcp">. A live registration wins over it.
struct StaticContact {
  std::string uri;  // as configured: the Request-URI of calls to it
  Transport transport = Transport::udp;  // the URI's transport parameter (sips: tls)
  acl::Address address;                  // its host, an IP literal
  std::uint16_t port = 5060;             // its port, or the transport's default
  // A static contact is not behind NAT: requests of its dialogs follow its Contact and its
  // SDP addresses are taken as they are.
};

struct User {
  std::string name;  // SIP user part and digest username
  // The password, or instead (docs/security.md) the digest hashes H(name:realm:password) for MD5
  // and SHA-256 (RFC 8760), lowercase hex: `icegate passwd` prints them.
  std::string password;
  std::string ha1;
  std::string ha1_sha256;
  std::string group;  // may be empty
  std::optional<StaticContact> contact;
  Location where;
};

enum class MediaProfile : std::uint8_t { rtp, sdes };
std::string_view to_string(MediaProfile p);

struct TrunkAddress {
  std::string host;  // IP literal or FQDN
  std::uint16_t port = 5060;
};

struct TrunkRegistration {
  std::string username;
  std::string password;
  std::string domain;  // defaults to the first address' host
  Duration expires = std::chrono::seconds(3600);
};

struct Trunk {
  std::string name;
  Transport transport = Transport::udp;
  std::vector<TrunkAddress> addresses;  // tried in order (fail-over)
  // Requests from these networks (any port) are the trunk's too: providers that send from many
  // addresses. Without them a request is the trunk's only from one of `addresses` (and its
  // port, over UDP).
  std::vector<acl::Cidr> sources;
  std::optional<TrunkRegistration> registration;
  MediaProfile media_profile = MediaProfile::rtp;
  Duration options_interval = std::chrono::seconds(30);  // 0 = no OPTIONS keep-alive
  Location where;
};

// Calls from users to a number that is not a user go to the trunk with the longest matching
// prefix. Calls from a trunk go to the user named in the Request-URI.
struct Route {
  std::string prefix;  // "" matches everything
  std::string trunk;
  Location where;
};

// Which ACL applies where (names resolved to the ACL objects; null = no ACL = allow all).
struct AclPolicy {
  std::shared_ptr<const acl::Acl> sip_inbound;
  std::shared_ptr<const acl::Acl> sip_register;
  std::shared_ptr<const acl::Acl> remote_candidates;
  std::shared_ptr<const acl::Acl> public_candidate;
};

struct Logging {
  std::string level = "info";  // trace, debug, info, warn, error
  std::string sofia_level = "warn";
};

// The admin listener (docs/operations.md): Prometheus metrics, the HTTP/JSON control API and the
// admin page. Off unless configured; never on a SIP port.
struct Admin {
  acl::Address address = acl::Address::v4(0x7f000001);  // 127.0.0.1
  std::uint16_t port = 8060;
  // Bearer token (`Authorization: Bearer ...`), given inline or read from token-file. Without a
  // token or client CA only loopback clients are served, and a non-loopback address is refused.
  std::string token;
  // HTTPS: certificate chain and private key (PEM). With client_ca_file, clients must present a
  // certificate it signed (mutual TLS), which authenticates them like the token does.
  std::string certificate_file;
  std::string private_key_file;
  std::string client_ca_file;
  Location where;
  bool tls() const { return !certificate_file.empty(); }
};

// Per-call packet captures requested through the control API (docs/operations.md): one pcap file
// per call in `directory`, each bounded in size and duration. Off unless configured.
struct Capture {
  std::string directory;  // created (mode 0750) at the first capture when missing
  unsigned max_megabytes = 50;                   // per file; the capture stops there
  Duration max_duration = std::chrono::minutes(10);  // per file
  // SIP is captured off the wire (libpcap; needs CAP_NET_RAW). false: media only.
  bool sip = true;
  Location where;
};

struct Config {
  std::vector<std::string> files;  // the main file first, then includes in load order
  Logging logging;
  std::optional<Admin> admin;
  std::optional<Capture> capture;
  Sip sip;
  Media media;
  Dtls dtls;
  Stun stun;
  std::vector<TurnServer> turn_servers;
  std::vector<Group> groups;
  std::map<std::string, std::shared_ptr<const acl::Acl>> acls;
  AclPolicy policy;
  std::vector<User> users;
  std::vector<Trunk> trunks;
  std::vector<Route> routes;

  const User* find_user(std::string_view name) const;
  const Trunk* find_trunk(std::string_view name) const;
  const TurnServer* find_turn_server(std::string_view name) const;
  const Group* find_group(std::string_view name) const;
  std::shared_ptr<const acl::Acl> find_acl(std::string_view name) const;
  // The route with the longest prefix of `number`, or nullptr.
  const Route* route_for(std::string_view number) const;
};

enum class Severity : std::uint8_t { error, warning };

struct Diagnostic {
  Severity severity = Severity::error;
  Location where;
  std::string message;
  // "file:line: error: message"
  std::string to_string() const;
};

struct Loaded {
  std::shared_ptr<const Config> config;
  std::vector<Diagnostic> warnings;
};

// Loads and validates `path` and its includes. On failure every error found is returned (not
// just the first), each naming file, line and reason.
Expected<Loaded, std::vector<Diagnostic>> load_file(const std::string& path);
// The same over an in-memory document; `name` is used as the file name in diagnostics and
// includes are resolved relative to `base_dir`.
Expected<Loaded, std::vector<Diagnostic>> load_string(std::string_view xml, const std::string& name,
                                                      const std::string& base_dir = ".");

}  // namespace icegate::conf
