#include "gateway/cli/nat_report.hpp"

#include <sstream>

#include "gateway/cli/json_output.hpp"

namespace icegate::gateway {
namespace sc = media::stunclient;

namespace {

std::string rtp_range(const conf::Media& m) {
  return std::to_string(m.rtp_min) + "-" + std::to_string(m.rtp_max) + "/udp";
}

std::string seconds(sc::Duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count()) + " s";
}

std::string lifetime_text(const sc::LifetimeEstimate& e) {
  if (e.at_least && e.at_most) return "between " + seconds(*e.at_least) + " and " + seconds(*e.at_most);
  if (e.at_least) return "at least " + seconds(*e.at_least) + " (the longest wait tried)";
  if (e.at_most) return "less than " + seconds(*e.at_most);
  if (e.unsupported) return "unknown: the server does not support RESPONSE-PORT (" + e.detail + ")";
  return "unknown" + (e.detail.empty() ? std::string() : ": " + e.detail);
}

}  // namespace

std::string nat_recommendation(const sc::NatReport& r, const conf::Media& m) {
  const std::string range = rtp_range(m);
  switch (r.rfc3489) {
    case sc::Rfc3489Class::udp_blocked:
      return "No answer from the STUN server: outbound UDP to it is blocked, or it is down. icegate "
             "would offer host candidates only. Allow UDP from the media address to the server, or "
             "try another server with --stun HOST[:PORT].";
    case sc::Rfc3489Class::open_internet:
      return "No NAT: the media address is public. STUN is not needed; leave it off and the host "
             "candidate is all the phones need.";
    case sc::Rfc3489Class::symmetric_firewall:
      return "No NAT, but a firewall drops unsolicited inbound UDP. STUN is not needed; open " +
             range + " inbound on that firewall, or rely on pin-hole punching (switch on "
             "pinhole-puncher in <media>).";
    case sc::Rfc3489Class::full_cone:
      return "Full cone NAT: the cached public address works for media once the NAT keeps the "
             "port. Forward " + range + " 1:1 (same ports) to the media address so that the srflx "
             "candidate's port is always right.";
    case sc::Rfc3489Class::restricted_cone:
      return "Restricted cone NAT: the cached public address works after icegate has sent to the "
             "phone's address, which pin-hole punching does right after the answer; switch on "
             "pinhole-puncher for phones with several candidates. A 1:1 forward of " + range +
             " makes it independent of punching.";
    case sc::Rfc3489Class::port_restricted_cone:
      return "Port-restricted cone NAT: works with pin-hole punching (icegate's Binding request to "
             "the phone opens the NAT for exactly that address and port); switch on pinhole-puncher "
             "so that every client candidate gets one. A 1:1 forward of " + range +
             " is more robust.";
    case sc::Rfc3489Class::symmetric:
      return "Symmetric NAT: the public port changes with every destination, so the cached public "
             "address will not work for media (the srflx candidate points at the wrong port). "
             "Forward " + range + " 1:1 (static port forwarding, no port translation) to the media "
             "address, or use TURN.";
    case sc::Rfc3489Class::unknown:
      break;
  }
  if (!r.rfc5780 && r.answered) {
    return std::string(r.nat ? "There is a NAT (public address " + r.mapped->address.to_string() + ")"
                             : "No NAT was seen") +
           ", but this STUN server cannot tell its type (no RFC 5780 support). Run nat-detect "
           "against a server with two addresses, e.g. coturn with two listening-ip, or use "
           "--stun with such a server.";
  }
  return "The NAT type could not be fully determined (see the notes). If calls have no audio, "
         "forward " + range + " 1:1 to the media address or use TURN.";
}

std::string format_nat_text(const NatDetectResult& res, const conf::Media& m) {
  const auto& r = res.report;
  std::ostringstream os;
  os << "NAT behaviour toward STUN server " << res.server_name << " (" << res.server_label;
  if (res.server_label != r.server.to_string()) os << " = " << r.server.to_string();
  os << "), from the media address " << m.address.to_string() << "\n";
  auto row = [&os](const char* k, const std::string& v) {
    os << "  " << k << std::string(20 - std::min<std::size_t>(19, std::string(k).size()), ' ') << v << "\n";
  };
  row("local address", r.locals.empty() ? "?" : r.locals[0].to_string());
  row("public address", r.mapped ? r.mapped->to_string() +
                                       (r.nat ? (r.port_preserved ? " (port preserved)" : " (port changed)") : "")
                                 : "unknown (no answer)");
  row("NAT", !r.answered ? "unknown" : r.nat ? "yes" : "no");
  row("RFC 5780 support", r.other_address ? (r.rfc5780 ? "yes" : "unusable") + std::string(" (OTHER-ADDRESS ") +
                                                r.other_address->to_string() + ")"
                                          : (r.answered ? "no (no OTHER-ADDRESS)" : "unknown"));
  row("mapping", std::string(sc::to_string(r.mapping)) + " (RFC 5780 4.3)");
  row("filtering", std::string(sc::to_string(r.filtering)) + " (RFC 5780 4.4)");
  row("hairpinning", std::string(sc::to_string(r.hairpinning)));
  row("RFC 3489 class", std::string(sc::to_string(r.rfc3489)));
  if (res.lifetime) row("binding lifetime", lifetime_text(*res.lifetime));
  if (r.software) row("server software", *r.software);
  os << "tests:\n";
  for (const auto& t : r.tests) {
    os << "  " << t.name << " -> " << t.to.to_string() << ": ";
    if (t.outcome == sc::Outcome::success) {
      if (t.mapped) os << "mapped " << t.mapped->to_string();
      if (t.from) os << " (answer from " << t.from->to_string() << ")";
      os << ", " << sc::format_millis(t.rtt) << " ms";
      if (!t.detail.empty()) os << "; " << t.detail;
    } else {
      os << (t.detail.empty() ? std::string(sc::to_string(t.outcome)) : t.detail);
    }
    os << "\n";
  }
  if (!r.notes.empty()) {
    os << "notes:\n";
    for (const auto& n : r.notes) os << "  - " << n << "\n";
  }
  os << "recommendation:\n  " << nat_recommendation(r, m) << "\n";
  return os.str();
}

std::string format_nat_json(const NatDetectResult& res, const conf::Media& m) {
  const auto& r = res.report;
  auto whole_seconds = [](const std::optional<sc::Duration>& d) {
    return d ? Json(std::chrono::duration_cast<std::chrono::seconds>(*d).count()) : Json(nullptr);
  };
  Json server = Json::object();
  server["name"] = res.server_name;
  server["host"] = res.server_label;
  server["address"] = r.server.to_string();
  Json j = Json::object();
  j["server"] = std::move(server);
  j["media_address"] = m.address.to_string();
  j["local"] = r.locals.empty() ? std::string() : r.locals[0].to_string();
  j["answered"] = r.answered;
  j["mapped"] = string_or_null(r.mapped);
  j["public_ip"] = r.mapped ? Json(r.mapped->address.to_string()) : Json(nullptr);
  j["nat"] = r.nat;
  j["port_preserved"] = r.port_preserved;
  j["rfc5780"] = r.rfc5780;
  j["other_address"] = string_or_null(r.other_address);
  j["mapping"] = std::string(sc::json_name(r.mapping));
  j["filtering"] = std::string(sc::json_name(r.filtering));
  j["hairpinning"] = std::string(sc::json_name(r.hairpinning));
  j["rfc3489"] = std::string(sc::json_name(r.rfc3489));
  if (res.lifetime) {
    const auto& e = *res.lifetime;
    Json lifetime = Json::object();
    lifetime["at_least_s"] = whole_seconds(e.at_least);
    lifetime["at_most_s"] = whole_seconds(e.at_most);
    lifetime["unsupported"] = e.unsupported;
    lifetime["text"] = lifetime_text(e);
    j["lifetime"] = std::move(lifetime);
  }
  Json tests = Json::array();
  for (const auto& t : r.tests) {
    Json test = Json::object();
    test["name"] = t.name;
    test["to"] = t.to.to_string();
    test["outcome"] = std::string(sc::to_string(t.outcome));
    test["mapped"] = string_or_null(t.mapped);
    test["from"] = string_or_null(t.from);
    test["rtt_ms"] = json_millis(t.rtt);
    test["detail"] = t.detail;
    tests.push_back(std::move(test));
  }
  j["tests"] = std::move(tests);
  j["notes"] = r.notes;
  j["recommendation"] = nat_recommendation(r, m);
  return json_line(j);
}

}  // namespace icegate::gateway
