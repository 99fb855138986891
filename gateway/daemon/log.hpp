// One logging facility for the whole process: spdlog loggers named after components
// ("gateway", "sip", "sofia", "media", "stun") sharing one sink with timestamps and levels.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <string_view>

namespace icegate::gateway {

// Sets up the sink (stderr, or a file when `path` is given) and the global level.
void init_logging(std::string_view level, const std::string& path = {});
// Changes the level of every component logger (configuration reload).
void set_log_level(std::string_view level);
// The logger of a component; created on first use with the shared sink.
std::shared_ptr<spdlog::logger> logger(const std::string& component);

}  // namespace icegate::gateway
