#include "gateway/cli/commands.hpp"

#include <boost/program_options.hpp>

#include <ostream>
#include <sstream>

#include "conf/config.hpp"
#include "conf/host_checks.hpp"
#include "conf/values.hpp"
#include "gateway/cli/cli.hpp"
#include "gateway/cli/options.hpp"
#include "gateway/daemon/log.hpp"
#include "gateway/daemon/run.hpp"

namespace icegate::gateway {
namespace po = boost::program_options;
namespace {

std::string join_listeners(const conf::Config& c) {
  std::ostringstream os;
  for (std::size_t i = 0; i < c.sip.listeners.size(); ++i) {
    const auto& l = c.sip.listeners[i];
    os << (i ? ", " : "") << conf::to_string(l.transport) << " " << l.address.to_string() << ":"
       << l.port << " (" << l.name << ")";
  }
  return os.str();
}

std::string acl_name(const std::shared_ptr<const acl::Acl>& a) {
  return a ? "\"" + a->name() + "\"" : "(none: allow all)";
}

// REGISTER without its own ACL is checked against sip-inbound (sip/b2bua.cpp on_register).
std::string register_acl_name(const conf::AclPolicy& p) {
  if (p.sip_register || !p.sip_inbound) return acl_name(p.sip_register);
  return "(none: falls back to sip-inbound \"" + p.sip_inbound->name() + "\")";
}

void print_summary(const conf::Config& c, std::ostream& out) {
  const auto& m = c.media;
  out << "  files          : " << c.files.size() << "\n";
  out << "  sip listeners  : " << join_listeners(c) << "\n";
  out << "  media          : " << m.address.to_string() << ", RTP " << m.rtp_min << "-" << m.rtp_max
      << " (" << (unsigned(m.rtp_max) - m.rtp_min + 1) / 2 << " port pairs), media timeout "
      << conf::format_duration(m.media_timeout) << ", consent timeout "
      << conf::format_duration(m.consent_timeout) << ", pin-hole puncher "
      << (m.pinhole_puncher ? "on" : "off");
  if (m.public_address) out << ", static public address " << m.public_address->to_string();
  out << "\n  stun           : " << (c.stun.enabled ? "on" : "off");
  for (const auto& s : c.stun.servers) out << ", " << s.name << " " << s.host << ":" << s.port;
  out << "\n  turn servers   : " << c.turn_servers.size() << "\n";
  out << "  acls           :";
  for (const auto& [name, a] : c.acls) {
    std::size_t white = 0;
    for (const auto& e : a->entries()) white += e.kind == acl::ListKind::whitelist;
    out << " " << name << " (" << white << " whitelist, " << a->size() - white << " blacklist)";
  }
  out << "\n  acl policy     : sip-inbound " << acl_name(c.policy.sip_inbound) << ", sip-register "
      << register_acl_name(c.policy) << ", remote-candidates "
      << acl_name(c.policy.remote_candidates) << ", public-candidate "
      << acl_name(c.policy.public_candidate) << "\n";
  out << "  users          : " << c.users.size() << "\n";
  out << "  trunks         :";
  for (const auto& t : c.trunks) {
    out << " " << t.name << " (" << conf::to_string(t.transport);
    for (const auto& a : t.addresses) out << " " << a.host << ":" << a.port;
    out << (t.registration ? ", registers" : "") << ")";
  }
  out << "\n  routes         :";
  for (const auto& r : c.routes) out << " \"" << r.prefix << "\"->" << r.trunk;
  out << "\n";
}

}  // namespace

int cmd_check_config(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  po::options_description desc("icegate check-config FILE");
  desc.add_options()("help,h", "this help")("config,c", po::value<std::string>(),
                                             "configuration file (or give it as the argument)");
  po::positional_options_description pos;
  pos.add("config", 1);
  auto vm = parse_options(args, desc, pos, err);
  if (!vm) return kExitUsage;
  if (vm->count("help")) {
    out << desc;
    return kExitOk;
  }
  if (!vm->count("config")) {
    err << "icegate check-config: no configuration file given\n" << desc;
    return kExitUsage;
  }
  const auto file = (*vm)["config"].as<std::string>();
  auto loaded = load_and_report(file, err);
  if (!loaded) return kExitFailure;
  // What the loader cannot know without I/O: the media address bound, names resolved.
  const auto host_warnings = conf::check_host(*loaded->config);
  for (const auto& w : host_warnings) err << w.to_string() << "\n";
  out << file << ": configuration is valid, " << loaded->warnings.size() + host_warnings.size()
      << " warning(s)\n";
  print_summary(*loaded->config, out);
  return kExitOk;
}

int cmd_acl_check(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  po::options_description desc("icegate acl-check -c FILE [--acl NAME] ADDRESS...");
  desc.add_options()("help,h", "this help")("config,c", po::value<std::string>(),
                                             "configuration file")(
      "acl", po::value<std::string>(), "the ACL to ask (default: every ACL)")(
      "address", po::value<std::vector<std::string>>(), "addresses to check");
  po::positional_options_description pos;
  pos.add("address", -1);
  auto vm = parse_options(args, desc, pos, err);
  if (!vm) return kExitUsage;
  if (vm->count("help")) {
    out << desc
        << "\nPrints allow/deny for every address and the entry (file:line) that decided.\n"
           "Exit code 0 when every address could be checked, 1 on a configuration error, an\n"
           "unknown ACL or an address that does not parse.\n";
    return kExitOk;
  }
  if (!vm->count("config") || !vm->count("address")) {
    err << "icegate acl-check: needs -c FILE and at least one ADDRESS\n" << desc;
    return kExitUsage;
  }
  auto loaded = load_and_report((*vm)["config"].as<std::string>(), err);
  if (!loaded) return kExitFailure;
  const auto& cfg = *loaded->config;
  std::vector<std::shared_ptr<const acl::Acl>> acls;
  if (vm->count("acl")) {
    const auto name = (*vm)["acl"].as<std::string>();
    auto a = cfg.find_acl(name);
    if (!a) {
      err << "icegate acl-check: no acl named \"" << name << "\" (known:";
      for (const auto& [n, unused] : cfg.acls) err << " " << n;
      err << ")\n";
      return kExitFailure;
    }
    acls.push_back(std::move(a));
  } else {
    for (const auto& [n, a] : cfg.acls) acls.push_back(a);
  }
  int rc = kExitOk;
  for (const auto& text : (*vm)["address"].as<std::vector<std::string>>()) {
    auto addr = acl::Address::parse(text);
    if (!addr) {
      err << text << ": " << addr.error() << "\n";
      rc = kExitFailure;
      continue;
    }
    for (const auto& a : acls) {
      const auto d = a->check(*addr);
      out << text << ": " << (d.allowed() ? "allow" : "deny") << " by acl \"" << a->name()
          << "\": " << d.explain() << "\n";
    }
  }
  return rc;
}

int cmd_run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  po::options_description desc("icegate run [-c] FILE");
  desc.add_options()("help,h", "this help")("config,c", po::value<std::string>(),
                                             "configuration file (or give it as the argument)")(
      "log-level", po::value<std::string>(),
      "override the configured log level: trace, debug, info, warn, error or off")(
      "log-file", po::value<std::string>(),
      "log to this file instead of stderr (appended to; reopened on SIGUSR1)");
  po::positional_options_description pos;
  pos.add("config", 1);  // `run FILE` like `check-config FILE`
  auto vm = parse_options(args, desc, pos, err);
  if (!vm) return kExitUsage;
  if (vm->count("help")) {
    out << desc;
    return kExitOk;
  }
  if (!vm->count("config")) {
    err << "icegate run: no configuration file given (FILE or -c FILE)\n" << desc;
    return kExitUsage;
  }
  if (vm->count("log-level") && !is_log_level((*vm)["log-level"].as<std::string>())) {
    err << "icegate run: unknown log level \"" << (*vm)["log-level"].as<std::string>()
        << "\" (--log-level): use one of " << kLogLevelNames << "\n";
    return kExitUsage;
  }
  RunSettings settings;
  settings.config_file = (*vm)["config"].as<std::string>();
  auto loaded = load_and_report(settings.config_file, err);
  if (!loaded) return kExitFailure;
  if (vm->count("log-level")) settings.log_level = (*vm)["log-level"].as<std::string>();
  if (vm->count("log-file")) settings.log_file = (*vm)["log-file"].as<std::string>();
  return run_daemon(settings, loaded->config) ? kExitOk : kExitFailure;
}

}  // namespace icegate::gateway
