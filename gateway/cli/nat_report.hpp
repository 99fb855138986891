// How `icegate nat-detect` presents its findings: the overview, the recommendation for the
// administrator, and --json. Pure functions over the detector's report.
#pragma once

#include <optional>
#include <string>

#include "conf/config.hpp"
#include "media/stunclient/nat_detector.hpp"
#include "media/stunclient/nat_lifetime.hpp"

namespace icegate::gateway {

struct NatDetectResult {
  std::string server_name;
  std::string server_label;  // host:port as given
  media::stunclient::NatReport report;
  std::optional<media::stunclient::LifetimeEstimate> lifetime;  // with --lifetime
};

// What the administrator should do about it (behaviour.md §8), in terms of icegate's settings.
std::string nat_recommendation(const media::stunclient::NatReport& r, const conf::Media& media);

std::string format_nat_text(const NatDetectResult& r, const conf::Media& media);
std::string format_nat_json(const NatDetectResult& r, const conf::Media& media);

}  // namespace icegate::gateway
