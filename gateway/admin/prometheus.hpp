// The Prometheus text exposition format (version 0.0.4), written carefully: one HELP and TYPE
// line per family, label values escaped (\\, \", \n), samples of a family together.
// https://prometheus.io/docs/instrumenting/exposition_formats/
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "acl/histogram.hpp"

namespace icegate::admin {

using Labels = std::vector<std::pair<std::string, std::string>>;

// Families are declared first; samples may then come in any order and are grouped under their
// family on output (the format wants a family's samples together).
class MetricsText {
 public:
  // Declares a family. `type`: counter, gauge or histogram.
  void family(std::string_view name, std::string_view type, std::string_view help);
  // A sample of a declared family (histograms: through histogram()). Unknown names throw
  // std::logic_error: a typo must not produce an unlabelled, untyped series.
  void sample(std::string_view family, const Labels& labels, double value);
  void sample(std::string_view family, double value) { sample(family, {}, value); }
  // A histogram family's samples: name_bucket{le=...} (cumulative), name_sum, name_count.
  void histogram(std::string_view family, const Labels& labels, const Histogram& h);
  std::string text() const;

 private:
  struct Family {
    std::string name;
    std::string header;
    std::string samples;
  };
  Family& find(std::string_view name);
  static void line(std::string& out, std::string_view name, const Labels& labels, double value);
  std::vector<Family> families_;
};

// A label value with \, " and newline escaped.
std::string escape_label_value(std::string_view v);
// A sample value: integers without a fraction, +Inf/-Inf/NaN as Prometheus spells them.
std::string format_value(double v);

}  // namespace icegate::admin
