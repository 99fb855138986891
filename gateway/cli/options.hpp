// Helpers shared by the CLI commands.
#pragma once

#include <boost/program_options.hpp>

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "conf/config.hpp"

namespace icegate::gateway {

// Parses `args` against `desc`; on error prints it with the description and returns nullopt.
std::optional<boost::program_options::variables_map> parse_options(
    const std::vector<std::string>& args, const boost::program_options::options_description& desc,
    const boost::program_options::positional_options_description& pos, std::ostream& err);

// Loads a configuration, printing errors and warnings as file:line lines to `err`.
std::optional<conf::Loaded> load_and_report(const std::string& file, std::ostream& err);

}  // namespace icegate::gateway
