#include "gateway/stun_cli.hpp"

#include <cmath>
#include <cstdio>

#include "gateway/stun_io.hpp"

namespace icegate::gateway {

Expected<std::vector<StunTarget>, std::string> select_stun_targets(
    const conf::Config& cfg, const std::optional<std::string>& server_name,
    const std::optional<std::string>& stun_host_port) {
  if (stun_host_port) {
    auto hp = parse_host_port(*stun_host_port, 3478);
    if (!hp) return unexpected("--stun " + hp.error());
    return std::vector<StunTarget>{{"command line", hp->host, hp->port}};
  }
  std::vector<StunTarget> out;
  for (const auto& s : cfg.stun.servers) {
    if (server_name && s.name != *server_name) continue;
    out.push_back({s.name, s.host, s.port});
  }
  if (out.empty()) {
    if (!server_name) return unexpected(std::string("no STUN server is configured (use --stun HOST[:PORT])"));
    std::string known;
    for (const auto& s : cfg.stun.servers) known += " " + s.name;
    return unexpected("no STUN server named \"" + *server_name + "\" (known:" +
                      (known.empty() ? std::string(" none") : known) + ")");
  }
  return out;
}

std::string json_escape(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

void JsonWriter::separator() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!first_.back()) out_ += ",";
  first_.back() = false;
}

JsonWriter& JsonWriter::begin_object() {
  separator();
  out_ += "{";
  first_.push_back(true);
  return *this;
}
JsonWriter& JsonWriter::end_object() {
  out_ += "}";
  first_.pop_back();
  return *this;
}
JsonWriter& JsonWriter::begin_array() {
  separator();
  out_ += "[";
  first_.push_back(true);
  return *this;
}
JsonWriter& JsonWriter::end_array() {
  out_ += "]";
  first_.pop_back();
  return *this;
}
JsonWriter& JsonWriter::key(std::string_view k) {
  separator();
  out_ += json_escape(k) + ":";
  after_key_ = true;
  return *this;
}
JsonWriter& JsonWriter::value(std::string_view v) {
  separator();
  out_ += json_escape(v);
  return *this;
}
JsonWriter& JsonWriter::value(bool v) {
  separator();
  out_ += v ? "true" : "false";
  return *this;
}
JsonWriter& JsonWriter::value(double v) {
  separator();
  if (!std::isfinite(v)) {
    out_ += "null";
    return *this;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  out_ += buf;
  return *this;
}
JsonWriter& JsonWriter::value(std::int64_t v) {
  separator();
  out_ += std::to_string(v);
  return *this;
}
JsonWriter& JsonWriter::null() {
  separator();
  out_ += "null";
  return *this;
}

}  // namespace icegate::gateway
