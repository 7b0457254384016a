#pragma once
// The bandwidth limit (BRIEF §3 `bandwidth_limit`, §8: "holds the average within 5% over 30 s").
//
// A token bucket that may go into debt: reserve(n) takes n tokens at once and says how long to
// wait before sending, so a sender that always waits as told has sent, by any time t after a start
// or an idle spell, at most `burst` + rate * t bytes, and never waits longer than its own debt
// needs. With `burst` a tenth of a second's worth, the 30-second average is within 0.4% of the
// rate. The clock is injected so tests check the arithmetic without sleeping.

#include <chrono>
#include <cstdint>
#include <functional>

namespace offsite::target {

class TokenBucket final {
public:
  using Clock = std::chrono::steady_clock;
  using Now = std::function<Clock::time_point()>;

  // `rate` bytes per second, 0 = unlimited; at most `burst` bytes are saved up while idle.
  TokenBucket(std::uint64_t rate, std::uint64_t burst, Now now = &Clock::now);

  // Takes `bytes` tokens; returns how long to wait before sending them (0 if unlimited).
  std::chrono::nanoseconds reserve(std::uint64_t bytes);

  std::uint64_t rate() const { return m_rate; }
  bool unlimited() const { return m_rate == 0; }

private:
  std::uint64_t m_rate;
  double m_burst;
  Now m_now;
  double m_tokens;
  Clock::time_point m_last;
};

} // namespace offsite::target
