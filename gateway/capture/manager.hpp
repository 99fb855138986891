// The per-call captures of a running gateway (docs/operations.md): started for a running call or
// armed for the next call of a user or number, listed, found by file name. Used on the
// signalling thread only; each capture writes from the relay workers and its own SIP thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "conf/config.hpp"
#include "gateway/capture/call_capture.hpp"

namespace icegate::gateway::capture {

struct Refusal {
  int status;  // HTTP: 404 no such call, 409 not configured / already / too many, 500 I/O
  std::string message;
};

class Manager {
 public:
  static constexpr std::size_t kMaxActive = 8;
  static constexpr std::size_t kKeptFinished = 50;

  // (Re)configures; captures already running keep their settings. `sip_ports`: the SIP listener
  // ports and the trunks' ports (the ports SIP of a call can use).
  void configure(const std::optional<conf::Capture>& cfg, std::vector<std::uint16_t> sip_ports);
  bool enabled() const { return settings_.has_value(); }

  Expected<std::shared_ptr<CallCapture>, Refusal> start(const CallKey& call);
  Expected<CaptureInfo, Refusal> arm(const std::string& user);
  // A call starts: the armed capture that wants it, if any, attached to it.
  std::shared_ptr<CallCapture> on_call_created(const CallKey& call);
  void on_call_ended(const std::string& label);

  std::vector<CaptureInfo> list();
  // The path of a capture file by its name (only names this gateway wrote).
  std::optional<std::string> path_of(const std::string& name);

 private:
  void prune();
  std::size_t active() const;
  // Why no new capture may start now (not configured, or kMaxActive running), if so.
  std::optional<Refusal> refuse_new();

  std::optional<CallCapture::Settings> settings_;
  // Running and armed captures, and the finished ones still listed (oldest first).
  std::vector<std::shared_ptr<CallCapture>> captures_;
  std::map<std::string, std::shared_ptr<CallCapture>> by_call_;  // label -> running capture
};

}  // namespace icegate::gateway::capture
