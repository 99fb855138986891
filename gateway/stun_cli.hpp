// Helpers shared by the STUN/TURN operator commands (stun-check, nat-detect, turn-check,
// ice-servers): which STUN servers to ask, and a small JSON writer for --json.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "acl/expected.hpp"
#include "conf/config.hpp"

namespace icegate::gateway {

struct StunTarget {
  std::string name;   // configured name, or "command line"
  std::string host;
  std::uint16_t port = 3478;
  std::string label() const { return host + ":" + std::to_string(port); }
};

// --stun HOST[:PORT] wins, then --server NAME, else every configured server.
Expected<std::vector<StunTarget>, std::string> select_stun_targets(
    const conf::Config& cfg, const std::optional<std::string>& server_name,
    const std::optional<std::string>& stun_host_port);

// A minimal streaming JSON writer: commas and escaping are its business.
class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);
  JsonWriter& value(std::string_view v);
  JsonWriter& value(const char* v) { return value(std::string_view(v)); }
  JsonWriter& value(const std::string& v) { return value(std::string_view(v)); }
  JsonWriter& value(bool v);
  JsonWriter& value(double v);
  JsonWriter& value(std::int64_t v);
  JsonWriter& null();
  const std::string& str() const noexcept { return out_; }

 private:
  void separator();
  std::string out_;
  std::vector<bool> first_{true};
  bool after_key_ = false;
};

std::string json_escape(std::string_view s);

}  // namespace icegate::gateway
