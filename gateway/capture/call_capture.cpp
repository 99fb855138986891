#include "gateway/capture/call_capture.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>

namespace icegate::gateway::capture {
namespace {

// A Call-ID or user in a file name: letters, digits, '.', '-' and '_' only, at most 40.
std::string file_safe(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 40)) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == '_';
    out += ok ? c : '_';
  }
  return out;
}

std::string utc_stamp() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

}  // namespace

bool CallKey::matches_call_id(std::string_view id) const {
  if (id == a_call_id || id == b_call_id) return true;
  // B's retries toward another target: "<b_call_id>.N".
  return !b_call_id.empty() && id.size() > b_call_id.size() + 1 &&
         id.substr(0, b_call_id.size()) == b_call_id && id[b_call_id.size()] == '.';
}

CallCapture::CallCapture(Settings s) : settings_(std::move(s)) {}

CallCapture::~CallCapture() {
  if (sniffer_) sniffer_->stop();
  sniffer_.reset();
  close("capture ended");
}

Expected<std::shared_ptr<CallCapture>, std::string> CallCapture::for_call(const Settings& s,
                                                                          const CallKey& call) {
  std::shared_ptr<CallCapture> c(new CallCapture(s));
  if (auto err = c->open_file(call)) return unexpected(std::move(*err));
  if (!s.sip) {
    c->sip_state_ = "off";
    return c;
  }
  // SIP from now on; a capture without it still has the media (the reason is reported).
  const auto failed = c->start_sniffer();
  std::lock_guard lock(c->mu_);
  c->sip_state_ = failed ? *failed : "captured";
  return c;
}

Expected<std::shared_ptr<CallCapture>, std::string> CallCapture::armed(const Settings& s,
                                                                       const std::string& user) {
  std::shared_ptr<CallCapture> c(new CallCapture(s));
  c->armed_for_ = user;
  c->deadline_ = Clock::now() + s.max_duration;  // an armed capture waits that long at most
  if (!s.sip) {
    c->sip_state_ = "off";
    return c;
  }
  if (auto failed = c->start_sniffer()) return unexpected(std::move(*failed));
  std::lock_guard lock(c->mu_);
  c->sip_state_ = "captured";
  return c;
}

std::optional<std::string> CallCapture::start_sniffer() {
  auto sniffer = SipSniffer::start(
      settings_.sip_ports,
      [this](const timeval& ts, std::span<const std::byte> ip, std::string_view id) {
        on_sip(ts, ip, id);
      },
      [this] { on_tick(); });
  if (!sniffer) return sniffer.error();
  std::lock_guard lock(mu_);
  sniffer_ = std::move(*sniffer);
  return std::nullopt;
}

std::optional<std::string> CallCapture::open_file(const CallKey& call) {
  std::error_code ec;
  std::filesystem::create_directories(settings_.directory, ec);
  if (ec) return "capture directory " + settings_.directory + ": " + ec.message();
  ::chmod(settings_.directory.c_str(), 0750);
  std::string name = utc_stamp() + "-" + file_safe(call.label) + "-" + file_safe(call.a_call_id);
  std::string path = (std::filesystem::path(settings_.directory) / (name + ".pcap")).string();
  auto file = PcapFile::create(path, settings_.max_bytes);
  if (!file) return file.error();
  std::lock_guard lock(mu_);
  file_ = std::move(*file);
  name_ = name + ".pcap";
  path_ = std::move(path);
  call_ = call;
  deadline_ = Clock::now() + settings_.max_duration;
  return std::nullopt;
}

bool CallCapture::wants(const CallKey& call) const {
  std::lock_guard lock(mu_);
  return !call_ && !file_ && !armed_for_.empty() &&
         (call.from_user == armed_for_ || call.to_user == armed_for_);
}

std::optional<std::string> CallCapture::attach(const CallKey& call) {
  if (auto err = open_file(call)) {
    close(*err);
    return err;
  }
  std::lock_guard lock(mu_);
  for (const auto& h : ring_) {
    if (call.matches_call_id(h.call_id) && file_->write_ip(h.ts, h.ip)) ++sip_packets_;
  }
  ring_.clear();
  return std::nullopt;
}

void CallCapture::on_sip(const timeval& ts, std::span<const std::byte> ip,
                         std::string_view call_id) {
  std::lock_guard lock(mu_);
  if (!call_) {
    if (file_ || armed_for_.empty()) return;  // done
    ring_.push_back({ts, std::string(call_id), std::vector<std::byte>(ip.begin(), ip.end())});
    if (ring_.size() > kRingPackets) ring_.pop_front();
    return;
  }
  if (call_->matches_call_id(call_id) && file_ && file_->write_ip(ts, ip)) ++sip_packets_;
}

void CallCapture::on_packet(const media::Endpoint& from, const media::Endpoint& to,
                            std::span<const std::byte> bytes) noexcept {
  PcapFile* f = nullptr;
  {
    std::lock_guard lock(mu_);
    f = file_.get();
  }
  if (f == nullptr || !f->open()) return;
  f->write_udp(wall_clock_now(), from, to, bytes);
  if (!sniffer_) on_tick();  // no thread of its own: the limits are checked here
}

void CallCapture::on_tick() {
  std::string because;
  {
    std::lock_guard lock(mu_);
    const auto now = Clock::now();
    if (ended_ && now - *ended_ >= (sniffer_ ? Clock::duration(kGrace) : Clock::duration(0))) {
      because = "call ended";
    } else if (deadline_ && now >= *deadline_) {
      because = "duration limit reached";
    } else if (file_ && !file_->open()) {
      because = file_->stats().closed_because;
    }
  }
  if (!because.empty()) close(because);
}

void CallCapture::call_ended() {
  {
    std::lock_guard lock(mu_);
    if (!ended_) ended_ = Clock::now();
  }
  if (!sniffer_) on_tick();
}

void CallCapture::stop(const std::string& because) { close(because); }

void CallCapture::close(const std::string& because) {
  std::lock_guard lock(mu_);
  if (file_) file_->close(because);
  if (sniffer_) sniffer_->stop();  // its thread ends; joined by the destructor
  if (!file_ && !armed_for_.empty() && ended_because_.empty()) ended_because_ = because;
  ring_.clear();
}

bool CallCapture::done() const {
  std::lock_guard lock(mu_);
  return file_ ? !file_->open() : !ended_because_.empty();
}

CaptureInfo CallCapture::info() const {
  std::lock_guard lock(mu_);
  CaptureInfo i;
  i.name = name_;
  i.path = path_;
  i.call = call_ ? call_->label : "";
  i.armed_for = armed_for_;
  i.sip = sip_state_;
  i.sip_packets = sip_packets_;
  if (file_) {
    i.file = file_->stats();
    i.state = i.file.closed ? "done" : "running";
    i.ended_because = i.file.closed_because;
  } else {
    i.state = ended_because_.empty() ? "armed" : "done";
    i.ended_because = ended_because_;
  }
  return i;
}

}  // namespace icegate::gateway::capture
