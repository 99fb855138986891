// TURN client: the TURN REST API credential computation against a known vector, and the whole
// check (401 round, Allocate, CreatePermission, Send/Data, release) against an in-memory server.
#include <gtest/gtest.h>

#include <set>

#include "media/stun/builder.hpp"
#include "media/stun/integrity.hpp"
#include "media/stunclient/turn_client.hpp"
#include "stunclient_sim.hpp"

namespace icegate::media::stunclient {
namespace {

using namespace std::chrono_literals;
using sim::ep;

TEST(TurnCredentials, Base64Rfc4648Vectors) {
  // RFC 4648 §10.
  EXPECT_EQ(base64(""), "");
  EXPECT_EQ(base64("f"), "Zg==");
  EXPECT_EQ(base64("fo"), "Zm8=");
  EXPECT_EQ(base64("foo"), "Zm9v");
  EXPECT_EQ(base64("foob"), "Zm9vYg==");
  EXPECT_EQ(base64("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64("foobar"), "Zm9vYmFy");
}

TEST(TurnCredentials, RestApiKnownVector) {
  // Computed independently with OpenSSL's command line:
  //   printf '%s' '1700000000:alice' | openssl dgst -sha1 -hmac north-pole-secret -binary | base64
  const auto c = turn_rest_credentials("north-pole-secret", "alice", 1700000000);
  EXPECT_EQ(c.username, "1700000000:alice");
  EXPECT_EQ(c.password, "BlMD9egkgN94t6m66y4XRc99g2I=");
}

// A TURN server in memory: long-term credentials, one allocation, permissions by IP.
struct FakeTurn {
  Endpoint server = ep("192.0.2.1", 3478);
  Endpoint relay = ep("192.0.2.1", 49152);
  std::string realm = "lab.example";
  std::string user = "alice", password = "wonderland";
  std::string nonce = "nonce-1";
  int stale_once = 0;  // answer this many authenticated requests with 438 first
  std::set<std::string> permissions;
  std::optional<Endpoint> client;
  std::vector<std::string> log;

  std::vector<std::byte> key() const {
    const auto k = stun::long_term_key(user, realm, password);
    return {k.begin(), k.end()};
  }

  std::vector<std::byte> error(const stun::Message& m, int code, bool with_nonce) {
    stun::MessageBuilder b({m.type.method, stun::MessageClass::error}, m.transaction_id);
    b.add_error_code(code);
    if (with_nonce) {
      b.add_text(stun::attr::realm, realm);
      b.add_text(stun::attr::nonce, nonce);
    }
    return std::move(b).finish();
  }

  // Datagrams sent by the server in answer to `d`: (from, to, bytes).
  std::vector<sim::Datagram> handle(const sim::Datagram& d) {
    std::vector<sim::Datagram> out;
    if (d.to == relay) {  // from a peer
      if (!client || !permissions.count(d.from.address.to_string())) return out;
      stun::MessageBuilder b({stun::method::data, stun::MessageClass::indication},
                             counting_transaction_ids(99)());
      b.add_address(stun::attr::xor_peer_address, d.from);
      b.add(stun::attr::data, d.bytes);
      out.push_back({server, *client, std::move(b).finish()});
      return out;
    }
    auto pm = stun::parse(d.bytes);
    if (!pm) return out;
    const auto& m = *pm;
    const auto reply = [&](std::vector<std::byte> bytes) { out.push_back({server, d.from, std::move(bytes)}); };
    if (m.type.method == stun::method::binding) {
      stun::MessageBuilder b({stun::method::binding, stun::MessageClass::success}, m.transaction_id);
      b.add_address(stun::attr::xor_mapped_address, d.from);
      reply(std::move(b).finish());
      return out;
    }
    if (m.type.method == stun::method::send && m.type.cls == stun::MessageClass::indication) {
      auto peer = stun::read_address(m, *m.find(stun::attr::xor_peer_address)).value();
      if (permissions.count(peer.address.to_string()))
        out.push_back({relay, peer, m.find(stun::attr::data)->value});
      return out;
    }
    log.push_back(std::to_string(m.type.method));
    if (!m.has(stun::attr::message_integrity)) {
      reply(error(m, 401, true));
      return out;
    }
    const auto* u = m.find(stun::attr::username);
    if (!u || stun::as_text(u->value) != user || stun::verify_message_integrity(m, key()) != stun::Check::ok) {
      reply(error(m, 401, true));
      return out;
    }
    if (stale_once > 0) {
      --stale_once;
      nonce = "nonce-2";
      reply(error(m, 438, true));
      return out;
    }
    if (stun::as_text(m.find(stun::attr::nonce)->value) != nonce) {
      reply(error(m, 438, true));
      return out;
    }
    stun::MessageBuilder b({m.type.method, stun::MessageClass::success}, m.transaction_id);
    if (m.type.method == stun::method::allocate) {
      client = d.from;
      b.add_address(stun::attr::xor_relayed_address, relay);
      b.add_address(stun::attr::xor_mapped_address, d.from);
      b.add_u32(stun::attr::lifetime, 600);
    } else if (m.type.method == stun::method::create_permission) {
      permissions.insert(stun::read_address(m, *m.find(stun::attr::xor_peer_address)).value().address.to_string());
    }
    b.add_message_integrity(key());
    reply(std::move(b).finish());
    return out;
  }
};

struct TurnLab {
  FakeTurn turn;
  std::vector<Endpoint> locals = {ep("10.0.0.2", 5000), ep("10.0.0.2", 5001)};
  TimePoint t0 = TimePoint{} + 100s;

  TurnReport check(TurnCredentials creds) {
    RetransmitPolicy p;
    p.give_up_after = 3000ms;
    TurnClient c(turn.server, std::move(creds), locals[1], p, t0, counting_transaction_ids());
    sim::run(c, t0, [this](const Outgoing& o, TimePoint) {
      std::vector<sim::Delivery> out;
      std::vector<sim::Datagram> pending = turn.handle({locals[o.socket], o.to, o.bytes});
      for (auto& d : pending) {
        for (std::size_t i = 0; i < locals.size(); ++i) {
          if (d.to == locals[i]) out.push_back({i, d});
        }
      }
      return out;
    });
    EXPECT_TRUE(c.done());
    return c.report();
  }
};

TEST(TurnClient, FullCheckWithLongTermCredentials) {
  TurnLab lab;
  const auto r = lab.check({"alice", "wonderland"});
  for (const auto& s : r.steps) EXPECT_TRUE(s.ok) << s.name << ": " << s.detail;
  EXPECT_TRUE(r.ok);
  ASSERT_EQ(r.steps.size(), 7u);
  EXPECT_EQ(r.steps[1].name, "allocate (unauthenticated)");
  EXPECT_EQ(r.realm, "lab.example");
  EXPECT_EQ(r.relayed, lab.turn.relay);
  EXPECT_EQ(r.lifetime, 600u);
  EXPECT_EQ(r.peer, lab.locals[1]);
  EXPECT_NE(r.steps[4].detail.find("(the relayed address)"), std::string::npos) << r.steps[4].detail;
  EXPECT_EQ(r.steps[6].name, "refresh lifetime 0 (release)");
}

TEST(TurnClient, WrongPasswordSaysSo) {
  TurnLab lab;
  const auto r = lab.check({"alice", "not-the-password"});
  EXPECT_FALSE(r.ok);
  ASSERT_EQ(r.steps.size(), 3u);
  EXPECT_FALSE(r.steps[2].ok);
  EXPECT_NE(r.steps[2].detail.find("401"), std::string::npos) << r.steps[2].detail;
  EXPECT_NE(r.steps[2].detail.find("wrong username or password"), std::string::npos);
}

TEST(TurnClient, StaleNonceIsRetriedWithTheNewNonce) {
  TurnLab lab;
  lab.turn.stale_once = 1;
  const auto r = lab.check({"alice", "wonderland"});
  EXPECT_TRUE(r.ok);
}

TEST(TurnClient, PermissionIsNeededForTheRoundTrip) {
  // A server that accepts CreatePermission but forgets it: the peer never gets the data.
  TurnLab lab;
  RetransmitPolicy p;
  p.give_up_after = 2000ms;
  TurnClient c(lab.turn.server, {"alice", "wonderland"}, lab.locals[1], p, lab.t0,
               counting_transaction_ids());
  sim::run(c, lab.t0, [&lab](const Outgoing& o, TimePoint) {
    std::vector<sim::Delivery> out;
    auto pending = lab.turn.handle({lab.locals[o.socket], o.to, o.bytes});
    lab.turn.permissions.clear();
    for (auto& d : pending) {
      for (std::size_t i = 0; i < lab.locals.size(); ++i) {
        if (d.to == lab.locals[i]) out.push_back({i, d});
      }
    }
    return out;
  });
  const auto& r = c.report();
  EXPECT_FALSE(r.ok);
  bool saw = false;
  for (const auto& s : r.steps) {
    if (s.name == "send indication -> peer") {
      saw = true;
      EXPECT_FALSE(s.ok);
    }
  }
  EXPECT_TRUE(saw);
  EXPECT_EQ(r.steps.back().name, "refresh lifetime 0 (release)") << "the allocation is released";
}

TEST(TurnClient, SilentServer) {
  TurnLab lab;
  RetransmitPolicy p;
  p.give_up_after = 1000ms;
  TurnClient c(lab.turn.server, {"alice", "wonderland"}, lab.locals[1], p, lab.t0,
               counting_transaction_ids());
  sim::run(c, lab.t0, [](const Outgoing&, TimePoint) { return std::vector<sim::Delivery>{}; });
  EXPECT_TRUE(c.done());
  EXPECT_FALSE(c.report().ok);
  EXPECT_NE(c.report().steps.back().detail.find("no response"), std::string::npos)
      << c.report().steps.back().detail;
}

}  // namespace
}  // namespace icegate::media::stunclient
