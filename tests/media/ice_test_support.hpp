// Shared fixtures of the ICE-lite agent tests: deterministic randomness, credentials, a clock.
#pragma once

#include <chrono>

#include "acl/address.hpp"
#include "media/endpoint.hpp"
#include "media/ice/agent.hpp"
#include "media/ice/credentials.hpp"

namespace icegate::media::ice::test {

using namespace std::chrono_literals;

// Deterministic bytes: tests must not depend on the system CSPRNG.
class CountingRandom final : public RandomSource {
 public:
  void fill(std::span<std::byte> out) override {
    for (auto& b : out) b = static_cast<std::byte>(next_++ * 37 + 11);
  }

 private:
  unsigned next_ = 0;
};

inline const Credentials kLocal{"LoCa", "localpassword0123456789"};
inline const Credentials kRemote{"ReMo", "remotepassword012345678"};
inline const TimePoint t0 = TimePoint{} + 1h;

inline Endpoint ep(const char* addr, std::uint16_t port) {
  return {*acl::Address::parse(addr), port};
}

}  // namespace icegate::media::ice::test
