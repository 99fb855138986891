#include "gateway/capture/manager.hpp"

#include <algorithm>

namespace icegate::gateway::capture {

void Manager::configure(const std::optional<conf::Capture>& cfg,
                        std::vector<std::uint16_t> sip_ports) {
  if (!cfg) {
    settings_.reset();
    return;
  }
  std::sort(sip_ports.begin(), sip_ports.end());
  sip_ports.erase(std::unique(sip_ports.begin(), sip_ports.end()), sip_ports.end());
  settings_ = CallCapture::Settings{cfg->directory,
                                    std::uint64_t{cfg->max_megabytes} * 1024 * 1024,
                                    cfg->max_duration, cfg->sip, std::move(sip_ports)};
}

std::size_t Manager::active() const {
  return static_cast<std::size_t>(std::count_if(captures_.begin(), captures_.end(),
                                                [](const auto& c) { return !c->done(); }));
}

void Manager::prune() {
  for (auto it = by_call_.begin(); it != by_call_.end();) {
    it = it->second->done() ? by_call_.erase(it) : std::next(it);
  }
  std::size_t finished = captures_.size() - active();
  for (auto it = captures_.begin(); it != captures_.end() && finished > kKeptFinished;) {
    if ((*it)->done()) {
      it = captures_.erase(it);
      --finished;
    } else {
      ++it;
    }
  }
}

std::optional<Refusal> Manager::refuse_new() {
  prune();
  if (!settings_) return Refusal{409, "captures are off: configure <capture directory=...>"};
  if (active() >= kMaxActive) {
    return Refusal{409, std::to_string(kMaxActive) + " captures are running already"};
  }
  return std::nullopt;
}

Expected<std::shared_ptr<CallCapture>, Refusal> Manager::start(const CallKey& call) {
  if (auto refused = refuse_new()) return unexpected(std::move(*refused));
  if (by_call_.count(call.label)) {
    return unexpected(Refusal{409, "call " + call.label + " is being captured already"});
  }
  auto c = CallCapture::for_call(*settings_, call);
  if (!c) return unexpected(Refusal{500, c.error()});
  captures_.push_back(*c);
  by_call_[call.label] = *c;
  return *c;
}

Expected<CaptureInfo, Refusal> Manager::arm(const std::string& user) {
  if (auto refused = refuse_new()) return unexpected(std::move(*refused));
  if (!settings_->sip) {
    return unexpected(Refusal{409, "capturing the next call needs SIP capture (<capture sip=\"true\">)"});
  }
  auto c = CallCapture::armed(*settings_, user);
  if (!c) return unexpected(Refusal{500, c.error()});
  captures_.push_back(*c);
  return (*c)->info();
}

std::shared_ptr<CallCapture> Manager::on_call_created(const CallKey& call) {
  for (const auto& c : captures_) {
    if (!c->wants(call)) continue;
    if (c->attach(call)) continue;  // the reason is in its info
    by_call_[call.label] = c;
    return c;
  }
  return nullptr;
}

void Manager::on_call_ended(const std::string& label) {
  if (auto it = by_call_.find(label); it != by_call_.end()) it->second->call_ended();
}

std::vector<CaptureInfo> Manager::list() {
  prune();
  std::vector<CaptureInfo> out;
  for (const auto& c : captures_) out.push_back(c->info());
  return out;
}

std::optional<std::string> Manager::path_of(const std::string& name) {
  for (const auto& c : captures_) {
    auto i = c->info();
    if (!i.name.empty() && i.name == name) return i.path;
  }
  return std::nullopt;
}

}  // namespace icegate::gateway::capture
