#include "gateway/daemon/log.hpp"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <mutex>

namespace icegate::gateway {
namespace {

std::mutex g_mutex;
spdlog::sink_ptr g_sink;

spdlog::sink_ptr sink() {
  if (!g_sink) g_sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  return g_sink;
}

}  // namespace

void init_logging(std::string_view level, const std::string& path) {
  std::lock_guard lock(g_mutex);
  if (!path.empty()) g_sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path);
  auto s = sink();
  s->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ [%n] %v");
  spdlog::drop_all();
  auto def = std::make_shared<spdlog::logger>("gateway", s);
  spdlog::set_default_logger(def);
  spdlog::set_level(spdlog::level::from_str(std::string(level)));
  spdlog::flush_on(spdlog::level::info);
}

void set_log_level(std::string_view level) { spdlog::set_level(spdlog::level::from_str(std::string(level))); }

std::shared_ptr<spdlog::logger> logger(const std::string& component) {
  std::lock_guard lock(g_mutex);
  if (auto l = spdlog::get(component)) return l;
  auto l = std::make_shared<spdlog::logger>(component, sink());
  l->set_level(spdlog::get_level());
  l->flush_on(spdlog::level::info);
  spdlog::register_logger(l);
  return l;
}

}  // namespace icegate::gateway
