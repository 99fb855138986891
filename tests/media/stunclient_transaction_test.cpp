// RFC 5389 §7.2.1 retransmissions with an injected clock, and response matching (§7.3).
#include <gtest/gtest.h>

#include "media/stun/builder.hpp"
#include "media/stunclient/messages.hpp"
#include "media/stunclient/transaction.hpp"
#include "stunclient_sim.hpp"

namespace icegate::media::stunclient {
namespace {

using namespace std::chrono_literals;
using sim::ep;

const TimePoint kT0 = TimePoint{} + 1000s;

Transaction make(RetransmitPolicy p = {}, stun::TransactionId tid = counting_transaction_ids(7)()) {
  return Transaction(binding_request(tid), tid, stun::method::binding, ep("192.0.2.1", 3478), p, kT0);
}

stun::Message response(const stun::TransactionId& tid, stun::MessageClass cls,
                       std::uint16_t method = stun::method::binding,
                       std::optional<std::uint16_t> extra_attr = std::nullopt) {
  stun::MessageBuilder b({method, cls}, tid);
  if (cls == stun::MessageClass::success)
    b.add_address(stun::attr::xor_mapped_address, ep("198.51.100.7", 40000));
  if (cls == stun::MessageClass::error) b.add_error_code(420);
  if (extra_attr) b.add_u32(*extra_attr, 1);
  b.add_fingerprint();
  return stun::parse(std::move(b).finish()).value();
}

// Collects the times at which the transaction sends, stepping the clock to each wake-up.
std::vector<Millis> schedule(Transaction& t) {
  std::vector<Millis> sent;
  TimePoint now = kT0;
  for (int i = 0; i < 100 && !t.finished(); ++i) {
    if (t.due(now)) sent.push_back(std::chrono::duration_cast<Millis>(now - kT0));
    if (auto w = t.next_wakeup()) now = std::max(now, *w);
  }
  return sent;
}

TEST(StunTransaction, Rfc5389DefaultScheduleAndTimeout) {
  // RFC 5389 §7.2.1's own example: RTO 500 ms, Rc 7, Rm 16.
  EXPECT_EQ(transmission_offsets({}),
            (std::vector<Millis>{0ms, 500ms, 1500ms, 3500ms, 7500ms, 15500ms, 31500ms}));
  EXPECT_EQ(transaction_timeout({}), 39500ms);
  auto t = make();
  EXPECT_EQ(schedule(t), (std::vector<Millis>{0ms, 500ms, 1500ms, 3500ms, 7500ms, 15500ms, 31500ms}));
  EXPECT_EQ(t.outcome(), Outcome::timeout);
  EXPECT_EQ(t.elapsed(), 39500ms);
  EXPECT_EQ(t.transmissions(), 7u);
  EXPECT_NE(t.failure().find("7 request(s)"), std::string::npos) << t.failure();
}

TEST(StunTransaction, NothingIsSentEarly) {
  auto t = make();
  EXPECT_TRUE(t.due(kT0));
  EXPECT_FALSE(t.due(kT0 + 499ms));
  EXPECT_EQ(t.next_wakeup(), kT0 + 500ms);
  EXPECT_TRUE(t.due(kT0 + 500ms));
  EXPECT_FALSE(t.due(kT0 + 1499ms));
  EXPECT_FALSE(t.finished());
}

TEST(StunTransaction, ConfigurableRcRmAndGiveUp) {
  RetransmitPolicy p;
  p.rto = 100ms;
  p.max_transmissions = 3;
  p.last_wait_factor = 2;
  EXPECT_EQ(transmission_offsets(p), (std::vector<Millis>{0ms, 100ms, 300ms}));
  EXPECT_EQ(transaction_timeout(p), 500ms);
  RetransmitPolicy cli;  // an interactive tool: the RFC schedule, cut at 3 s
  cli.give_up_after = 3000ms;
  EXPECT_EQ(transmission_offsets(cli), (std::vector<Millis>{0ms, 500ms, 1500ms}));
  EXPECT_EQ(transaction_timeout(cli), 3000ms);
  auto t = make(cli);
  EXPECT_EQ(schedule(t).size(), 3u);
  EXPECT_EQ(t.elapsed(), 3000ms);
}

TEST(StunTransaction, SuccessAfterRetransmissionMeasuresFromLastRequest) {
  auto t = make();
  const auto tid = t.id();
  ASSERT_TRUE(t.due(kT0));
  ASSERT_TRUE(t.due(kT0 + 500ms));
  t.on_response(response(tid, stun::MessageClass::success), ep("192.0.2.1", 3478), kT0 + 520ms);
  EXPECT_EQ(t.outcome(), Outcome::success);
  EXPECT_EQ(t.rtt(), 20ms);
  EXPECT_EQ(t.elapsed(), 520ms);
  EXPECT_EQ(t.transmissions(), 2u);
  EXPECT_EQ(mapped_address(*t.response()).value(), ep("198.51.100.7", 40000));
  EXPECT_FALSE(t.due(kT0 + 1500ms));  // no retransmission after the answer
  EXPECT_FALSE(t.next_wakeup());
}

TEST(StunTransaction, IgnoresOtherTransactionsMethodsAndRequests) {
  auto t = make();
  ASSERT_TRUE(t.due(kT0));
  auto other = t.id();
  other[0] = std::byte{0x55};
  EXPECT_FALSE(t.matches(response(other, stun::MessageClass::success)));
  EXPECT_FALSE(t.matches(response(t.id(), stun::MessageClass::success, stun::method::allocate)));
  EXPECT_FALSE(t.matches(response(t.id(), stun::MessageClass::request)));
  t.on_response(response(other, stun::MessageClass::success), {}, kT0 + 1ms);
  EXPECT_FALSE(t.finished());
}

TEST(StunTransaction, ErrorResponseCarriesTheCode) {
  auto t = make();
  ASSERT_TRUE(t.due(kT0));
  t.on_response(response(t.id(), stun::MessageClass::error), {}, kT0 + 5ms);
  EXPECT_EQ(t.outcome(), Outcome::error_response);
  EXPECT_EQ(t.error_code().code, 420);
  EXPECT_EQ(t.error_code().reason, "Unknown Attribute");
}

TEST(StunTransaction, UnknownComprehensionRequiredAttributeFailsASuccess) {
  // RFC 5389 §7.3.3.
  auto t = make();
  ASSERT_TRUE(t.due(kT0));
  t.on_response(response(t.id(), stun::MessageClass::success, stun::method::binding, 0x7F01), {},
                kT0 + 5ms);
  EXPECT_EQ(t.outcome(), Outcome::bad_response);
  EXPECT_NE(t.failure().find("0x7F01"), std::string::npos);
}

TEST(StunTransaction, BadFingerprintIsRejected) {
  auto t = make();
  ASSERT_TRUE(t.due(kT0));
  // A bit flipped in transit (in XOR-MAPPED-ADDRESS): the FINGERPRINT no longer matches.
  auto bytes = response(t.id(), stun::MessageClass::success).raw;
  bytes[stun::kHeaderSize + 7] ^= std::byte{1};
  t.on_response(stun::parse(bytes).value(), {}, kT0 + 5ms);
  EXPECT_EQ(t.outcome(), Outcome::bad_response);
}

TEST(StunTransaction, TransportErrorEndsAtOnce) {
  auto t = make();
  ASSERT_TRUE(t.due(kT0));
  t.on_transport_error("port unreachable", kT0 + 1ms);
  EXPECT_EQ(t.outcome(), Outcome::transport_error);
  EXPECT_FALSE(t.due(kT0 + 500ms));
}

TEST(StunTransaction, RandomIdsDiffer) {
  auto ids = random_transaction_ids();
  EXPECT_NE(ids(), ids());
}

}  // namespace
}  // namespace icegate::media::stunclient
