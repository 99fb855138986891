// The --json output of the operator commands, built with nlohmann-json. ordered_json keeps the
// keys in the order a command writes them (the order of its text output), and the output is one
// compact document on one line.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

#include "media/stunclient/engine.hpp"

namespace icegate::gateway {

using Json = nlohmann::ordered_json;

// A duration in milliseconds, rounded to the microsecond (the precision the text output shows).
double json_millis(media::stunclient::Duration d);

// `v->to_string()`, or null when there is no value.
template <typename T>
Json string_or_null(const std::optional<T>& v) {
  return v ? Json(v->to_string()) : Json(nullptr);
}

// `j` as one line of compact JSON ending in a newline. Text that came from the network (a
// server's SOFTWARE, error reasons) need not be UTF-8: invalid bytes become U+FFFD rather than
// an exception.
std::string json_line(const Json& j);

}  // namespace icegate::gateway
