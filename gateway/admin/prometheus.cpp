#include "gateway/admin/prometheus.hpp"

#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace icegate::admin {

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  if (v == std::floor(v) && std::fabs(v) < 9.0e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.9g", v);
  }
  return buf;
}

void MetricsText::family(std::string_view name, std::string_view type, std::string_view help) {
  Family f;
  f.name = std::string(name);
  f.header = "# HELP " + f.name + " ";
  // HELP text escapes \ and newline only.
  for (char c : help) {
    if (c == '\\')
      f.header += "\\\\";
    else if (c == '\n')
      f.header += "\\n";
    else
      f.header += c;
  }
  f.header += "\n# TYPE " + f.name + " " + std::string(type) + "\n";
  families_.push_back(std::move(f));
}

MetricsText::Family& MetricsText::find(std::string_view name) {
  for (auto& f : families_) {
    if (f.name == name) return f;
  }
  throw std::logic_error("metric family " + std::string(name) + " not declared");
}

void MetricsText::line(std::string& out, std::string_view name, const Labels& labels,
                       double value) {
  out += name;
  if (!labels.empty()) {
    out += '{';
    bool first = true;
    for (const auto& [k, v] : labels) {
      if (!first) out += ',';
      first = false;
      out += k;
      out += "=\"";
      out += escape_label_value(v);
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  out += format_value(value);
  out += '\n';
}

void MetricsText::sample(std::string_view family, const Labels& labels, double value) {
  line(find(family).samples, family, labels, value);
}

void MetricsText::histogram(std::string_view family, const Labels& labels, const Histogram& h) {
  Family& f = find(family);
  const std::string base(family);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < h.counts().size(); ++i) {
    cumulative += h.counts()[i];
    Labels l = labels;
    l.emplace_back("le", i < h.bounds().size() ? format_value(h.bounds()[i]) : "+Inf");
    line(f.samples, base + "_bucket", l, static_cast<double>(cumulative));
  }
  line(f.samples, base + "_sum", labels, h.sum());
  line(f.samples, base + "_count", labels, static_cast<double>(h.count()));
}

std::string MetricsText::text() const {
  std::string out;
  for (const auto& f : families_) {
    out += f.header;
    out += f.samples;
  }
  return out;
}

}  // namespace icegate::admin
