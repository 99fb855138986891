#include "gateway/cli/options.hpp"

namespace icegate::gateway {
namespace po = boost::program_options;

std::optional<po::variables_map> parse_options(const std::vector<std::string>& args,
                                               const po::options_description& desc,
                                               const po::positional_options_description& pos,
                                               std::ostream& err) {
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(desc).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    err << "icegate: " << e.what() << "\n" << desc;
    return std::nullopt;
  }
  return vm;
}

std::optional<conf::Loaded> load_and_report(const std::string& file, std::ostream& err) {
  auto loaded = conf::load_file(file);
  if (!loaded) {
    for (const auto& d : loaded.error()) err << d.to_string() << "\n";
    err << file << ": " << loaded.error().size() << " error(s), configuration refused\n";
    return std::nullopt;
  }
  for (const auto& w : loaded->warnings) err << w.to_string() << "\n";
  return std::move(*loaded);
}

}  // namespace icegate::gateway
