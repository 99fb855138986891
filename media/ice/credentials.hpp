// ICE credentials (ice-ufrag / ice-pwd, RFC 8445 §5.3) and the randomness they come from.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace icegate::media::ice {

// Source of unpredictable bytes. Injected so tests are deterministic; production uses
// OpenSslRandom. Implementations must be usable from the thread that owns the agent.
class RandomSource {
 public:
  virtual ~RandomSource() = default;
  virtual void fill(std::span<std::byte> out) = 0;
};

// RAND_bytes. If the CSPRNG fails it aborts: handing out guessable ICE passwords or STUN
// transaction ids would let an off-path attacker hijack the media path, and there is no safe
// fallback. OpenSSL 3 seeds from the OS, so this does not happen on a working system.
class OpenSslRandom final : public RandomSource {
 public:
  void fill(std::span<std::byte> out) override;
};

// A process-wide OpenSslRandom (stateless, thread-safe).
RandomSource& default_random();

// RFC 8445 §5.3: ice-chars = ALPHA / DIGIT / "+" / "/"
bool is_ice_chars(std::string_view s) noexcept;

struct Credentials {
  std::string ufrag;
  std::string pwd;

  // RFC 8445 §5.3: ufrag at least 24 bits of randomness (4 ice-chars), pwd at least 128 bits
  // (22 ice-chars). We use 8 and 24 characters, 6 random bits each.
  static constexpr std::size_t kUfragLength = 8;
  static constexpr std::size_t kPwdLength = 24;
  static Credentials generate(RandomSource& rng = default_random());

  // Length limits of RFC 8839 §5.4 (ufrag 4-256, pwd 22-256) and ice-chars only.
  bool valid() const noexcept;

  friend bool operator==(const Credentials&, const Credentials&) = default;
};

}  // namespace icegate::media::ice
