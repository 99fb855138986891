#include "gateway/daemon/control.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>

#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <stdexcept>

#include "acl/unique_fd.hpp"
#include "gateway/admin/prometheus.hpp"
#include "gateway/daemon/log.hpp"
#include "media/relay/stats.hpp"
#include "sip/b2bua.hpp"
#include "sip/stack.hpp"

namespace icegate::gateway {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;
using admin::Labels;
using admin::MetricsText;

double seconds_since(Clock::time_point t, Clock::time_point now = Clock::now()) {
  return std::chrono::duration<double>(now - t).count();
}

// Process figures from /proc (Prometheus' standard process_* names).
struct ProcessFigures {
  double rss_bytes = 0;
  double open_fds = 0;
  double threads = 0;
  double cpu_seconds = 0;
};

ProcessFigures process_figures() {
  ProcessFigures p;
  const long page = sysconf(_SC_PAGESIZE);
  const long ticks = sysconf(_SC_CLK_TCK);
  if (std::ifstream statm("/proc/self/statm"); statm) {
    long size = 0, resident = 0;
    statm >> size >> resident;
    p.rss_bytes = static_cast<double>(resident) * static_cast<double>(page);
  }
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++p.open_fds;
  }
  if (std::ifstream stat("/proc/self/stat"); stat) {
    std::string line;
    std::getline(stat, line);
    // Fields after the command name, which is in parentheses and may contain spaces.
    const auto close = line.rfind(')');
    if (close != std::string::npos) {
      std::istringstream rest(line.substr(close + 2));
      std::string f;
      std::vector<std::string> fields;
      while (rest >> f) fields.push_back(f);
      // proc(5): utime is field 14, stime 15, num_threads 20 (fields[0] is field 3).
      if (fields.size() > 17) {
        p.cpu_seconds = (std::stod(fields[11]) + std::stod(fields[12])) / static_cast<double>(ticks);
        p.threads = std::stod(fields[17]);
      }
    }
  }
  return p;
}

json endpoint_json(const std::optional<media::Endpoint>& e) {
  return e ? json(e->to_string()) : json(nullptr);
}

json leg_media_json(const media::relay::LegStats& l, bool ice, const std::string& local) {
  json j;
  j["packets_in"] = l.packets_in;
  j["bytes_in"] = l.bytes_in;
  j["packets_out"] = l.packets_out;
  j["bytes_out"] = l.bytes_out;
  j["rtp_lost"] = l.rtp_lost;
  j["rtp_expected"] = l.rtp_expected;
  j["jitter_ms"] = static_cast<double>(l.jitter.count()) / 1000.0;
  j["remote"] = endpoint_json(l.remote_rtp);
  j["source"] = media::relay::describe_source(l);
  json drops = json::object();
  for (std::size_t i = 0; i < l.dropped.size(); ++i) {
    if (l.dropped[i]) drops[std::string(to_string(static_cast<media::relay::Drop>(i)))] = l.dropped[i];
  }
  j["dropped"] = drops;
  if (ice && l.ice) {
    const auto& s = *l.ice;
    json i;
    i["selected_pair"] = s.selected ? json({{"local", local}, {"remote", s.selected->to_string()}})
                                    : json(nullptr);
    i["nominated"] = s.nominated;
    i["checks_answered"] = s.checks_answered;
    i["checks_bad_integrity"] = s.bad_integrity;
    i["checks_bad_username"] = s.bad_username;
    i["punches_sent"] = s.punches_sent;
    i["punches_answered"] = s.punches_answered;
    i["last_check_from"] = endpoint_json(s.last_check_from);
    i["consent_lost"] = s.consent_lost;
    j["ice"] = i;
  }
  if (l.dtls) {
    j["dtls"] = {{"state", std::string(l.dtls->state)},
                 {"role", std::string(l.dtls->role)},
                 {"srtp_profile", std::string(l.dtls->profile)},
                 {"failure", l.dtls->failure},
                 {"retransmissions", l.dtls->retransmissions}};
  }
  if (l.srtp) {
    j["srtp"] = {{"profile", std::string(l.srtp->profile)},
                 {"unprotected", l.srtp->unprotected},
                 {"protected", l.srtp->protected_out}};
  }
  return j;
}

json verdict_json(const diagnosis::VerdictFields& v) {
  return {{"finding", v.finding},     {"pattern", v.pattern},   {"media_both_ways", v.media_both_ways},
          {"leg", v.leg},             {"title", v.title},       {"summary", v.summary},
          {"evidence", v.evidence},   {"action", v.action},     {"seconds", v.seconds}};
}

json sip_leg_json(const sip::Leg& l, const std::string& call_id) {
  json j;
  j["call_id"] = call_id;
  j["kind"] = l.phone ? "phone" : "trunk";
  if (!l.phone) j["trunk"] = l.trunk;
  j["state"] = std::string(to_string(l.state()));
  j["media_state"] = std::string(to_string(l.media_state()));
  // A trunk leg toward the trunk has no party address of its own: its `target` says where.
  if (!l.party.is_unspecified()) j["party"] = l.party.to_string();
  j["listener"] = l.profile;
  return j;
}

}  // namespace

DaemonControl::DaemonControl(sip::Stack& stack, sip::B2bua& b2bua, MediaEngine& media,
                             ControlHooks hooks)
    : stack_(stack), b2bua_(b2bua), media_(media), hooks_(std::move(hooks)) {}

DaemonControl::~DaemonControl() = default;

template <typename T>
T DaemonControl::on_signalling(std::function<T()> fn, std::chrono::milliseconds deadline) {
  auto promise = std::make_shared<std::promise<T>>();
  auto future = promise->get_future();
  stack_.post([promise, fn = std::move(fn)] {
    try {
      promise->set_value(fn());
    } catch (...) {
      promise->set_exception(std::current_exception());
    }
  });
  if (future.wait_for(deadline) != std::future_status::ready) {
    throw std::runtime_error("the signalling thread did not answer within " +
                             std::to_string(deadline.count()) + " ms");
  }
  return future.get();
}

void DaemonControl::refresh_media(std::chrono::milliseconds deadline) {
  auto done = std::make_shared<std::promise<void>>();
  auto future = done->get_future();
  stack_.post([this, done] { media_.refresh_stats([done] { done->set_value(); }); });
  future.wait_for(deadline);  // late answers still land in the engine's snapshots
}

std::string DaemonControl::metrics() {
  refresh_media(std::chrono::milliseconds(1000));
  return on_signalling<std::string>([this] { return render_metrics(); },
                                    std::chrono::milliseconds(3000));
}

std::string DaemonControl::render_metrics() {
  MetricsText m;
  const auto& s = b2bua_.stats();
  m.family("icegate_sip_requests_total", "counter",
           "SIP requests received outside dialogs (initial INVITE, REGISTER, OPTIONS)");
  for (const char* method : {"INVITE", "REGISTER", "OPTIONS"}) {
    auto it = s.requests.find(method);
    m.sample("icegate_sip_requests_total", {{"method", method}},
             it == s.requests.end() ? 0.0 : static_cast<double>(it->second));
  }
  m.family("icegate_calls_active", "gauge", "Calls in progress, by direction");
  for (const char* d : {sip::kInbound, sip::kOutbound, sip::kInternal}) {
    auto it = s.calls_active.find(d);
    m.sample("icegate_calls_active", {{"direction", d}},
             it == s.calls_active.end() ? 0.0 : static_cast<double>(it->second));
  }
  m.family("icegate_calls_total", "counter",
           "Calls that ended, by direction and the final status sent to the caller");
  for (const auto& [key, n] : s.calls_ended) {
    m.sample("icegate_calls_total",
             {{"direction", key.first}, {"status", std::to_string(key.second)}},
             static_cast<double>(n));
  }
  m.family("icegate_invites_rejected_total", "counter",
           "Initial INVITEs refused before a call existed, by status and reason");
  for (const auto& [key, n] : s.invites_rejected) {
    m.sample("icegate_invites_rejected_total",
             {{"status", std::to_string(key.first)}, {"reason", key.second}}, static_cast<double>(n));
  }
  m.family("icegate_call_setup_seconds", "histogram",
           "Initial INVITE received to 200 OK sent to the caller");
  m.histogram("icegate_call_setup_seconds", {}, s.setup_seconds);
  m.family("icegate_acl_rejections_total", "counter",
           "SIP requests refused with 403 by a SIP ACL, by ACL and method");
  for (const auto& [key, n] : s.acl_rejections) {
    m.sample("icegate_acl_rejections_total", {{"acl", key.first}, {"method", key.second}},
             static_cast<double>(n));
  }
  m.family("icegate_auth_failures_total", "counter",
           "Digest credentials that did not verify, by method");
  for (const char* method : {"INVITE", "REGISTER"}) {
    auto it = s.auth_failures.find(method);
    m.sample("icegate_auth_failures_total", {{"method", method}},
             it == s.auth_failures.end() ? 0.0 : static_cast<double>(it->second));
  }
  m.family("icegate_nonces_refused_total", "counter",
           "Digest credentials with the right password but an unacceptable nonce (answered "
           "stale=true), by reason: expired, invalid (not issued to that address), replayed");
  for (const char* reason : {"expired", "invalid", "replayed"}) {
    auto it = s.nonces_refused.find(reason);
    m.sample("icegate_nonces_refused_total", {{"reason", reason}},
             it == s.nonces_refused.end() ? 0.0 : static_cast<double>(it->second));
  }
  m.family("icegate_sources_banned_total", "counter",
           "Source addresses banned by the SIP edge, by reason (flood: request rate, auth: "
           "failed authentications)");
  for (const char* reason : {"flood", "auth"}) {
    auto it = s.sources_banned.find(reason);
    m.sample("icegate_sources_banned_total", {{"reason", reason}},
             it == s.sources_banned.end() ? 0.0 : static_cast<double>(it->second));
  }
  m.family("icegate_banned_requests_dropped_total", "counter",
           "SIP requests not served because their source was banned");
  m.sample("icegate_banned_requests_dropped_total",
           static_cast<double>(s.requests_dropped_banned));
  m.family("icegate_users_locked_total", "counter",
           "Users whose credentials were refused for a while after too many failures");
  m.sample("icegate_users_locked_total", static_cast<double>(s.users_locked));
  m.family("icegate_sdp_rejections_total", "counter", "488 Not Acceptable Here, by cause");
  for (const auto& [cause, n] : s.sdp_rejections) {
    m.sample("icegate_sdp_rejections_total", {{"cause", cause}}, static_cast<double>(n));
  }
  m.family("icegate_registrations_active", "gauge", "Live registered contacts");
  m.sample("icegate_registrations_active",
           static_cast<double>(b2bua_.registrar().all(sip::Registrar::Clock::now()).size()));
  m.family("icegate_registrations_total", "counter", "REGISTER requests accepted");
  m.sample("icegate_registrations_total", static_cast<double>(s.registrations));
  m.family("icegate_operator_hangups_total", "counter", "Calls hung up through the control API");
  m.sample("icegate_operator_hangups_total", static_cast<double>(s.operator_hangups));

  const MediaTotals t = media_.totals();
  m.family("icegate_ice_checks_total", "counter",
           "ICE connectivity checks received on phone legs, by result");
  m.sample("icegate_ice_checks_total", {{"result", "answered"}},
           static_cast<double>(t.ice_checks_answered));
  m.sample("icegate_ice_checks_total", {{"result", "bad-integrity"}},
           static_cast<double>(t.ice_checks_bad_integrity));
  m.sample("icegate_ice_checks_total", {{"result", "bad-username"}},
           static_cast<double>(t.ice_checks_bad_username));
  m.family("icegate_ice_connected_total", "counter", "Phone legs whose ICE connected");
  m.sample("icegate_ice_connected_total", static_cast<double>(t.ice_connected));
  m.family("icegate_ice_connected_seconds", "histogram",
           "Media session created to ICE connected on a phone leg");
  m.histogram("icegate_ice_connected_seconds", {}, t.ice_connected_seconds);
  m.family("icegate_ice_timeouts_total", "counter",
           "Phone legs whose ICE (or DTLS after it) did not complete within ice-timeout");
  m.sample("icegate_ice_timeouts_total", static_cast<double>(s.ice_timeouts));
  m.family("icegate_ice_consent_lost_total", "counter", "Calls ended because ICE consent expired");
  m.sample("icegate_ice_consent_lost_total", static_cast<double>(t.ice_consent_lost));
  m.family("icegate_dtls_handshakes_total", "counter", "DTLS-SRTP handshakes, by result and cause");
  m.sample("icegate_dtls_handshakes_total", {{"result", "ok"}, {"cause", ""}},
           static_cast<double>(t.dtls_ok));
  for (const auto& [cause, n] : t.dtls_failed) {
    m.sample("icegate_dtls_handshakes_total", {{"result", "failed"}, {"cause", cause}},
             static_cast<double>(n));
  }
  m.family("icegate_media_timeouts_total", "counter", "Calls ended by media-timeout");
  m.sample("icegate_media_timeouts_total", static_cast<double>(t.media_timeouts));

  m.family("icegate_relay_packets_total", "counter",
           "Media datagrams relayed, by leg and direction (in: accepted from the leg's far end)");
  m.family("icegate_relay_bytes_total", "counter", "Media bytes relayed, by leg and direction");
  m.family("icegate_relay_dropped_total", "counter",
           "Datagrams that arrived on a media port and were not relayed, by reason");
  for (std::size_t i = 0; i < 2; ++i) {
    const char* leg = i == 0 ? "a" : "b";
    const auto& r = t.relay[i];
    m.sample("icegate_relay_packets_total", {{"leg", leg}, {"direction", "in"}},
             static_cast<double>(r.packets_in));
    m.sample("icegate_relay_packets_total", {{"leg", leg}, {"direction", "out"}},
             static_cast<double>(r.packets_out));
    m.sample("icegate_relay_bytes_total", {{"leg", leg}, {"direction", "in"}},
             static_cast<double>(r.bytes_in));
    m.sample("icegate_relay_bytes_total", {{"leg", leg}, {"direction", "out"}},
             static_cast<double>(r.bytes_out));
  }
  for (std::size_t d = 0; d < media::relay::kDropReasons; ++d) {
    m.sample("icegate_relay_dropped_total",
             {{"reason", std::string(to_string(static_cast<media::relay::Drop>(d)))}},
             static_cast<double>(t.relay[0].dropped[d] + t.relay[1].dropped[d]));
  }
  const auto ports = media_.port_stats();
  m.family("icegate_rtp_ports", "gauge", "Ports of the configured RTP range, by state");
  const std::size_t held = ports.in_use + ports.quarantined + ports.unbindable;
  m.sample("icegate_rtp_ports", {{"state", "used"}}, static_cast<double>(ports.in_use));
  m.sample("icegate_rtp_ports", {{"state", "quarantined"}}, static_cast<double>(ports.quarantined));
  m.sample("icegate_rtp_ports", {{"state", "unbindable"}}, static_cast<double>(ports.unbindable));
  m.sample("icegate_rtp_ports", {{"state", "free"}},
           static_cast<double>(ports.ports > held ? ports.ports - held : 0));
  m.family("icegate_rtp_port_exhaustions_total", "counter",
           "Port allocations that failed for lack of free ports");
  m.sample("icegate_rtp_port_exhaustions_total", static_cast<double>(ports.exhausted));
  m.family("icegate_rtp_port_bind_failures_total", "counter",
           "RTP ports skipped because they could not be bound (another program holds them)");
  m.sample("icegate_rtp_port_bind_failures_total", static_cast<double>(ports.bind_failures));
  if (const sip::ws::Stats* ws = stack_.ws_stats()) {  // only with a ws/wss listener
    m.family("icegate_websocket_connections", "gauge",
             "Browser connections open now on the WebSocket listeners (SIP over WebSocket)");
    m.sample("icegate_websocket_connections", static_cast<double>(ws->open.load()));
    m.family("icegate_websocket_connections_total", "counter",
             "WebSocket connections upgraded since the start");
    m.sample("icegate_websocket_connections_total", static_cast<double>(ws->opened.load()));
    m.family("icegate_websocket_refused_total", "counter",
             "WebSocket upgrades refused (400 no sip subprotocol or malformed, 403 origin, "
             "per-source or total cap, TLS or upgrade timeout)");
    m.sample("icegate_websocket_refused_total", static_cast<double>(ws->refused.load()));
    m.family("icegate_websocket_messages_total", "counter",
             "SIP messages carried over WebSocket, by direction");
    m.sample("icegate_websocket_messages_total", {{"direction", "in"}},
             static_cast<double>(ws->to_stack.load()));
    m.sample("icegate_websocket_messages_total", {{"direction", "out"}},
             static_cast<double>(ws->to_phone.load()));
    m.family("icegate_websocket_dropped_total", "counter",
             "WebSocket messages from browsers that were not SIP (dropped)");
    m.sample("icegate_websocket_dropped_total", static_cast<double>(ws->dropped.load()));
  }
  m.family("icegate_media_sessions_active", "gauge", "Media sessions on the relay workers");
  m.sample("icegate_media_sessions_active", static_cast<double>(media_.active_sessions()));
  m.family("icegate_relay_worker_cpu_seconds_total", "counter",
           "CPU time used by each relay worker thread");
  const auto cpu = media_.worker_cpu_times();
  for (std::size_t w = 0; w < cpu.size(); ++w) {
    m.sample("icegate_relay_worker_cpu_seconds_total", {{"worker", std::to_string(w)}},
             std::chrono::duration<double>(cpu[w]).count());
  }
  m.family("icegate_trunk_up", "gauge",
           "1 while the trunk counts as up (its OPTIONS keep-alive answered, or keep-alive off)");
  for (const auto& [name, link] : b2bua_.trunk_links()) {
    const sip::TrunkEntry* e = b2bua_.trunks().named(name);
    m.sample("icegate_trunk_up", {{"trunk", name}}, e && e->up ? 1.0 : 0.0);
  }
  m.family("icegate_public_address_info", "gauge",
           "The public address offered in srflx candidates (STUN-learnt or static); value 1");
  m.family("icegate_public_address_age_seconds", "gauge",
           "Seconds since the public address was learnt or set");
  if (auto a = media_.public_address()) {
    m.sample("icegate_public_address_info", {{"address", a->to_string()}}, 1);
    if (auto since = media_.public_address_since()) {
      m.sample("icegate_public_address_age_seconds", seconds_since(*since));
    }
  }
  const ProcessFigures p = process_figures();
  m.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes");
  m.sample("process_resident_memory_bytes", p.rss_bytes);
  m.family("process_open_fds", "gauge", "Number of open file descriptors");
  m.sample("process_open_fds", p.open_fds);
  m.family("process_threads", "gauge", "Number of OS threads");
  m.sample("process_threads", p.threads);
  m.family("process_cpu_seconds_total", "counter", "User and system CPU time, seconds");
  m.sample("process_cpu_seconds_total", p.cpu_seconds);
  m.family("icegate_uptime_seconds", "gauge", "Seconds since icegate started");
  m.sample("icegate_uptime_seconds", seconds_since(started_));
  return m.text();
}

json DaemonControl::call_json(const std::string& id, bool detail) {
  const sip::Call* c = b2bua_.router().find(id);
  if (!c) return nullptr;
  json j;
  j["id"] = c->id();
  j["state"] = std::string(to_string(c->state()));
  j["direction"] = c->direction();
  j["from"] = c->from_user;
  j["to"] = c->to_user;
  j["duration_s"] = seconds_since(c->started);
  j["a"] = sip_leg_json(c->a(), c->a_call_id);
  j["b"] = sip_leg_json(c->b(), c->b_call_id);
  if (!c->target_uri.empty()) j["b"]["target"] = c->target_uri;
  if (!c->media) return j;
  const auto& mc = c->media->call();
  const auto view = media_.view(c->media->id());
  for (const sip::Side side : {sip::Side::a, sip::Side::b}) {
    const std::size_t i = side == sip::Side::a ? 0 : 1;
    json& leg = j[i == 0 ? "a" : "b"];
    leg["local_rtp_port"] = mc.leg(side).ports.rtp;
    if (view && view->stats) {
      // The engine's address: a reload does not move the port range or its address.
      const std::string local = media::Endpoint{media_.address(), mc.leg(side).ports.rtp}.to_string();
      leg["media"] = leg_media_json(view->stats->legs[i], view->ice[i], local);
    }
  }
  if (detail && view) j["media_history"] = view->history;
  // The verdict only for one call: judging every call of a list on the signalling thread would
  // delay SIP for every scrape (docs/benchmarks.md).
  const sip::CallOutcome outcome{c->a_final, c->answered_at, c->ice_timed_out};
  if (!detail) return j;
  if (auto v = media_.diagnose(c->media->id(), outcome)) {
    j["diagnosis"] = verdict_json(diagnosis::to_fields(*v));
  }
  return j;
}

nlohmann::json DaemonControl::health() {
  return on_signalling<json>(
      [this] {
        json j;
        j["status"] = b2bua_.router().draining() ? "draining" : "ok";
        j["version"] = ICEGATE_VERSION;
        j["uptime_s"] = seconds_since(started_);
        j["calls"] = b2bua_.active_calls();
        j["registrations"] = b2bua_.registrar().all(sip::Registrar::Clock::now()).size();
        if (auto a = media_.public_address()) j["public_address"] = a->to_string();
        std::size_t up = 0;
        for (const auto& [name, link] : b2bua_.trunk_links()) {
          const sip::TrunkEntry* e = b2bua_.trunks().named(name);
          if (e && e->up) ++up;
        }
        j["trunks_up"] = up;
        j["trunks"] = b2bua_.trunk_links().size();
        return j;
      },
      std::chrono::milliseconds(3000));
}

nlohmann::json DaemonControl::calls() {
  refresh_media(std::chrono::milliseconds(1000));
  return on_signalling<json>(
      [this] {
        json list = json::array();
        for (const auto& [id, c] : b2bua_.router().calls()) list.push_back(call_json(id, false));
        return json{{"calls", list}};
      },
      std::chrono::milliseconds(3000));
}

std::optional<nlohmann::json> DaemonControl::call(const std::string& id) {
  refresh_media(std::chrono::milliseconds(1000));
  auto j = on_signalling<json>([this, id] { return call_json(id, true); },
                               std::chrono::milliseconds(3000));
  if (j.is_null()) return std::nullopt;
  return j;
}

std::optional<nlohmann::json> DaemonControl::diagnose(const std::string& id) {
  // A live call: judged now from fresh counters; an ended one: the verdict logged at its end.
  if (auto c = call(id)) {
    json j{{"call", id}, {"live", true}};
    if (c->contains("diagnosis")) j["diagnosis"] = (*c)["diagnosis"];
    j["media_history"] = c->value("media_history", "");
    return j;
  }
  auto recent = on_signalling<std::optional<diagnosis::VerdictFields>>(
      [this, id] { return media_.recent_verdict(id); }, std::chrono::milliseconds(3000));
  if (!recent) return std::nullopt;
  return json{{"call", id}, {"live", false}, {"diagnosis", verdict_json(*recent)}};
}

bool DaemonControl::hang_up(const std::string& id) {
  return on_signalling<bool>(
      [this, id] { return b2bua_.router().hang_up(id, "hung up through the control API"); },
      std::chrono::milliseconds(3000));
}

nlohmann::json DaemonControl::registrations() {
  return on_signalling<json>(
      [this] {
        const auto now = sip::Registrar::Clock::now();
        json list = json::array();
        for (const auto& b : b2bua_.registrar().all(now)) {
          const std::string host =
              b.source.is_v4() ? b.source.to_string() : "[" + b.source.to_string() + "]";
          list.push_back({{"user", b.user},
                          {"contact", b.contact},
                          {"source", host + ":" + std::to_string(b.source_port)},
                          {"transport", std::string(conf::to_string(b.transport))},
                          {"listener", b.profile},
                          {"behind_nat", b.behind_nat},
                          {"expires_in_s", std::chrono::duration_cast<std::chrono::seconds>(
                                               b.expires - now)
                                               .count()},
                          {"registered_s_ago", seconds_since(b.registered, now)}});
        }
        // Users that never register (issue 11): where their calls go while no registration
        // is live; a live one overrides the static contact.
        json statics = json::array();
        for (const auto& u : b2bua_.router().config().users) {
          if (!u.contact) continue;
          statics.push_back({{"user", u.name},
                             {"contact", u.contact->uri},
                             {"transport", std::string(conf::to_string(u.contact->transport))},
                             {"overridden", b2bua_.registrar().lookup(u.name, now).has_value()}});
        }
        return json{{"registrations", list}, {"static_contacts", statics}};
      },
      std::chrono::milliseconds(3000));
}

nlohmann::json DaemonControl::trunks() {
  return on_signalling<json>(
      [this] {
        json list = json::array();
        for (const auto& [name, link] : b2bua_.trunk_links()) {
          const sip::TrunkEntry* e = b2bua_.trunks().named(name);
          json t;
          t["name"] = name;
          t["up"] = e && e->up;
          json addresses = json::array();
          if (e) {
            for (const auto& r : e->resolved) {
              addresses.push_back(media::Endpoint{r.address, r.port}.to_string());
            }
            t["current"] = e->current;
            t["transport"] = std::string(conf::to_string(e->cfg->transport));
          }
          t["addresses"] = addresses;
          const char* reg = "none";
          if (e && e->cfg->registration) {
            switch (link.registration) {
              case sip::TrunkRegistrationState::unregistered:
                reg = "unregistered";
                break;
              case sip::TrunkRegistrationState::registering:
                reg = "registering";
                break;
              case sip::TrunkRegistrationState::authenticating:
                reg = "authenticating";
                break;
              case sip::TrunkRegistrationState::registered:
                reg = "registered";
                break;
            }
          }
          t["registration"] = reg;
          list.push_back(std::move(t));
        }
        return json{{"trunks", list}};
      },
      std::chrono::milliseconds(3000));
}

admin::Outcome DaemonControl::reload() { return hooks_.reload(); }

admin::Outcome DaemonControl::drain() {
  return on_signalling<admin::Outcome>(
      [this] {
        auto& router = b2bua_.router();
        const bool already = router.draining();
        const std::size_t calls = router.active_calls();
        if (!already) router.drain(hooks_.drained);
        return admin::Outcome{202, json{{"draining", true}, {"calls", calls}}};
      },
      std::chrono::milliseconds(3000));
}

namespace {

struct ChildResult {
  int exit_code = -1;  // -1: killed at the deadline
  std::string out;
  std::string err;
};

// Runs `argv` with stdout and stderr captured; killed when it outlives `deadline`.
ChildResult run_child(const std::vector<std::string>& argv, std::chrono::seconds deadline) {
  ChildResult r;
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return r;
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return r;
  }
  UniqueFd out_r(out_pipe[0]), out_w(out_pipe[1]), err_r(err_pipe[0]), err_w(err_pipe[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, err_w.get(), 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // The daemon blocks SIGTERM/SIGINT/SIGHUP for its sigwait loop: the child must not inherit it.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0].c_str(), &fa, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  out_w.reset();
  err_w.reset();
  if (rc != 0) {
    r.err = std::string("cannot start ") + argv[0] + ": " + std::strerror(rc);
    return r;
  }
  const auto until = Clock::now() + deadline;
  pollfd fds[2] = {{out_r.get(), POLLIN, 0}, {err_r.get(), POLLIN, 0}};
  std::string* sinks[2] = {&r.out, &r.err};
  int open_fds = 2;
  while (open_fds > 0 && Clock::now() < until) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
    if (::poll(fds, 2, static_cast<int>(std::max<long long>(left.count(), 1))) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0 && sinks[i]->size() < 1024 * 1024) {
        sinks[i]->append(buf, static_cast<std::size_t>(n));
      } else if (n <= 0) {
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  int status = 0;
  if (open_fds > 0) ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  if (open_fds == 0 && WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  return r;
}

}  // namespace

admin::Outcome DaemonControl::run_check(const std::string& tool, const std::string& server,
                                        const std::string& expect) {
  // The same engines and output as the CLI command, run by this very program.
  std::vector<std::string> argv = {"/proc/self/exe", tool, "-c", hooks_.config_file, "--json"};
  if (tool == "turn-check") {
    argv.push_back(server);
  } else if (!server.empty()) {
    argv.insert(argv.end(), {"--server", server});
  }
  if (tool == "stun-check" && !expect.empty()) argv.insert(argv.end(), {"--expect", expect});
  const auto r = run_child(argv, std::chrono::seconds(90));
  json body{{"check", tool}, {"exit_code", r.exit_code}, {"ok", r.exit_code == 0}};
  // --json prints one JSON document per line (stun-check: one per server).
  json results = json::array();
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    auto j = json::parse(line, nullptr, false);
    results.push_back(j.is_discarded() ? json(line) : j);
  }
  body["results"] = results;
  if (!r.err.empty()) body["stderr"] = r.err;
  if (r.exit_code == -1) {
    body["error"] = r.err.empty() ? "the check did not finish within 90 s" : r.err;
    return {504, body};
  }
  if (r.exit_code == 2) return {400, body};  // a usage error: e.g. no such server
  return {200, body};
}

namespace {

json capture_json(const capture::CaptureInfo& i) {
  json j{{"name", i.name.empty() ? json(nullptr) : json(i.name)},
         {"call", i.call.empty() ? json(nullptr) : json(i.call)},
         {"state", i.state},
         {"sip", i.sip},
         {"bytes", i.file.bytes},
         {"packets", i.file.packets},
         {"sip_packets", i.sip_packets},
         {"refused", i.file.refused}};
  if (!i.path.empty()) j["path"] = i.path;
  if (!i.armed_for.empty()) j["armed_for"] = i.armed_for;
  if (!i.ended_because.empty()) j["ended_because"] = i.ended_because;
  return j;
}

}  // namespace

admin::Outcome DaemonControl::capture_call(const std::string& id) {
  return on_signalling<admin::Outcome>(
      [this, id] {
        auto r = media_.capture_call(id);
        if (!r) return admin::Outcome{r.error().status, {{"error", r.error().message}}};
        logger("admin")->info("call {}: capture started in {} (SIP: {})", id, r->path, r->sip);
        return admin::Outcome{201, capture_json(*r)};
      },
      std::chrono::milliseconds(3000));
}

admin::Outcome DaemonControl::capture_next(const std::string& user) {
  return on_signalling<admin::Outcome>(
      [this, user] {
        auto r = media_.captures().arm(user);
        if (!r) return admin::Outcome{r.error().status, {{"error", r.error().message}}};
        logger("admin")->info("capture armed for the next call of {}", user);
        return admin::Outcome{202, capture_json(*r)};
      },
      std::chrono::milliseconds(3000));
}

nlohmann::json DaemonControl::captures() {
  return on_signalling<json>(
      [this] {
        json list = json::array();
        for (const auto& i : media_.captures().list()) list.push_back(capture_json(i));
        return json{{"captures", list}};
      },
      std::chrono::milliseconds(3000));
}

std::optional<std::string> DaemonControl::capture_file(const std::string& name) {
  return on_signalling<std::optional<std::string>>(
      [this, name] { return media_.captures().path_of(name); }, std::chrono::milliseconds(3000));
}

}  // namespace icegate::gateway
