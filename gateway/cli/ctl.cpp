#include "gateway/cli/ctl.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <iomanip>
#include <memory>
#include <ostream>
#include <sstream>

#include "gateway/cli/cli.hpp"
#include "gateway/cli/options.hpp"

namespace icegate::gateway {
namespace po = boost::program_options;
using nlohmann::json;

namespace {

struct Sub {
  const char* method;  // GET or POST
  const char* path;    // "{}" stands for the argument (a call id, or a user)
  bool needs_id;
  const char* help;
  const char* arg = "CALL-ID";
};

const std::map<std::string, Sub>& subcommands() {
  static const std::map<std::string, Sub> s = {
      {"health", {"GET", "/api/v1/health", false, "status, calls, registrations, trunks up"}},
      {"calls", {"GET", "/api/v1/calls", false, "live calls: both legs, ICE, DTLS, packets"}},
      {"call", {"GET", "/api/v1/calls/{}", true, "one call in detail"}},
      {"diagnose", {"GET", "/api/v1/calls/{}/diagnosis", true, "which failure pattern, and why"}},
      {"hangup", {"POST", "/api/v1/calls/{}/hangup", true, "end a call on both legs (BYE)"}},
      {"registrations", {"GET", "/api/v1/registrations", false, "registered contacts"}},
      {"trunks", {"GET", "/api/v1/trunks", false, "trunks and their state"}},
      {"reload", {"POST", "/api/v1/reload", false, "read the configuration file again"}},
      {"drain", {"POST", "/api/v1/drain", false, "no new calls; exit once the last one ends"}},
      {"metrics", {"GET", "/metrics", false, "the Prometheus metrics, as scraped"}},
      {"capture", {"POST", "/api/v1/calls/{}/capture", true, "capture a running call (pcap)"}},
      {"capture-next",
       {"POST", "/api/v1/captures?user={}", true, "capture the next call of a user or number",
        "USER"}},
      {"captures", {"GET", "/api/v1/captures", false, "captures: running, armed and done"}},
  };
  return s;
}

std::string pad(std::string s, std::size_t w) {
  if (s.size() < w) s.append(w - s.size(), ' ');
  return s;
}

// Prints rows as columns two spaces apart.
void table(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& r : rows) {
    for (std::size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], r[i].size());
    }
  }
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) line += i + 1 < r.size() ? pad(r[i], width[i] + 2) : r[i];
    out << line << "\n";
  }
}

std::string str(const json& j, const char* key, const char* fallback = "-") {
  if (!j.is_object() || !j.contains(key) || j[key].is_null()) return fallback;
  const json& v = j[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_number_float()) {
    std::ostringstream os;
    os << std::fixed << std::setprecision(1) << v.get<double>();
    return os.str();
  }
  return v.dump();
}

// "ice 198.51.100.7:41234, dtls connected AES_CM_128_HMAC_SHA1_80, in 500/out 498"
std::string leg_media(const json& leg) {
  if (!leg.contains("media")) return "-";
  const json& m = leg["media"];
  std::string s;
  if (m.contains("ice")) {
    const json& pair = m["ice"]["selected_pair"];
    s += "ice " + (pair.is_object() ? str(pair, "remote") : std::string("not selected")) + ", ";
  }
  if (m.contains("dtls")) s += "dtls " + str(m["dtls"], "state") + " " + str(m["dtls"], "srtp_profile", "") + ", ";
  s += "in " + str(m, "packets_in") + "/out " + str(m, "packets_out");
  return s;
}

void print_human(const std::string& sub, const json& body, std::ostream& out) {
  if (sub == "calls") {
    std::vector<std::vector<std::string>> rows = {
        {"ID", "STATE", "DIRECTION", "FROM", "TO", "SECONDS", "A CALL-ID", "B CALL-ID", "A MEDIA",
         "B MEDIA"}};
    for (const auto& c : body["calls"]) {
      rows.push_back({str(c, "id"), str(c, "state"), str(c, "direction"), str(c, "from"),
                      str(c, "to"), str(c, "duration_s"), str(c["a"], "call_id"),
                      str(c["b"], "call_id"), leg_media(c["a"]), leg_media(c["b"])});
    }
    table(out, rows);
    out << body["calls"].size() << " call(s)\n";
  } else if (sub == "registrations") {
    std::vector<std::vector<std::string>> rows = {
        {"USER", "SOURCE", "TRANSPORT", "NAT", "EXPIRES IN", "CONTACT"}};
    for (const auto& r : body["registrations"]) {
      rows.push_back({str(r, "user"), str(r, "source"), str(r, "transport"), str(r, "behind_nat"),
                      str(r, "expires_in_s") + " s", str(r, "contact")});
    }
    table(out, rows);
    out << body["registrations"].size() << " registration(s)\n";
    if (body.contains("static_contacts") && !body["static_contacts"].empty()) {
      // Users that never register: their calls go to the configured contact (issue 11).
      std::vector<std::vector<std::string>> statics = {{"USER", "STATIC CONTACT", "TRANSPORT", "IN USE"}};
      for (const auto& s : body["static_contacts"]) {
        statics.push_back({str(s, "user"), str(s, "contact"), str(s, "transport"),
                           s.value("overridden", false) ? "no (registered)" : "yes"});
      }
      out << "\n";
      table(out, statics);
      out << body["static_contacts"].size() << " static contact(s)\n";
    }
  } else if (sub == "trunks") {
    std::vector<std::vector<std::string>> rows = {{"TRUNK", "UP", "TRANSPORT", "ADDRESSES", "REGISTRATION"}};
    for (const auto& t : body["trunks"]) {
      std::string addresses;
      for (const auto& a : t["addresses"]) addresses += (addresses.empty() ? "" : " ") + a.get<std::string>();
      rows.push_back({str(t, "name"), str(t, "up"), str(t, "transport"), addresses.empty() ? "-" : addresses,
                      str(t, "registration")});
    }
    table(out, rows);
  } else if (sub == "captures") {
    std::vector<std::vector<std::string>> rows = {
        {"NAME", "CALL", "STATE", "SIP", "PACKETS", "BYTES", "ENDED BECAUSE"}};
    for (const auto& c : body["captures"]) {
      const std::string name =
          c["name"].is_string() ? c["name"].get<std::string>() : "(next call of " + str(c, "armed_for") + ")";
      rows.push_back({name, str(c, "call", "-"), str(c, "state"), str(c, "sip"), str(c, "packets"),
                      str(c, "bytes"), str(c, "ended_because", "-")});
    }
    table(out, rows);
    out << body["captures"].size() << " capture(s)\n";
  } else if (body.is_object()) {
    // health, call, diagnose, hangup, reload, drain: key: value, nested objects indented.
    std::function<void(const json&, int)> dump = [&](const json& j, int indent) {
      for (const auto& [k, v] : j.items()) {
        out << std::string(static_cast<std::size_t>(indent), ' ') << k << ":";
        if (v.is_object()) {
          out << "\n";
          dump(v, indent + 2);
        } else if (v.is_array()) {
          out << "\n";
          for (const auto& e : v) out << std::string(static_cast<std::size_t>(indent) + 2, ' ') << "- " << (e.is_string() ? e.get<std::string>() : e.dump()) << "\n";
        } else {
          out << " " << (v.is_string() ? v.get<std::string>() : v.dump()) << "\n";
        }
      }
    };
    dump(body, 0);
  } else {
    out << body.dump(2) << "\n";
  }
}

}  // namespace

int cmd_ctl(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  po::options_description desc("icegate ctl -c FILE [--json] COMMAND [CALL-ID]");
  desc.add_options()("help,h", "this help")("config,c", po::value<std::string>(),
                                             "configuration file (its <admin> element)")(
      "json", "print the API's JSON as it came")("cacert", po::value<std::string>(),
                                                 "HTTPS: verify the listener's certificate")(
      "cert", po::value<std::string>(), "HTTPS with client-ca: this client certificate (PEM)")(
      "key", po::value<std::string>(), "HTTPS with client-ca: its private key (PEM)")(
      "command", po::value<std::string>(), "")("id", po::value<std::string>(), "");
  po::positional_options_description pos;
  pos.add("command", 1).add("id", 1);
  auto vm = parse_options(args, desc, pos, err);
  if (!vm) return kExitUsage;
  const auto usage = [&](std::ostream& os) {
    os << desc << "\ncommands:\n";
    for (const auto& [name, s] : subcommands()) {
      os << "  " << pad(name + (s.needs_id ? std::string(" ") + s.arg : ""), 22) << s.help << "\n";
    }
    os << "\nThe admin listener's address and its token come from the configuration file.\n";
  };
  if (vm->count("help")) {
    usage(out);
    return kExitOk;
  }
  if (!vm->count("config") || !vm->count("command")) {
    err << "icegate ctl: needs -c FILE and a command\n";
    usage(err);
    return kExitUsage;
  }
  const std::string name = (*vm)["command"].as<std::string>();
  auto it = subcommands().find(name);
  if (it == subcommands().end()) {
    err << "icegate ctl: unknown command \"" << name << "\"\n";
    usage(err);
    return kExitUsage;
  }
  const Sub& sub = it->second;
  std::string path = sub.path;
  if (sub.needs_id) {
    if (!vm->count("id")) {
      err << "icegate ctl " << name << ": needs a " << sub.arg
          << (std::string(sub.arg) == "CALL-ID" ? " (see `icegate ctl -c FILE calls`)" : "") << "\n";
      return kExitUsage;
    }
    // The id goes into the path as it is: the server refuses malformed ones with 400.
    path.replace(path.find("{}"), 2, httplib::detail::encode_query_param((*vm)["id"].as<std::string>()));
  } else if (vm->count("id")) {
    err << "icegate ctl " << name << ": takes no argument\n";
    return kExitUsage;
  }
  // Errors only: the configuration's warnings are check-config's business, not noise here.
  auto loaded = conf::load_file((*vm)["config"].as<std::string>());
  if (!loaded) {
    for (const auto& d : loaded.error()) err << d.to_string() << "\n";
    return kExitFailure;
  }
  const auto& admin = loaded->config->admin;
  if (!admin) {
    err << "icegate ctl: " << (*vm)["config"].as<std::string>()
        << " has no <admin> element: the daemon serves no control API\n";
    return kExitFailure;
  }
  // A listener on the wildcard address is reached on loopback.
  std::string host = admin->address.is_unspecified()
                         ? (admin->address.is_v4() ? "127.0.0.1" : "::1")
                         : admin->address.to_string();
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  const std::string base = (admin->tls() ? "https://" : "http://") + host + ":" + std::to_string(admin->port);
  std::unique_ptr<httplib::Client> client;
  if (admin->tls() && vm->count("cert")) {
    client = std::make_unique<httplib::Client>(base, (*vm)["cert"].as<std::string>(),
                                               vm->count("key") ? (*vm)["key"].as<std::string>() : "");
  } else {
    client = std::make_unique<httplib::Client>(base);
  }
  if (admin->tls()) {
    if (vm->count("cacert")) {
      client->set_ca_cert_path((*vm)["cacert"].as<std::string>().c_str());
      client->enable_server_certificate_verification(true);
    } else {
      client->enable_server_certificate_verification(false);  // the usual self-signed admin cert
    }
  }
  client->set_connection_timeout(5, 0);
  client->set_read_timeout(15, 0);
  if (!admin->token.empty()) client->set_bearer_token_auth(admin->token);
  auto res = std::string(sub.method) == "GET" ? client->Get(path) : client->Post(path);
  if (!res) {
    err << "icegate ctl: cannot reach the admin listener at " << base << ": "
        << httplib::to_string(res.error()) << " (is icegate running with this configuration?)\n";
    return kExitFailure;
  }
  if (name == "metrics") {
    out << res->body;
    return res->status == 200 ? kExitOk : kExitFailure;
  }
  json body = json::parse(res->body, nullptr, false);
  if (body.is_discarded()) {
    err << "icegate ctl: the admin listener answered " << res->status << " with something that is not JSON\n";
    return kExitFailure;
  }
  if (res->status >= 300) {
    if (vm->count("json")) {
      out << body.dump(2) << "\n";
    } else {
      err << "icegate ctl " << name << ": " << res->status << " " << str(body, "error", "") << "\n";
      if (body.contains("errors")) {
        for (const auto& e : body["errors"]) err << "  " << e.get<std::string>() << "\n";
      }
    }
    return kExitFailure;
  }
  if (vm->count("json")) {
    out << body.dump(2) << "\n";
  } else {
    print_human(name, body, out);
  }
  return kExitOk;
}

}  // namespace icegate::gateway
