#include "gateway/daemon/log.hpp"

#include <spdlog/details/file_helper.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <mutex>

namespace icegate::gateway {
namespace {

// basic_file_sink with a reopen(): the new file is opened before the old one is closed, so a
// failed reopen leaves logging going into the old file.
class ReopenableFileSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit ReopenableFileSink(std::string path) : path_(std::move(path)) { file_ = open(); }

  std::string reopen() {
    std::unique_ptr<spdlog::details::file_helper> fresh;
    try {
      fresh = open();
    } catch (const spdlog::spdlog_ex& e) {
      return e.what();
    }
    std::lock_guard lock(mutex_);
    file_ = std::move(fresh);  // the old one is flushed and closed
    return {};
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    file_->write(formatted);
  }
  void flush_() override { file_->flush(); }

 private:
  std::unique_ptr<spdlog::details::file_helper> open() const {
    auto f = std::make_unique<spdlog::details::file_helper>();
    f->open(path_, false);  // append
    return f;
  }

  std::string path_;
  std::unique_ptr<spdlog::details::file_helper> file_;
};

std::mutex g_mutex;
spdlog::sink_ptr g_sink;
std::shared_ptr<ReopenableFileSink> g_file;  // g_sink when logging to a file

spdlog::sink_ptr sink() {
  if (!g_sink) g_sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  return g_sink;
}

}  // namespace

bool is_log_level(std::string_view level) {
  for (std::string_view l : {"trace", "debug", "info", "warn", "error", "off"}) {
    if (level == l) return true;
  }
  return false;
}

std::string init_logging(std::string_view level, const std::string& path) {
  std::lock_guard lock(g_mutex);
  if (!path.empty()) {
    try {
      g_sink = g_file = std::make_shared<ReopenableFileSink>(path);
    } catch (const spdlog::spdlog_ex& e) {
      return e.what();
    }
  }
  auto s = sink();
  s->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ [%n] %v");
  spdlog::drop_all();
  auto def = std::make_shared<spdlog::logger>("gateway", s);
  spdlog::set_default_logger(def);
  spdlog::set_level(spdlog::level::from_str(std::string(level)));
  spdlog::flush_on(spdlog::level::info);
  return {};
}

std::string reopen_log_file() {
  std::shared_ptr<ReopenableFileSink> f;
  {
    std::lock_guard lock(g_mutex);
    f = g_file;
  }
  if (!f) return "no log file (logging to stderr)";
  return f->reopen();
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
