#include "gateway/options.hpp"

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

}  // namespace icegate::gateway
