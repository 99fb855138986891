// ICE-lite agent for one media component (RFC 8445 §2.5, §6.1.1, §7.3, §8.2), sans I/O.
//
// The relay feeds it STUN datagrams (already demultiplexed, media/demux.hpp) and timer ticks;
// it returns the datagrams to send and the events to act on. It never touches a socket or the
// clock: `now` is always passed in.
//
// What it does:
//  * answers every valid Binding Request (short-term credentials, RFC 8445 §7.3) with a
//    Binding Success carrying XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY and FINGERPRINT, and bad
//    ones with 400 / 401 / 420 / 487 as RFC 5389 §10.1.2 and RFC 8445 §7.3.1.1 say;
//  * picks the media path: the first remote address whose check it answered, replaced by a
//    check carrying USE-CANDIDATE from another address (RFC 8445 §8.2: a lite agent accepts the
//    controlling agent's nomination);
//  * consent freshness (RFC 7675 §5.1 adapted to a lite agent, which sends no checks of its own
//    on the media path): consent on the selected path is kept by any of
//      - a valid check from the selected address (RFC 7675 §5.1),
//      - a Binding Indication from the selected address (RFC 8445 §11 keepalive: what baresip
//        sends every 15 s instead of checks),
//      - media from the selected address that the leg's transform accepted (authenticated
//        SRTP/SRTCP), reported by the relay through on_authenticated_media();
//    when none of them arrives for consent_timeout, consent_lost is reported once. A full agent
//    would also send its own checks (RFC 7675 §5.1); a lite agent cannot, and cutting a call
//    whose SRTP still authenticates would only hurt the user. The clock starts at set_remote()
//    (or the first answered check), so a call whose ICE never succeeds is reported too;
//  * pin-hole punching (behaviour.md §4): after set_remote(), Binding Requests to the first (or
//    every) remote candidate, retransmitted with doubling interval. Their answers are
//    diagnostics only (event pinhole_answered); they NEVER select the media path;
//  * the candidate ACL on every check's source (behaviour.md §3, §6): a check from an address
//    the ACL denies is not answered at all, whether the address was signalled or is learnt from
//    the check itself (peer-reflexive, RFC 8445 §7.3.1.3: a phone that offered only mDNS names
//    or no candidates yet). Counted; the first authenticated one per address is reported.
//
// Roles: a lite agent is controlled, always (RFC 8445 §6.1.1: the full agent MUST control). A
// request carrying ICE-CONTROLLED means the full peer wrongly thinks it is controlled too: it
// gets 487 Role Conflict whatever the tie-breakers, so that it switches (§7.2.5.1) and nominates.
// Our own pin-hole requests carry ICE-CONTROLLED with tie-breaker 0, so such a peer switches on
// them as well (§7.3.1.1: its tie-breaker is >= 0). A 487 to a pin-hole request changes nothing:
// a lite agent that became controlling would leave the peer waiting for a nomination that a
// lite agent never makes (seen with linphone 5.1).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "acl/acl.hpp"
#include "media/endpoint.hpp"
#include "media/ice/credentials.hpp"
#include "media/stun/message.hpp"

namespace icegate::media::ice {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

struct Transmit {
  Endpoint to;
  std::vector<std::byte> bytes;
};

enum class EventKind : std::uint8_t {
  connected,              // first media path chosen
  selected_pair_changed,  // another remote address took over (nomination, or after restart)
  consent_lost,           // no valid check for consent_timeout: end the call
  pinhole_answered,       // one of our pin-hole requests was answered (diagnostics only)
  check_refused,          // an authenticated check from a source the candidate ACL denies
};
std::string_view to_string(EventKind k) noexcept;

struct Event {
  EventKind kind;
  // The address concerned: the new media path; for consent_lost the media path, or the first
  // punched candidate when ICE never connected; for pinhole_answered the punched candidate;
  // for check_refused the check's source.
  Endpoint remote;
  std::string detail;  // human-readable, for the call's log
};

struct Output {
  std::vector<Transmit> transmits;
  std::vector<Event> events;
};

struct AgentConfig {
  std::chrono::milliseconds consent_timeout{30000};
  bool punch_all = false;  // "pin-hole puncher": every candidate instead of the first only
  int punch_attempts = 3;  // requests per candidate in total (first one included); 0 disables
  std::chrono::milliseconds punch_initial_interval{100};  // doubles after each attempt
  std::uint16_t component = 1;    // component id, for the PRIORITY of our requests
  // The candidate ACL (behaviour.md §3, §6) for the sources of checks; nullptr allows all. It
  // is immutable and shared: the agent only reads it, on its worker.
  std::shared_ptr<const acl::Acl> source_acl;
};

// What happened to the pin-hole requests sent to one remote candidate.
struct PunchTarget {
  Endpoint target;
  int sent = 0;
  bool answered = false;  // an authenticated Binding Success came back
  std::optional<TimePoint> answered_at;
  std::optional<Endpoint> answered_from;  // differs from target when the path is asymmetric
  std::optional<Endpoint> mapped;         // XOR-MAPPED-ADDRESS: how the peer sees us
  int error_code = 0;                     // last error response (401, 487...), 0 if none
};

struct AgentStats {
  std::uint64_t checks_answered = 0;     // Binding Success responses sent
  std::uint64_t bad_integrity = 0;       // 401: MESSAGE-INTEGRITY did not match our password
  std::uint64_t bad_username = 0;        // 401: USERNAME not "ourufrag:theirufrag"
  std::uint64_t bad_request = 0;         // 400: no USERNAME/MESSAGE-INTEGRITY/PRIORITY, bad values
  std::uint64_t unknown_attributes = 0;  // 420
  std::uint64_t malformed = 0;           // dropped silently: unparsable or bad FINGERPRINT
  std::uint64_t role_conflicts = 0;      // 487: the peer claimed controlled (RFC 8445 §6.1.1)
  std::uint64_t nominations = 0;  // answered checks carrying USE-CANDIDATE
  std::uint64_t ignored = 0;      // other methods, stray responses, stray indications
  std::uint64_t indications = 0;  // Binding Indications from the media path (consent)
  std::uint64_t punches_sent = 0;
  std::uint64_t punches_answered = 0;
  std::uint64_t punch_responses_rejected = 0;  // matched a punch but failed integrity
  std::uint64_t refused_by_acl = 0;  // requests from a source the candidate ACL denies (silent)
  // Sources of refused authenticated checks, as reported (at most kMaxRefusedSources).
  std::vector<Endpoint> refused_sources;
  std::optional<TimePoint> last_check;         // last answered check, any source
  std::optional<Endpoint> last_check_from;
  // Consent kept by a Binding Indication / by authenticated media on the media path, last at:
  std::optional<TimePoint> last_indication;
  std::optional<TimePoint> last_media;
  std::optional<Endpoint> selected;  // current media path
  bool nominated = false;            // selected by USE-CANDIDATE
  std::vector<PunchTarget> punches;  // since the last set_remote()
};

// How many refused sources are reported per agent: a peer that keeps checking from blocked
// addresses (every candidate pair of a full agent) is counted, not logged without end.
inline constexpr std::size_t kMaxRefusedSources = 8;

// One line for the call log, e.g. for failure pattern 1 of behaviour.md §9 ("Binding
// requests sent but no Binding Success").
std::string summary(const AgentStats& s);

class LiteAgent {
 public:
  // `rng` must outlive the agent; it supplies transaction ids (and the tie-breaker if unset).
  LiteAgent(AgentConfig config, Credentials local, RandomSource& rng = default_random());

  // The peer's credentials and its usable UDP candidates, in SDP order (already filtered by
  // the candidate ACL). Starts pin-hole punching. Called again after an ICE restart.
  void set_remote(Credentials remote, std::vector<Endpoint> candidates_in_sdp_order, TimePoint now,
                  Output& out);
  // One datagram already classified as STUN.
  void on_stun(std::span<const std::byte> datagram, const Endpoint& from, TimePoint now,
               Output& out);
  // Media that arrived from the selected address and passed the leg's transform (authenticated
  // SRTP/SRTCP): keeps consent like a check does. The caller has checked the source (the relay's
  // strict-source check compares it with selected()); per packet, so it only stores `now`.
  // Nothing happens before a path is selected or after consent was lost.
  void on_authenticated_media(TimePoint now) noexcept {
    if (!stats_.selected || consent_lost_) return;
    stats_.last_media = now;
    consent_deadline_ = now + config_.consent_timeout;
  }
  void on_timer(TimePoint now, Output& out);
  std::optional<TimePoint> next_timer() const;

  std::optional<Endpoint> selected() const { return stats_.selected; }
  const AgentStats& stats() const noexcept { return stats_; }
  const Credentials& local() const noexcept { return local_; }
  const std::optional<Credentials>& remote() const noexcept { return remote_; }
  const std::vector<Endpoint>& remote_candidates() const noexcept { return candidates_; }
  bool consent_lost() const noexcept { return consent_lost_; }

  // ICE restart (RFC 8445 §9): new local credentials; checks with the old ones now fail. Media
  // keeps flowing on the current path until a check with the new credentials is answered,
  // which then selects the path afresh. Punching stops until the next set_remote().
  void restart(Credentials new_local);

 private:
  struct Pending {
    stun::TransactionId tid;
    std::size_t target;  // index into stats_.punches
  };

  enum class Auth : std::uint8_t { missing, bad_username, bad_integrity, ok };
  // RFC 8445 §7.3 / RFC 5389 §10.1.2: USERNAME "<our ufrag>:<their ufrag>", MESSAGE-INTEGRITY
  // keyed with our password.
  Auth authenticate(const stun::Message& m) const;
  // The candidate ACL denies `from`: counted, never answered; reported once per source.
  void refuse(const stun::Message& m, const Endpoint& from, const acl::Decision& d, Output& out);
  void handle_request(const stun::Message& m, const Endpoint& from, TimePoint now, Output& out);
  void handle_response(const stun::Message& m, const Endpoint& from, TimePoint now, Output& out);
  void handle_indication(const Endpoint& from, TimePoint now);
  void answer_error(const stun::Message& req, const Endpoint& to, int code, bool sign,
                    Output& out) const;
  void select(const Endpoint& from, bool use_candidate, TimePoint now, Output& out);
  void send_punch_round(TimePoint now, Output& out);
  stun::TransactionId new_transaction_id();

  AgentConfig config_;
  Credentials local_;
  std::optional<Credentials> remote_;
  std::vector<Endpoint> candidates_;  // as given to set_remote(), for diagnostics
  RandomSource& rng_;

  std::vector<Pending> pending_;
  int punch_round_ = 0;
  std::optional<TimePoint> next_punch_;

  bool reselect_ = false;  // after restart(): the next answered check picks the path
  std::optional<TimePoint> consent_deadline_;
  bool consent_lost_ = false;

  AgentStats stats_;
};

}  // namespace icegate::media::ice
