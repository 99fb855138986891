// RFC 5780 NAT behaviour discovery: the decision table, and the detector against every
// mapping x filtering combination of an in-memory NAT (RFC 4787 behaviours).
#include <gtest/gtest.h>

#include "media/stunclient/nat_detector.hpp"
#include "media/stunclient/nat_lifetime.hpp"
#include "stunclient_sim.hpp"

namespace icegate::media::stunclient {
namespace {

using namespace std::chrono_literals;
using sim::ep;

TEST(NatDecisionTable, Mapping) {
  const auto local = ep("10.0.0.2", 5000);
  const auto m1 = ep("198.51.100.7", 5000);
  EXPECT_EQ(classify_mapping(local, std::nullopt, std::nullopt, std::nullopt), Mapping::unknown);
  EXPECT_EQ(classify_mapping(local, local, std::nullopt, std::nullopt), Mapping::no_nat);
  EXPECT_EQ(classify_mapping(local, m1, m1, std::nullopt), Mapping::endpoint_independent);
  EXPECT_EQ(classify_mapping(local, m1, std::nullopt, std::nullopt), Mapping::unknown);
  const auto m2 = ep("198.51.100.7", 40001);
  EXPECT_EQ(classify_mapping(local, m1, m2, m2), Mapping::address_dependent);
  EXPECT_EQ(classify_mapping(local, m1, m2, ep("198.51.100.7", 40002)),
            Mapping::address_and_port_dependent);
  EXPECT_EQ(classify_mapping(local, m1, m2, std::nullopt), Mapping::unknown);
}

TEST(NatDecisionTable, Filtering) {
  EXPECT_EQ(classify_filtering(std::nullopt, std::nullopt), Filtering::unknown);
  EXPECT_EQ(classify_filtering(true, std::nullopt), Filtering::endpoint_independent);
  EXPECT_EQ(classify_filtering(false, true), Filtering::address_dependent);
  EXPECT_EQ(classify_filtering(false, false), Filtering::address_and_port_dependent);
  EXPECT_EQ(classify_filtering(false, std::nullopt), Filtering::unknown);
}

TEST(NatDecisionTable, Rfc3489Names) {
  using M = Mapping;
  using F = Filtering;
  using C = Rfc3489Class;
  EXPECT_EQ(classify_rfc3489(false, M::unknown, F::unknown), C::udp_blocked);
  EXPECT_EQ(classify_rfc3489(true, M::no_nat, F::endpoint_independent), C::open_internet);
  EXPECT_EQ(classify_rfc3489(true, M::no_nat, F::address_and_port_dependent), C::symmetric_firewall);
  EXPECT_EQ(classify_rfc3489(true, M::endpoint_independent, F::endpoint_independent), C::full_cone);
  EXPECT_EQ(classify_rfc3489(true, M::endpoint_independent, F::address_dependent), C::restricted_cone);
  EXPECT_EQ(classify_rfc3489(true, M::endpoint_independent, F::address_and_port_dependent),
            C::port_restricted_cone);
  for (auto f : {F::unknown, F::endpoint_independent, F::address_and_port_dependent}) {
    EXPECT_EQ(classify_rfc3489(true, M::address_dependent, f), C::symmetric);
    EXPECT_EQ(classify_rfc3489(true, M::address_and_port_dependent, f), C::symmetric);
  }
  EXPECT_EQ(classify_rfc3489(true, M::endpoint_independent, F::unknown), C::unknown);
  EXPECT_EQ(classify_rfc3489(true, M::unknown, F::endpoint_independent), C::unknown);
  EXPECT_EQ(json_name(C::port_restricted_cone), "port-restricted-cone");
  EXPECT_EQ(json_name(M::address_and_port_dependent), "address-and-port-dependent");
}

struct Lab {
  std::vector<Endpoint> locals = {ep("10.0.0.2", 5000), ep("10.0.0.2", 5001), ep("10.0.0.2", 5002)};
  sim::FakeNat nat;
  sim::FakeStunServer server;
  TimePoint t0 = TimePoint{} + 100s;
  RetransmitPolicy policy() const {
    RetransmitPolicy p;
    p.give_up_after = 3000ms;
    return p;
  }
  NatReport detect() {
    NatDetector d(server.primary, locals, policy(), t0, counting_transaction_ids());
    sim::run(d, t0, sim::nat_route(locals, nat, server));
    EXPECT_TRUE(d.done());
    return d.report();
  }
};

struct Combo {
  Mapping mapping;
  Filtering filtering;
  Rfc3489Class expected;
};

class NatDetectorCombos : public ::testing::TestWithParam<Combo> {};

TEST_P(NatDetectorCombos, FindsTheNatsBehaviour) {
  Lab lab;
  lab.nat.mapping = GetParam().mapping;
  lab.nat.filtering = GetParam().filtering;
  const auto r = lab.detect();
  EXPECT_TRUE(r.answered);
  EXPECT_TRUE(r.nat);
  EXPECT_TRUE(r.rfc5780);
  EXPECT_EQ(r.mapped->address, lab.nat.public_ip);
  EXPECT_EQ(r.mapping, GetParam().mapping);
  EXPECT_EQ(r.filtering, GetParam().filtering);
  EXPECT_EQ(r.rfc3489, GetParam().expected);
  EXPECT_EQ(r.hairpinning, Hairpinning::no);
  EXPECT_TRUE(r.notes.empty()) << r.notes.front();
}

INSTANTIATE_TEST_SUITE_P(
    AllNine, NatDetectorCombos,
    ::testing::Values(
        Combo{Mapping::endpoint_independent, Filtering::endpoint_independent, Rfc3489Class::full_cone},
        Combo{Mapping::endpoint_independent, Filtering::address_dependent, Rfc3489Class::restricted_cone},
        Combo{Mapping::endpoint_independent, Filtering::address_and_port_dependent,
              Rfc3489Class::port_restricted_cone},
        Combo{Mapping::address_dependent, Filtering::endpoint_independent, Rfc3489Class::symmetric},
        Combo{Mapping::address_dependent, Filtering::address_dependent, Rfc3489Class::symmetric},
        Combo{Mapping::address_dependent, Filtering::address_and_port_dependent, Rfc3489Class::symmetric},
        Combo{Mapping::address_and_port_dependent, Filtering::endpoint_independent, Rfc3489Class::symmetric},
        Combo{Mapping::address_and_port_dependent, Filtering::address_dependent, Rfc3489Class::symmetric},
        Combo{Mapping::address_and_port_dependent, Filtering::address_and_port_dependent,
              Rfc3489Class::symmetric}));

TEST(NatDetector, PortPreservationAndHairpinning) {
  Lab lab;
  lab.nat.hairpin = true;
  auto r = lab.detect();
  EXPECT_TRUE(r.port_preserved);
  EXPECT_EQ(r.hairpinning, Hairpinning::yes);
  lab = Lab{};
  lab.nat.preserve_port = false;
  r = lab.detect();
  EXPECT_FALSE(r.port_preserved);
  EXPECT_EQ(r.mapping, Mapping::endpoint_independent);
}

TEST(NatDetector, NoNatOpenInternetAndFirewall) {
  Lab lab;
  lab.nat.present = false;
  auto r = lab.detect();
  EXPECT_FALSE(r.nat);
  EXPECT_EQ(r.mapping, Mapping::no_nat);
  EXPECT_EQ(r.rfc3489, Rfc3489Class::open_internet);
  EXPECT_EQ(r.hairpinning, Hairpinning::unknown);

  lab = Lab{};
  lab.nat.present = false;
  lab.nat.filtering = Filtering::address_and_port_dependent;
  r = lab.detect();
  EXPECT_EQ(r.rfc3489, Rfc3489Class::symmetric_firewall);
}

TEST(NatDetector, ServerWithoutRfc5780GivesAPartialAnswer) {
  Lab lab;
  lab.server.rfc5780 = false;
  lab.nat.mapping = Mapping::address_and_port_dependent;
  const auto r = lab.detect();
  EXPECT_TRUE(r.answered);
  EXPECT_TRUE(r.nat);
  EXPECT_FALSE(r.rfc5780);
  EXPECT_EQ(r.mapping, Mapping::unknown);
  EXPECT_EQ(r.filtering, Filtering::unknown);
  EXPECT_EQ(r.rfc3489, Rfc3489Class::unknown);
  ASSERT_FALSE(r.notes.empty());
  EXPECT_NE(r.notes.front().find("does not support RFC 5780"), std::string::npos);
}

TEST(NatDetector, ServerIgnoringChangeRequestIsNotMistakenForAnOpenFilter) {
  Lab lab;
  lab.server.honour_change = false;
  lab.nat.filtering = Filtering::address_and_port_dependent;
  const auto r = lab.detect();
  EXPECT_EQ(r.filtering, Filtering::unknown);
  EXPECT_EQ(r.mapping, Mapping::endpoint_independent);
}

TEST(NatDetector, SilentServerIsUdpBlockedAfterTheTimeout) {
  Lab lab;
  lab.server.silent = true;
  NatDetector d(lab.server.primary, lab.locals, lab.policy(), lab.t0, counting_transaction_ids());
  const auto end = sim::run(d, lab.t0, sim::nat_route(lab.locals, lab.nat, lab.server));
  EXPECT_EQ(end - lab.t0, 3000ms);
  EXPECT_EQ(d.report().rfc3489, Rfc3489Class::udp_blocked);
  EXPECT_FALSE(d.report().answered);
}

TEST(NatLifetime, WaitsAreBoundedAndTheEstimateBracketsTheTimeout) {
  EXPECT_EQ(lifetime_waits(10s), (std::vector<Duration>{1s, 2s, 4s, 8s, 10s}));
  sim::FakeStunServer server;
  sim::FakeNat nat;
  nat.idle_timeout = 5s;  // forgets a binding after 5 s of silence
  nat.filtering = Filtering::address_and_port_dependent;
  const auto waits = lifetime_waits(10s);
  std::vector<Endpoint> locals = {ep("10.0.0.2", 6000)};  // Y
  for (std::size_t i = 0; i < waits.size(); ++i)
    locals.push_back(ep("10.0.0.2", static_cast<std::uint16_t>(6001 + i)));
  const TimePoint t0 = TimePoint{} + 100s;
  LifetimeProber p(server.primary, waits, {}, t0, counting_transaction_ids());
  const auto end = sim::run(p, t0, sim::nat_route(locals, nat, server));
  EXPECT_TRUE(p.done());
  const auto e = p.estimate();
  ASSERT_TRUE(e.at_least);
  ASSERT_TRUE(e.at_most);
  EXPECT_EQ(*e.at_least, 4s);
  EXPECT_EQ(*e.at_most, 8s);
  // Bounded: the longest wait plus one RFC 5389 transaction timeout for the expired probes.
  EXPECT_LE(end - t0, 10s + 39500ms);
}

TEST(NatLifetime, ServerWithoutResponsePortIsReported) {
  sim::FakeStunServer server;
  server.rfc5780 = false;
  sim::FakeNat nat;
  std::vector<Endpoint> locals = {ep("10.0.0.2", 6000), ep("10.0.0.2", 6001)};
  const TimePoint t0 = TimePoint{} + 100s;
  LifetimeProber p(server.primary, {1s}, {}, t0, counting_transaction_ids());
  auto route = sim::nat_route(locals, nat, server);
  sim::run(p, t0, [&](const Outgoing& o, TimePoint now) {
    // A server that does not know RESPONSE-PORT answers to the asking socket.
    auto out = route(o, now);
    for (auto& d : out) d.socket = o.socket;
    return out;
  });
  const auto e = p.estimate();
  EXPECT_TRUE(e.unsupported);
  EXPECT_FALSE(e.at_least);
}

}  // namespace
}  // namespace icegate::media::stunclient
