#include "sip/stack.hpp"

#include <sofia-sip/su_log.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sofia-sip/tport_tag.h>

#include <algorithm>
#include <cstdarg>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "sip/log.hpp"
#include "sip/request_info.hpp"

namespace icegate::sip {
namespace {

void nua_callback(nua_event_t event, int status, char const* phrase, nua_t* /*nua*/,
                  Profile* profile, nua_handle_t* nh, SofiaLeg* leg, sip_t const* sip, tagi_t tags[]) {
  if (profile == nullptr) return;
  profile->stack->dispatch(*profile, event, status, phrase, nh, leg, sip, tags);
}

int on_watched(Stack* /*stack*/, su_wait_t* /*w*/, su_wakeup_arg_t* arg) {
  (*reinterpret_cast<std::function<void()>*>(arg))();
  return 0;
}

int on_wake(Stack* stack, su_wait_t* /*w*/, su_wakeup_arg_t* /*arg*/) {
  stack->drain_posted();
  return 0;
}

// Sofia logs in fragments (a line may come in several calls); whole lines go to "sofia".
void sofia_logger(void* /*stream*/, char const* fmt, va_list ap) {
  static thread_local std::string pending;
  char buf[1024];
  va_list copy;
  va_copy(copy, ap);
  const int n = vsnprintf(buf, sizeof buf, fmt, copy);
  va_end(copy);
  if (n < 0) return;
  pending.append(buf, std::min<std::size_t>(static_cast<std::size_t>(n), sizeof buf - 1));
  for (auto nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n')) {
    if (nl > 0) named_logger("sofia")->info("{}", pending.substr(0, nl));
    pending.erase(0, nl + 1);
  }
}

std::string host_for_url(const acl::Address& a) {
  return a.is_v4() ? a.to_string() : "[" + a.to_string() + "]";
}

// A TCP port on 127.0.0.1 that nothing listens on right now (the kernel's choice).
std::optional<std::uint16_t> free_loopback_port() {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return std::nullopt;
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sin;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sin), sizeof sin) != 0 ||
      ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&sin), &len) != 0) {
    return std::nullopt;
  }
  return ntohs(sin.sin_port);
}

// The nua events that are requests from the network.
bool is_request_event(nua_event_t event) {
  switch (event) {
    case nua_i_invite:
    case nua_i_register:
    case nua_i_options:
    case nua_i_message:
    case nua_i_subscribe:
    case nua_i_notify:
    case nua_i_refer:
    case nua_i_info:
    case nua_i_update:
    case nua_i_bye:
    case nua_i_cancel:
    case nua_i_prack:
    case nua_i_publish:
    case nua_i_method:
      return true;
    default:
      return false;
  }
}

}  // namespace

bool Profile::has(conf::Transport t) const {
  return std::find(transports.begin(), transports.end(), t) != transports.end();
}

Stack::Stack() = default;

Stack::~Stack() { stop(); }

bool Stack::start(const conf::Sip& sip, EventSink& sink, int sofia_level, std::string& error) {
  sink_ = &sink;
  std::promise<std::string> started;
  auto result = started.get_future();
  thread_ = std::thread([this, &sip, sofia_level, &started] { run(sip, sofia_level, started); });
  error = result.get();
  if (!error.empty()) {
    thread_.join();
    return false;
  }
  running_ = true;
  return true;
}

void Stack::run(const conf::Sip& sip, int sofia_level, std::promise<std::string>& started) {
  thread_id_ = std::this_thread::get_id();
  su_init();
  su_log_redirect(su_log_default, sofia_logger, nullptr);
  su_log_set_level(su_log_default, static_cast<unsigned>(sofia_level));
  root_.reset(su_root_create(this));
  std::string error;
  if (!root_) error = "cannot create the Sofia-SIP event loop";
  // One thread for the whole stack: no internal worker threads (halves Sofia's CPU).
  if (error.empty()) su_root_threading(root_.get(), 0);
  if (error.empty()) {
    wake_fd_.reset(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    su_wait_t w;
    if (!wake_fd_ || su_wait_create(&w, wake_fd_.get(), SU_WAIT_IN) < 0 ||
        su_root_register(root_.get(), &w, on_wake, nullptr, 0) < 0) {
      error = "cannot register the signalling wake-up descriptor";
    }
  }
  if (error.empty()) create_profiles(sip, error);
  if (error.empty()) start_websocket(error);
  if (!error.empty()) {
    // nua_destroy() asserts a finished nua_shutdown(): shut the ones that came up down first
    // (dispatch() breaks the loop once every live profile answered).
    bool any = false;
    for (auto& p : profiles_) {
      if (p->nua) {
        nua_shutdown(p->nua);
        any = true;
      } else {
        p->shut_down = true;
      }
    }
    if (ws_server_) ws_server_->stop();
    if (any) su_root_run(root_.get());
    for (auto& p : profiles_) {
      if (p->nua) nua_destroy(p->nua);
    }
    profiles_.clear();
    root_.reset();
    wake_fd_.reset();
    su_deinit();
    started.set_value(error);
    return;
  }
  if (guard_) {
    for (const auto& p : profiles_) {
      if (p->has(conf::Transport::udp)) kernel_filter_.add_listener(p->address, p->port);
    }
    filter_timer_.reset(su_timer_create(su_root_task(root_.get()), 1000));
    su_timer_set_for_ever(
        filter_timer_.get(),
        [](Stack* /*magic*/, su_timer_t* /*t*/, su_timer_arg_t* arg) {
          reinterpret_cast<Stack*>(arg)->refresh_kernel_filter();
        },
        reinterpret_cast<su_timer_arg_t*>(this));
  }
  sink_->on_started();
  started.set_value({});
  su_root_run(root_.get());
  // All profiles have answered nua_shutdown: destroy them, then the root.
  filter_timer_.reset();
  watchers_.clear();
  for (auto& p : profiles_) {
    nua_destroy(p->nua);
    p->nua = nullptr;
  }
  root_.reset();
  su_deinit();
}

std::optional<std::string> Stack::write_tls_dir(const conf::Listener& l, std::string& error) {
  const auto slurp = [](const std::string& path) -> std::optional<std::string> {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  };
  const auto key = slurp(l.private_key_file);
  const auto cert = slurp(l.certificate_file);
  if (!key || !cert) {
    error =
        "listener " + l.name + ": cannot read " + (key ? l.certificate_file : l.private_key_file);
    return std::nullopt;
  }
  std::string dir = (std::filesystem::temp_directory_path() / "icegate-tls-XXXXXX").string();
  if (::mkdtemp(dir.data()) == nullptr) {  // mode 0700
    error = "listener " + l.name + ": cannot create a private directory for the TLS key";
    return std::nullopt;
  }
  const auto pem = std::filesystem::path(dir) / "agent.pem";
  {
    std::ofstream out(pem, std::ios::binary);
    out << *key << (key->empty() || key->back() == '\n' ? "" : "\n") << *cert;
  }
  std::filesystem::permissions(
      pem, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  return dir;
}

bool Stack::create_profiles(const conf::Sip& sip, std::string& error) {
  // Listeners on the same address and port share one nua (one URL binds UDP and TCP).
  std::map<std::pair<acl::Address, std::uint16_t>, Profile*> by_addr;
  for (const auto& l : sip.listeners) {
    if (l.transport == conf::Transport::ws || l.transport == conf::Transport::wss) {
      // Its own nua on loopback TCP; the WebSocket server is its only client.
      auto port = free_loopback_port();
      if (!port) {
        error = "listener " + l.name + ": no free TCP port on 127.0.0.1 for its SIP stack";
        return false;
      }
      profiles_.push_back(std::make_unique<Profile>());
      Profile* p = profiles_.back().get();
      p->address = acl::Address::v4(0x7f000001u);
      p->port = *port;
      p->stack = this;
      p->name = l.name;
      p->transports.push_back(l.transport);
      p->ws = &l;
      continue;
    }
    auto key = std::pair{l.address, l.port};
    auto it = by_addr.find(key);
    if (it == by_addr.end()) {
      profiles_.push_back(std::make_unique<Profile>());
      Profile* p = profiles_.back().get();
      p->address = l.address;
      p->port = l.port;
      p->stack = this;
      it = by_addr.emplace(key, p).first;
    }
    Profile* p = it->second;
    p->name += (p->name.empty() ? "" : "+") + l.name;
    p->transports.push_back(l.transport);
    if (l.transport == conf::Transport::tls) p->tls = &l;
  }
  for (auto& p : profiles_) {
    // nta binds TLS only for a sips: URL (a sip: URL offers udp, tcp and sctp).
    p->url = std::string(p->tls ? "sips:" : "sip:") + host_for_url(p->address) + ":" +
             std::to_string(p->port);
    if (p->ws) {
      p->url += ";transport=tcp";
    } else if (p->transports.size() == 1 && !p->tls) {
      p->url += ";transport=" + std::string(conf::to_string(p->transports.front()));
    }
    if (p->tls) {
      p->contact =
          "<sip:" + host_for_url(p->address) + ":" + std::to_string(p->port) + ";transport=tls>";
    }
    if (p->ws) {
      // What the browser sees: the listener, not the loopback side (RFC 7118 §5.2's "ws" URI
      // parameter). An unspecified listener address has no name to give: a .invalid one.
      const std::string host = p->ws->address.is_unspecified() ? std::string("icegate.invalid")
                                                               : host_for_url(p->ws->address);
      p->contact = "<sip:" + host + ":" + std::to_string(p->ws->port) + ";transport=" +
                   std::string(conf::to_string(p->ws->transport)) + ">";
    }
    // Sofia-SIP's TLS reads its key and certificate from "agent.pem" in a directory: a private
    // one, removed again once the transport holds them in memory.
    std::string tls_dir;
    if (p->tls) {
      auto dir = write_tls_dir(*p->tls, error);
      if (!dir) return false;
      tls_dir = *dir;
    }
    p->nua = nua_create(
        root_.get(), nua_callback, p.get(), NUTAG_URL(p->url.c_str()),
        TAG_IF(p->tls, TPTAG_CERTIFICATE(tls_dir.c_str())),
        // Phones rarely have client certificates; trunks are not verified
        // either (no CA configuration yet): docs/configuration.md says so.
        TAG_IF(p->tls, TPTAG_TLS_VERIFY_POLICY(TPTLS_VERIFY_NONE)),
        NUTAG_MEDIA_ENABLE(0),  // icegate owns SDP
        NUTAG_AUTOANSWER(0), NUTAG_AUTOALERT(0), NUTAG_AUTOACK(1), NUTAG_ENABLEMESSAGE(0),
        NUTAG_SESSION_TIMER(0),
        // RFC 4028's own minimum: JsSIP offers Session-Expires 90 and does not retry a 422.
        NUTAG_MIN_SE(90), NUTAG_APPL_METHOD("REGISTER, OPTIONS, UPDATE"),
        // What icegate serves, replacing nua's longer default list (MESSAGE,
        // SUBSCRIBE, REFER... are not relayed). PRACK: nua runs 100rel itself.
        SIPTAG_ALLOW_STR("INVITE, ACK, BYE, CANCEL, OPTIONS, PRACK, UPDATE, REGISTER"),
        SIPTAG_USER_AGENT_STR(sip.user_agent.c_str()), TAG_END());
    if (!tls_dir.empty()) std::filesystem::remove_all(tls_dir);
    if (p->nua == nullptr) {
      error = "cannot listen on " + p->url + " (listener " + p->name +
              (p->tls ? "): address in use, not local, or the TLS certificate/key was refused"
                      : "): address in use or not local");
      return false;
    }
    if (!p->ws) log().info("listening on {} ({})", p->url, p->name);
  }
  return true;
}

bool Stack::start_websocket(std::string& error) {
  std::vector<ws::ListenerSpec> specs;
  for (const auto& p : profiles_) {
    if (p->ws) specs.push_back({p->ws, p->port});
  }
  if (specs.empty()) return true;
  ws_server_ = std::make_unique<ws::Server>(
      ws_peers_, [this](std::uint16_t bridge_port, const ws::Peer& peer) {
        // On the WebSocket thread: the registrar and calls live on the signalling thread.
        post([this, bridge_port, peer] {
          if (Profile* p = profile_named(peer.listener); p && p->ws) {
            sink_->on_ws_closed(*p, bridge_port, peer);
          }
        });
      });
  return ws_server_->start(specs, error);
}

void Stack::dispatch(Profile& p, nua_event_t event, int status, const char* phrase,
                     nua_handle_t* nh, SofiaLeg* leg, const sip_t* sip, tagi_t tags[]) {
  if (event == nua_r_shutdown) {
    if (status >= 200) {
      p.shut_down = true;
      if (std::all_of(profiles_.begin(), profiles_.end(),
                      [](const auto& x) { return x->shut_down; })) {
        su_root_break(root_.get());
      }
    }
    return;
  }
  if (p.ws && refused_as_stranger(p, event, nh, leg, sip)) return;
  if (guard_ && refused_by_guard(p, event, nh, leg, sip)) return;
  sink_->on_nua_event(p, event, status, phrase, nh, leg, sip, tags);
}

bool Stack::refused_as_stranger(Profile& p, nua_event_t event, nua_handle_t* nh, SofiaLeg* leg,
                                const sip_t* sip) {
  // A WebSocket listener's loopback port serves the WebSocket server's bridges only: anything
  // else connecting to it (a local process) is not a browser, and has no address to check.
  if (!is_request_event(event) || !sip || !sip->sip_request || request_source(p.nua)) return false;
  log().warn("{} on WebSocket listener {}'s stack port from a connection that is not a bridge: "
             "refused with 403",
             sip->sip_request->rq_method_name ? sip->sip_request->rq_method_name : "request",
             p.name);
  if (leg || !nh) return true;
  Handle owned(nh);
  nua_respond(nh, SIP_403_FORBIDDEN, NUTAG_WITH_THIS(p.nua), TAG_END());
  return true;
}

bool Stack::refused_by_guard(Profile& p, nua_event_t event, nua_handle_t* nh, SofiaLeg* leg,
                             const sip_t* sip) {
  // The earliest point Sofia-SIP 1.12 offers the application: nta has already parsed the
  // request and made its server transaction (docs/security.md says so).
  if (!is_request_event(event)) return false;
  if (!sip || !sip->sip_request) return false;
  const auto src = request_source(p.nua);
  if (!src) return false;
  const auto verdict = guard_->admit(src->address, flood::Clock::now());
  if (verdict.action == flood::Admission::Action::pass) return false;
  if (verdict.new_ban) refresh_kernel_filter();
  // Requests inside a call of a banned source still reach it (the call was authenticated);
  // new ones stop here.
  if (leg || !nh) return false;
  Handle owned(nh);
  if (verdict.action == flood::Admission::Action::reply_503) {
    const std::string retry = std::to_string(verdict.retry_after);
    nua_respond(nh, SIP_503_SERVICE_UNAVAILABLE, NUTAG_WITH_THIS(p.nua),
                SIPTAG_RETRY_AFTER_STR(retry.c_str()), TAG_END());
  }
  return true;
}

void Stack::post(std::function<void()> fn) {
  {
    std::lock_guard lock(mutex_);
    if (!running_) return;
    queue_.push_back(std::move(fn));
  }
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = write(wake_fd_.get(), &one, sizeof one);
}

bool Stack::watch(int fd, std::function<void()> fn) {
  watchers_.push_back(std::make_unique<std::function<void()>>(std::move(fn)));
  su_wait_t w;
  return su_wait_create(&w, fd, SU_WAIT_IN) == 0 &&
         su_root_register(root_.get(), &w, on_watched,
                          reinterpret_cast<su_wakeup_arg_t*>(watchers_.back().get()), 0) >= 0;
}

void Stack::drain_posted() {
  std::uint64_t count;
  [[maybe_unused]] auto n = read(wake_fd_.get(), &count, sizeof count);
  std::deque<std::function<void()>> work;
  {
    std::lock_guard lock(mutex_);
    work.swap(queue_);
  }
  for (auto& fn : work) fn();
  if (stopping_) return;
}

void Stack::stop() {
  if (!thread_.joinable()) return;
  // Browsers first: their connections close (and their registrations with them) while the
  // stack still runs.
  if (ws_server_) ws_server_->stop();
  if (running_) {
    post([this] {
      stopping_ = true;
      sink_->on_stopping();
      for (auto& p : profiles_) nua_shutdown(p->nua);
    });
  }
  thread_.join();
  {
    std::lock_guard lock(mutex_);
    running_ = false;
    queue_.clear();
  }
  wake_fd_.reset();
}

void Stack::refresh_kernel_filter() {
  if (guard_) kernel_filter_.update(guard_->limiter().banned_list(flood::Clock::now()));
}

Profile* Stack::profile_for(conf::Transport t) {
  for (auto& p : profiles_) {
    if (p->has(t)) return p.get();
  }
  return nullptr;
}

Profile* Stack::profile_named(const std::string& listener_name) {
  for (auto& p : profiles_) {
    const std::string& n = p->name;
    if (n == listener_name) return p.get();  // the profile's own (joined) name
    for (std::size_t start = 0; start <= n.size();) {
      const auto end = std::min(n.find('+', start), n.size());
      if (n.compare(start, end - start, listener_name) == 0) return p.get();
      start = end + 1;
    }
  }
  return nullptr;
}

}  // namespace icegate::sip
