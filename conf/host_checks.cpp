#include "conf/host_checks.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <thread>

#include "acl/unique_fd.hpp"
#include "conf/values.hpp"

namespace icegate::conf {
namespace {

using Lookup = Expected<std::vector<acl::Address>, std::string>;

Lookup getaddrinfo_blocking(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0) {
    return unexpected(std::string(rc == EAI_SYSTEM ? std::strerror(errno) : ::gai_strerror(rc)));
  }
  std::vector<acl::Address> out;
  for (const addrinfo* p = res; p; p = p->ai_next) {
    std::optional<acl::Address> a;
    if (p->ai_family == AF_INET) {
      std::array<std::uint8_t, 4> b{};
      const auto* sin = reinterpret_cast<const sockaddr_in*>(p->ai_addr);
      std::memcpy(b.data(), &sin->sin_addr, b.size());
      a = acl::Address::v4(b);
    } else if (p->ai_family == AF_INET6) {
      std::array<std::uint8_t, 16> b{};
      const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(p->ai_addr);
      std::memcpy(b.data(), &sin6->sin6_addr, b.size());
      a = acl::Address::v6(b);
    }
    if (a && std::find(out.begin(), out.end(), *a) == out.end()) out.push_back(*a);
  }
  ::freeaddrinfo(res);
  if (out.empty()) return unexpected(std::string("no IPv4 or IPv6 address"));
  return out;
}

// getaddrinfo() has no timeout of its own: it runs on a detached thread that owns everything it
// touches, so a lookup that outlives the caller's patience finishes (or not) on its own.
std::future<Lookup> start_lookup(const std::string& host) {
  auto task =
      std::make_shared<std::packaged_task<Lookup()>>([host] { return getaddrinfo_blocking(host); });
  auto result = task->get_future();
  std::thread([task] { (*task)(); }).detach();
  return result;
}

Lookup wait_lookup(std::future<Lookup>& f, std::chrono::steady_clock::time_point deadline,
                   Duration timeout) {
  if (f.wait_until(deadline) != std::future_status::ready) {
    return unexpected("no answer within " + format_duration(timeout));
  }
  return f.get();
}

Location where_of(const Config& c, const Location& where) {
  return where.line ? where : Location{c.files.empty() ? "" : c.files.front(), 1};
}

std::string groups_using(const Config& c, const std::string& turn) {
  std::string out;
  for (const auto& g : c.groups) {
    if (std::find(g.turn_servers.begin(), g.turn_servers.end(), turn) != g.turn_servers.end()) {
      out += (out.empty() ? "\"" : ", \"") + g.name + "\"";
    }
  }
  return out;
}

// A name often resolves to IPv4 and IPv6; requests only arrive over a family icegate listens on
// (an IPv6 wildcard listener takes IPv4 too).
bool reachable_family(const Config& c, const acl::Address& a) {
  return std::any_of(c.sip.listeners.begin(), c.sip.listeners.end(), [&](const Listener& l) {
    return l.address.family() == a.family() || (!l.address.is_v4() && l.address.is_unspecified());
  });
}

}  // namespace

std::optional<std::string> local_address_problem(const acl::Address& a) {
  const int family = a.is_v4() ? AF_INET : AF_INET6;
  UniqueFd fd(::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return std::string(std::strerror(errno));
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (a.is_v4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    std::memcpy(&sin->sin_addr, a.bytes().data(), 4);
    len = sizeof(sockaddr_in);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    std::memcpy(&sin6->sin6_addr, a.bytes().data(), 16);
    len = sizeof(sockaddr_in6);
  }
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&ss), len) != 0) {
    return std::string(std::strerror(errno));
  }
  return std::nullopt;
}

std::optional<std::string> media_address_problem(const Config& c) {
  const auto why = local_address_problem(c.media.address);
  if (!why) return std::nullopt;
  return "media address " + c.media.address.to_string() + " is not an address of this host (" +
         *why + "): RTP sockets cannot be bound to it";
}

Expected<std::vector<acl::Address>, std::string> resolve_host(const std::string& host,
                                                              Duration timeout) {
  if (auto literal = acl::Address::parse(host)) return std::vector<acl::Address>{*literal};
  auto f = start_lookup(host);
  return wait_lookup(f, std::chrono::steady_clock::now() + timeout, timeout);
}

std::optional<std::string> trunk_source_denied(const Config& c, const Trunk& t,
                                               const acl::Address& source, std::string_view shown) {
  const auto& acl = c.policy.sip_inbound;
  if (!acl) return std::nullopt;
  const auto d = acl->check(source);
  if (d.allowed()) return std::nullopt;
  return "trunk \"" + t.name + "\" at " + std::string(shown) + " is denied by ACL \"" +
         acl->name() + "\" (sip-inbound, " + d.explain() + "): calls from it will get 403";
}

std::optional<std::string> rtp_range_overlap(const Media& m, std::pair<unsigned, unsigned> ephemeral,
                                             std::string_view reserved) {
  const unsigned lo = std::max<unsigned>(m.rtp_min, ephemeral.first);
  const unsigned hi = std::min<unsigned>(m.rtp_max, ephemeral.second);
  if (lo > hi) return std::nullopt;
  // Ranges of net.ipv4.ip_local_reserved_ports: "a,b-c,..." (ip-sysctl.rst).
  std::vector<std::pair<unsigned, unsigned>> kept;
  std::size_t at = 0;
  while (at < reserved.size()) {
    auto end = reserved.find(',', at);
    if (end == std::string_view::npos) end = reserved.size();
    std::string_view item = reserved.substr(at, end - at);
    while (!item.empty() && (item.back() == '\n' || item.back() == ' ')) item.remove_suffix(1);
    unsigned a = 0, b = 0;
    const auto dash = item.find('-');
    const auto first = item.substr(0, dash);
    if (std::from_chars(first.data(), first.data() + first.size(), a).ec == std::errc{}) {
      b = a;
      if (dash != std::string_view::npos) {
        const auto second = item.substr(dash + 1);
        if (std::from_chars(second.data(), second.data() + second.size(), b).ec != std::errc{}) b = a;
      }
      kept.emplace_back(a, b);
    }
    at = end + 1;
  }
  unsigned exposed = 0;
  for (unsigned p = lo; p <= hi; ++p) {
    const bool reserved_port = std::any_of(kept.begin(), kept.end(), [p](const auto& r) {
      return p >= r.first && p <= r.second;
    });
    if (!reserved_port) ++exposed;
  }
  if (exposed == 0) return std::nullopt;
  const std::string range = std::to_string(m.rtp_min) + "-" + std::to_string(m.rtp_max);
  return "RTP ports " + range + ": " + std::to_string(exposed) +
         " of them are in the kernel's ephemeral port range " + std::to_string(ephemeral.first) +
         "-" + std::to_string(ephemeral.second) +
         " (net.ipv4.ip_local_port_range), where other programs' outgoing connections take "
         "ports: calls get 503 when one is taken. Use a range below " +
         std::to_string(ephemeral.first) + " (rtp-max) or reserve it: sysctl -w " +
         "net.ipv4.ip_local_reserved_ports=" + range;
}

std::vector<Diagnostic> check_host(const Config& c, Duration dns_timeout) {
  std::vector<Diagnostic> out;
  auto warn = [&](const Location& where, std::string message) {
    out.push_back({Severity::warning, where_of(c, where), std::move(message)});
  };
  if (auto why = media_address_problem(c)) warn(c.media.where, *why);
  if (std::ifstream f("/proc/sys/net/ipv4/ip_local_port_range"); f) {
    unsigned lo = 0, hi = 0;
    if (f >> lo >> hi) {
      std::string reserved;
      std::ifstream r("/proc/sys/net/ipv4/ip_local_reserved_ports");
      std::getline(r, reserved);
      if (auto why = rtp_range_overlap(c.media, {lo, hi}, reserved)) warn(c.media.where, *why);
    }
  }

  // Every name at once, so that the whole check waits at most one timeout.
  std::map<std::string, std::future<Lookup>> pending;
  auto want = [&](const std::string& host) {
    if (!acl::Address::parse(host) && !pending.count(host))
      pending.emplace(host, start_lookup(host));
  };
  for (const auto& t : c.trunks) {
    for (const auto& a : t.addresses) want(a.host);
  }
  for (const auto& t : c.turn_servers) want(t.host);
  const auto deadline = std::chrono::steady_clock::now() + dns_timeout;
  std::map<std::string, Lookup> resolved;
  for (auto& [host, f] : pending) resolved.emplace(host, wait_lookup(f, deadline, dns_timeout));

  for (const auto& t : c.trunks) {
    for (const auto& a : t.addresses) {
      const auto it = resolved.find(a.host);
      if (it == resolved.end()) continue;  // an IP literal: the loader checked it
      if (!it->second) {
        warn(t.where, "trunk \"" + t.name + "\" host \"" + a.host + "\" does not resolve (" +
                          it->second.error() +
                          "): requests from it are taken for a phone's, calls to it fail");
        continue;
      }
      for (const auto& ip : *it->second) {
        if (!reachable_family(c, ip)) continue;
        if (auto w = trunk_source_denied(c, t, ip, ip.to_string() + " (" + a.host + ")")) {
          warn(t.where, *w);
        }
      }
    }
  }
  for (const auto& t : c.turn_servers) {
    const auto it = resolved.find(t.host);
    if (it == resolved.end() || it->second) continue;
    const auto groups = groups_using(c, t.name);
    warn(t.where, "turn server \"" + t.name + "\" host \"" + t.host + "\" does not resolve (" +
                      it->second.error() + ")" +
                      (groups.empty() ? std::string()
                                      : ": phones of group " + groups +
                                            " are handed a TURN server they cannot reach"));
  }
  return out;
}

}  // namespace icegate::conf
