// Public address discovery: one Binding per server, the choice among their answers, back-off.
#include <gtest/gtest.h>

#include <cerrno>

#include "media/stunclient/discovery.hpp"
#include "stunclient_sim.hpp"

namespace icegate::media::stunclient {
namespace {

using namespace std::chrono_literals;
using sim::ep;

DiscoveryAnswer answer(std::string name, std::optional<Endpoint> mapped) {
  DiscoveryAnswer a;
  a.name = std::move(name);
  a.mapped = mapped;
  if (!mapped) a.failure = "no response";
  return a;
}

TEST(StunDiscovery, FirstConfiguredServerThatAnsweredIsUsed) {
  const std::vector<DiscoveryAnswer> answers = {answer("stun1", std::nullopt),
                                                answer("stun2", ep("203.0.113.7", 1000)),
                                                answer("stun3", ep("203.0.113.7", 2000))};
  const auto o = evaluate(answers);
  ASSERT_TRUE(o.chosen);
  EXPECT_EQ(*o.chosen, 1u);
  EXPECT_FALSE(o.conflict) << "different ports are not a conflict: every server has its own socket";
  EXPECT_EQ(conflict_message(answers, o), "");
}

TEST(StunDiscovery, DifferentPublicIpsAreTheSeveralNicsFault) {
  const std::vector<DiscoveryAnswer> answers = {answer("stun1", ep("203.0.113.7", 1000)),
                                                answer("stun2", ep("198.51.100.9", 1000))};
  const auto o = evaluate(answers);
  EXPECT_TRUE(o.conflict);
  EXPECT_EQ(conflict_message(answers, o),
            "several public IPs or NICs: stun1 says 203.0.113.7, stun2 says 198.51.100.9; using "
            "203.0.113.7 (the first configured server that answered)");
}

TEST(StunDiscovery, NobodyAnswered) {
  const auto o = evaluate({answer("stun1", std::nullopt)});
  EXPECT_FALSE(o.chosen);
  EXPECT_FALSE(o.conflict);
}

TEST(StunDiscovery, RetryBackOffDoublesUpToTheCap) {
  EXPECT_EQ(retry_delay(1, 5s, 300s), 5s);
  EXPECT_EQ(retry_delay(2, 5s, 300s), 10s);
  EXPECT_EQ(retry_delay(4, 5s, 300s), 40s);
  EXPECT_EQ(retry_delay(7, 5s, 300s), 300s);
  EXPECT_EQ(retry_delay(1000, 5s, 300s), 300s);
}

TEST(StunDiscovery, RoundAsksEveryServerFromItsOwnSocket) {
  sim::FakeStunServer a, b;
  b.primary = ep("192.0.2.9", 3478);
  b.rfc5780 = false;
  const std::vector<DiscoveryTarget> targets = {{"a", "a.example:3478", a.primary},
                                                {"b", "b.example:3478", b.primary},
                                                {"c", "c.example:3478", ep("192.0.2.50", 3478)}};
  const std::vector<Endpoint> locals = {ep("10.0.0.2", 5000), ep("10.0.0.2", 5001), ep("10.0.0.2", 5002)};
  sim::FakeNat nat;
  const TimePoint t0 = TimePoint{} + 5s;
  DiscoveryRound round(targets, {}, t0, counting_transaction_ids());
  int sent_to_c = 0;
  const auto end = sim::run(round, t0, [&](const Outgoing& o, TimePoint) {
    std::vector<sim::Delivery> out;
    const Endpoint src = nat.outbound(locals[o.socket], o.to);
    for (auto* s : {&a, &b}) {
      if (auto r = s->handle({src, o.to, o.bytes})) {
        if (auto in = nat.inbound(r->to, r->from)) out.push_back({o.socket, *r});
      }
    }
    sent_to_c += o.to == targets[2].server;
    EXPECT_EQ(o.to, targets[o.socket].server);
    return out;
  });
  const auto answers = round.answers();
  ASSERT_EQ(answers.size(), 3u);
  EXPECT_EQ(answers[0].mapped, ep("198.51.100.7", 5000));
  EXPECT_EQ(answers[1].mapped, ep("198.51.100.7", 5001));
  EXPECT_FALSE(answers[2].mapped);
  EXPECT_EQ(sent_to_c, 7) << "RFC 5389: Rc = 7 requests to the silent server";
  EXPECT_EQ(end - t0, 39500ms);
  EXPECT_NE(answers[2].failure.find("no response"), std::string::npos);
}

TEST(StunDiscovery, IcmpUnreachableFailsTheServerAtOnce) {
  DiscoveryRound round({{"a", "127.0.0.1:9", ep("127.0.0.1", 9)}}, {}, TimePoint{},
                       counting_transaction_ids());
  ASSERT_EQ(round.poll(TimePoint{}).size(), 1u);
  round.on_socket_error(0, ECONNREFUSED, TimePoint{} + 1ms);
  EXPECT_TRUE(round.done());
  EXPECT_NE(round.answers()[0].failure.find("port unreachable"), std::string::npos);
}

}  // namespace
}  // namespace icegate::media::stunclient
