// A fixed-bucket histogram (Prometheus style: upper bounds in base units, a +Inf bucket, sum and
// count). Written by one thread, read by the same one (the admin surface copies it there).
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

namespace icegate {

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds)
      : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {}

  void observe(double v) {
    const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);  // le: v <= bound
    ++counts_[static_cast<std::size_t>(it - bounds_.begin())];
    sum_ += v;
    ++count_;
  }

  const std::vector<double>& bounds() const noexcept { return bounds_; }
  // Per bucket, not cumulative; the last one is +Inf.
  const std::vector<std::uint64_t>& counts() const noexcept { return counts_; }
  double sum() const noexcept { return sum_; }
  std::uint64_t count() const noexcept { return count_; }

 private:
  std::vector<double> bounds_;
  std::vector<std::uint64_t> counts_;
  double sum_ = 0;
  std::uint64_t count_ = 0;
};

}  // namespace icegate
