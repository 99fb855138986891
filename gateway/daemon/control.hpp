// admin::Control for the running gateway: every question hops to the signalling thread, where
// the calls, the registrar, the trunks and the media engine live (style.md §11), and waits for
// the answer there with a deadline (a stuck answer is a 503, never a stuck admin thread).
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "gateway/admin/control.hpp"
#include "gateway/daemon/media_engine.hpp"

namespace icegate::sip {
class Stack;
class B2bua;
}  // namespace icegate::sip

namespace icegate::gateway {

struct ControlHooks {
  std::function<admin::Outcome()> reload;         // loads the file again (any thread)
  std::function<void()> drained;                  // no call left after a drain (signalling thread)
  std::string config_file;  // the checks run `icegate <check> -c config_file --json`
};

class DaemonControl final : public admin::Control {
 public:
  DaemonControl(sip::Stack& stack, sip::B2bua& b2bua, MediaEngine& media, ControlHooks hooks);
  ~DaemonControl() override;

  std::string metrics() override;
  nlohmann::json health() override;
  nlohmann::json calls() override;
  std::optional<nlohmann::json> call(const std::string& id) override;
  std::optional<nlohmann::json> diagnose(const std::string& id) override;
  bool hang_up(const std::string& id) override;
  nlohmann::json registrations() override;
  nlohmann::json trunks() override;
  admin::Outcome reload() override;
  admin::Outcome drain() override;
  admin::Outcome run_check(const std::string& tool, const std::string& server,
                           const std::string& expect) override;
  admin::Outcome capture_call(const std::string& id) override;
  admin::Outcome capture_next(const std::string& user) override;
  nlohmann::json captures() override;
  std::optional<std::string> capture_file(const std::string& name) override;

 private:
  // Runs `fn` on the signalling thread and returns its result; throws std::runtime_error when
  // the thread does not get to it within the deadline.
  template <typename T>
  T on_signalling(std::function<T()> fn, std::chrono::milliseconds deadline);
  // Asks the relay for fresh counters of every live call; returns when they came (or at most
  // after `deadline`, with what is there).
  void refresh_media(std::chrono::milliseconds deadline);

  // Runs on the signalling thread.
  std::string render_metrics();
  nlohmann::json call_json(const std::string& id, bool detail);

  sip::Stack& stack_;
  sip::B2bua& b2bua_;
  MediaEngine& media_;
  ControlHooks hooks_;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace icegate::gateway
