// The sip component's loggers. The gateway registers "sip" and "sofia" with the shared sink;
// in tests (nothing registered) the default logger is used.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>

namespace icegate::sip {

inline std::shared_ptr<spdlog::logger> named_logger(const char* name) {
  auto l = spdlog::get(name);
  return l ? l : spdlog::default_logger();
}
inline spdlog::logger& log() {
  static thread_local std::shared_ptr<spdlog::logger> l;
  if (!l) l = named_logger("sip");
  return *l;
}

}  // namespace icegate::sip
