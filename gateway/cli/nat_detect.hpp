// `icegate nat-detect`: the NAT in front of the media address, by RFC 5780 (nat_report.hpp
// presents the result).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace icegate::gateway {

int cmd_nat_detect(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace icegate::gateway
