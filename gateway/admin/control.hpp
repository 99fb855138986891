// What the admin listener asks of the running gateway. The daemon implements it
// (gateway/daemon/control.hpp); every call comes from one of the listener's threads and may wait
// a little while the daemon hops to its signalling thread.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>

namespace icegate::admin {

// An answer with a status: 200 and a body, or an error and a body that says why.
struct Outcome {
  int status = 200;
  nlohmann::json body;
};

class Control {
 public:
  virtual ~Control() = default;
  virtual std::string metrics() = 0;  // Prometheus text exposition format 0.0.4
  virtual nlohmann::json health() = 0;
  virtual nlohmann::json calls() = 0;
  virtual std::optional<nlohmann::json> call(const std::string& id) = 0;
  virtual std::optional<nlohmann::json> diagnose(const std::string& id) = 0;
  virtual bool hang_up(const std::string& id) = 0;
  virtual nlohmann::json registrations() = 0;
  virtual nlohmann::json trunks() = 0;
  virtual Outcome reload() = 0;
  virtual Outcome drain() = 0;
  // Per-call captures (docs/operations.md): of a running call, or armed for the next call of a
  // user or number; the list; a capture file's path by its name (nullopt: no such capture).
  virtual Outcome capture_call(const std::string& id) = 0;
  virtual Outcome capture_next(const std::string& user) = 0;
  virtual nlohmann::json captures() = 0;
  virtual std::optional<std::string> capture_file(const std::string& name) = 0;
  // The operator checks of behaviour.md §8 (tool: nat-detect, stun-check, turn-check) with the
  // query parameters already validated: `server` a configured server's name, `expect` an address.
  virtual Outcome run_check(const std::string& tool, const std::string& server,
                            const std::string& expect) = 0;
};

}  // namespace icegate::admin
