#include "gateway/cli/json_output.hpp"

#include <chrono>
#include <cmath>

namespace icegate::gateway {

double json_millis(media::stunclient::Duration d) {
  const double ms = std::chrono::duration<double, std::milli>(d).count();
  return std::round(ms * 1000.0) / 1000.0;
}

std::string json_line(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace icegate::gateway
