#include "target/token_bucket.hpp"

#include <algorithm>

namespace offsite::target {

TokenBucket::TokenBucket(std::uint64_t rate, std::uint64_t burst, Now now)
    : m_rate(rate), m_burst(static_cast<double>(burst)), m_now(std::move(now)), m_tokens(m_burst), m_last(m_now()) {}

std::chrono::nanoseconds TokenBucket::reserve(std::uint64_t bytes) {
  if (m_rate == 0) return std::chrono::nanoseconds(0);
  auto now = m_now();
  auto elapsed = std::chrono::duration<double>(now - m_last).count();
  m_last = now;
  // Refill for the time that passed, but never save up more than `burst` (debt is repaid first).
  m_tokens = std::min(m_burst, m_tokens + elapsed * static_cast<double>(m_rate));
  m_tokens -= static_cast<double>(bytes);
  if (m_tokens >= 0) return std::chrono::nanoseconds(0);
  auto seconds = -m_tokens / static_cast<double>(m_rate);
  return std::chrono::nanoseconds(static_cast<std::int64_t>(seconds * 1e9));
}

} // namespace offsite::target
