// In-memory network for the STUN client engine tests: a fake clock, a fake RFC 5780 STUN
// server with four transport addresses, a NAT model with configurable mapping and filtering
// behaviour (RFC 4787), and a loop that drives an engine over them without any socket.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "media/stun/attributes.hpp"
#include "media/stun/builder.hpp"
#include "media/stunclient/engine.hpp"
#include "media/stunclient/messages.hpp"
#include "media/stunclient/nat_behaviour.hpp"

namespace icegate::media::stunclient::sim {

inline Endpoint ep(const char* ip, std::uint16_t port) {
  return {acl::Address::parse(ip).value(), port};
}

struct Datagram {
  Endpoint from;
  Endpoint to;
  std::vector<std::byte> bytes;
};

// Answers Binding requests on (P.ip|A.ip):(P.port|A.port), with RFC 5780 CHANGE-REQUEST and
// RESPONSE-PORT handling.
struct FakeStunServer {
  Endpoint primary = ep("192.0.2.1", 3478);
  Endpoint alternate = ep("192.0.2.2", 3479);
  bool rfc5780 = true;        // OTHER-ADDRESS and CHANGE-REQUEST
  bool honour_change = true;  // false: answers from where it was asked, whatever CHANGE-REQUEST says
  bool silent = false;        // drops everything

  bool owns(const Endpoint& e) const {
    const bool ip = e.address == primary.address || (rfc5780 && e.address == alternate.address);
    const bool port = e.port == primary.port || (rfc5780 && e.port == alternate.port);
    return ip && port;
  }

  std::optional<Datagram> handle(const Datagram& d) const {
    if (silent || !owns(d.to)) return std::nullopt;
    auto m = stun::parse(d.bytes);
    if (!m || m->type.method != stun::method::binding || m->type.cls != stun::MessageClass::request)
      return std::nullopt;
    Endpoint src = d.to;
    if (const auto* a = m->find(stun::attr::change_request); a && rfc5780 && honour_change) {
      auto c = stun::read_change_request(*m, *a).value();
      if (c.change_ip) src.address = src.address == primary.address ? alternate.address : primary.address;
      if (c.change_port) src.port = src.port == primary.port ? alternate.port : primary.port;
    }
    Endpoint dst = d.from;
    if (const auto* a = m->find(kAttrResponsePort)) {
      dst.port = static_cast<std::uint16_t>((std::to_integer<unsigned>(a->value[0]) << 8) |
                                            std::to_integer<unsigned>(a->value[1]));
    }
    stun::MessageBuilder b({stun::method::binding, stun::MessageClass::success}, m->transaction_id);
    b.add_address(stun::attr::xor_mapped_address, d.from);
    if (rfc5780) {
      b.add_address(stun::attr::other_address, alternate);
      b.add_address(stun::attr::response_origin, src);
    }
    b.add_fingerprint();
    return Datagram{src, dst, std::move(b).finish()};
  }
};

// A NAT between the engine's sockets (inside) and everything else (outside).
struct FakeNat {
  bool present = true;
  Mapping mapping = Mapping::endpoint_independent;
  Filtering filtering = Filtering::endpoint_independent;
  bool hairpin = false;
  bool preserve_port = true;  // endpoint-independent mappings keep the local port when free
  acl::Address public_ip = acl::Address::parse("198.51.100.7").value();
  // Bindings idle this long are forgotten (nullopt: never).
  std::optional<Duration> idle_timeout;
  std::map<std::uint16_t, TimePoint> last_activity;  // public port -> last packet either way

  // Without NAT (present = false) the filtering still applies: a firewall.
  std::map<std::string, std::uint16_t> map;               // mapping key -> public port
  std::map<std::uint16_t, Endpoint> owner;                // public port -> inside endpoint
  std::set<std::pair<std::uint16_t, std::string>> sent_to;  // public port, outside endpoint
  std::uint16_t next_port = 40000;

  Endpoint outbound(const Endpoint& inside, const Endpoint& dst, TimePoint now = {}) {
    if (!present) {
      owner[inside.port] = inside;
      sent_to.insert({inside.port, dst.to_string()});
      return inside;
    }
    std::string key = inside.to_string();
    if (mapping != Mapping::endpoint_independent) key += " " + dst.address.to_string();
    if (mapping == Mapping::address_and_port_dependent) key += " " + std::to_string(dst.port);
    auto it = map.find(key);
    if (it == map.end()) {
      std::uint16_t port = next_port++;
      if (preserve_port && mapping == Mapping::endpoint_independent && !owner.count(inside.port))
        port = inside.port;
      it = map.emplace(key, port).first;
      owner[port] = inside;
    }
    sent_to.insert({it->second, dst.to_string()});
    last_activity[it->second] = now;
    return {public_ip, it->second};
  }

  std::optional<Endpoint> inbound(const Endpoint& public_dst, const Endpoint& src,
                                  TimePoint now = {}) {
    if (present && public_dst.address != public_ip) return std::nullopt;
    if (present && idle_timeout) {
      auto la = last_activity.find(public_dst.port);
      if (la == last_activity.end() || now - la->second >= *idle_timeout) return std::nullopt;
      la->second = now;
    }
    auto o = owner.find(public_dst.port);
    if (o == owner.end() || (!present && o->second != public_dst)) return std::nullopt;
    bool allowed = filtering == Filtering::endpoint_independent;
    const std::string src_ip = src.address.to_string() + ":";
    for (const auto& [port, to] : sent_to) {
      if (port != public_dst.port) continue;
      if (filtering == Filtering::address_dependent && to.rfind(src_ip, 0) == 0) allowed = true;
      if (filtering == Filtering::address_and_port_dependent && to == src.to_string()) allowed = true;
    }
    if (!allowed) return std::nullopt;
    return o->second;
  }
};

// Drives `engine` until done (or `limit` fake time), delivering datagrams synchronously through
// `route`, which returns what arrives where: (socket, datagram).
struct Delivery {
  std::size_t socket;
  Datagram d;
};
using Route = std::function<std::vector<Delivery>(const Outgoing&, TimePoint)>;

inline TimePoint run(Engine& engine, TimePoint now, const Route& route,
                     Duration limit = std::chrono::minutes(10)) {
  const TimePoint end = now + limit;
  for (int i = 0; i < 100000 && now < end; ++i) {
    auto out = engine.poll(now);
    for (const auto& o : out) {
      for (auto& del : route(o, now)) engine.on_datagram(del.socket, del.d.bytes, del.d.from, now);
    }
    auto wake = engine.next_wakeup();
    if (!wake) break;
    if (out.empty() && *wake > now) now = *wake;
  }
  return now;
}

// The NAT lab in memory: engine sockets at `locals` behind `nat`, talking to `server`.
inline Route nat_route(const std::vector<Endpoint>& locals, FakeNat& nat, FakeStunServer& server) {
  return [&locals, &nat, &server](const Outgoing& o, TimePoint now) {
    std::vector<Delivery> out;
    auto deliver_inside = [&](const Endpoint& inside, const Datagram& d) {
      for (std::size_t i = 0; i < locals.size(); ++i) {
        if (locals[i] == inside) out.push_back({i, d});
      }
    };
    const Endpoint src = nat.outbound(locals[o.socket], o.to, now);
    if (nat.present && o.to.address == nat.public_ip) {  // hairpinning
      if (!nat.hairpin) return out;
      if (auto inside = nat.inbound(o.to, src, now)) deliver_inside(*inside, {src, o.to, o.bytes});
      return out;
    }
    if (!nat.present && o.to.address == locals[0].address) {
      deliver_inside(o.to, {src, o.to, o.bytes});
      return out;
    }
    auto reply = server.handle({src, o.to, o.bytes});
    if (!reply) return out;
    if (auto inside = nat.inbound(reply->to, reply->from, now)) deliver_inside(*inside, *reply);
    return out;
  };
}

}  // namespace icegate::media::stunclient::sim
