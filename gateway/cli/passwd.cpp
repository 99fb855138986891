#include "gateway/cli/passwd.hpp"

#include <termios.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <iostream>

#include "conf/config.hpp"
#include "conf/values.hpp"
#include "gateway/cli/cli.hpp"
#include "sip/digest.hpp"

namespace icegate::gateway {
namespace {

namespace po = boost::program_options;

// Echo off on the terminal while the password is typed; restored on every path.
class NoEcho {
 public:
  NoEcho() {
    if (tcgetattr(STDIN_FILENO, &saved_) == 0) {
      termios quiet = saved_;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      active_ = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
    }
  }
  ~NoEcho() {
    if (active_) tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_);
  }
  NoEcho(const NoEcho&) = delete;
  NoEcho& operator=(const NoEcho&) = delete;

 private:
  termios saved_{};
  bool active_ = false;
};

}  // namespace

int passwd_from(const std::vector<std::string>& args, std::istream& in, bool terminal,
                std::ostream& out, std::ostream& err) {
  po::options_description desc("icegate passwd [-c FILE | --realm REALM] USER");
  desc.add_options()("help,h", "this help")("config,c", po::value<std::string>(),
                                            "take the realm from this configuration")(
      "realm", po::value<std::string>(), "the digest realm (default: icegate)");
  po::options_description hidden;
  hidden.add_options()("user", po::value<std::string>());
  po::options_description all;
  all.add(desc).add(hidden);
  po::positional_options_description pos;
  pos.add("user", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
  } catch (const po::error& e) {
    err << "icegate passwd: " << e.what() << "\n" << desc;
    return kExitUsage;
  }
  if (vm.count("help")) {
    out << desc
        << "\nReads the password from standard input (a terminal: asked twice, not "
           "shown) and prints the <user> element with its MD5 and SHA-256 digest hashes.\n";
    return kExitOk;
  }
  if (!vm.count("user") || (vm.count("config") && vm.count("realm"))) {
    err << "icegate passwd: needs USER, and -c FILE or --realm REALM (not both)\n" << desc;
    return kExitUsage;
  }
  const auto name = conf::parse_user_name(vm["user"].as<std::string>());
  if (!name) {
    err << "icegate passwd: USER: " << name.error() << "\n";
    return kExitUsage;
  }
  const std::string user = *name;
  std::string realm = vm.count("realm") ? vm["realm"].as<std::string>() : "icegate";
  if (vm.count("config")) {
    auto loaded = conf::load_file(vm["config"].as<std::string>());
    if (!loaded) {
      for (const auto& d : loaded.error()) err << d.to_string() << "\n";
      return kExitFailure;
    }
    realm = loaded->config->sip.registrar.realm;
  }
  std::string password, again;
  if (terminal) {
    NoEcho quiet;
    err << "password for " << user << ": " << std::flush;
    std::getline(in, password);
    err << "\nagain: " << std::flush;
    std::getline(in, again);
    err << "\n";
    if (password != again) {
      err << "icegate passwd: the passwords differ\n";
      return kExitFailure;
    }
  } else {
    std::getline(in, password);
  }
  if (!password.empty() && password.back() == '\r') password.pop_back();
  if (password.empty()) {
    err << "icegate passwd: empty password\n";
    return kExitFailure;
  }
  // The hashes depend on the realm: changing <registrar realm> invalidates them.
  out << "<user name=\"" << user << "\" ha1=\""
      << sip::digest_ha1(conf::DigestAlgorithm::md5, user, realm, password) << "\" ha1-sha256=\""
      << sip::digest_ha1(conf::DigestAlgorithm::sha256, user, realm, password)
      << "\"/>  <!-- realm \"" << realm << "\" -->\n";
  return kExitOk;
}

int cmd_passwd(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  return passwd_from(args, std::cin, isatty(STDIN_FILENO) == 1, out, err);
}

}  // namespace icegate::gateway
