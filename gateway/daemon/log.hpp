// One logging facility for the whole process: spdlog loggers named after components
// ("gateway", "sip", "sofia", "media", "stun") sharing one sink with timestamps and levels.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <string_view>

namespace icegate::gateway {

// The level names of --log-level and <logging level> (conf/loader.cpp), for messages.
inline constexpr std::string_view kLogLevelNames = "trace, debug, info, warn, error, off";
// True when `level` is one of kLogLevelNames (spdlog would turn anything else into "off").
bool is_log_level(std::string_view level);

// Sets up the sink (stderr, or a file when `path` is given, opened for appending; spdlog creates
// missing parent directories) and the global level. Empty, or why the file cannot be opened
// (then nothing is changed).
std::string init_logging(std::string_view level, const std::string& path = {});
// Reopens the log file under its name (SIGUSR1, after logrotate moved it away). Empty when
// reopened, else why not (no log file: logging to stderr; or the open's error), in which case
// logging goes on into the file that was open.
std::string reopen_log_file();
// Changes the level of every component logger (configuration reload).
void set_log_level(std::string_view level);
// The logger of a component; created on first use with the shared sink.
std::shared_ptr<spdlog::logger> logger(const std::string& component);

}  // namespace icegate::gateway
