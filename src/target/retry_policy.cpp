#include "target/retry_policy.hpp"

#include <algorithm>

#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <fmt/format.h>

#include "target/target.hpp"

namespace offsite::target {

RetryPolicy::RetryPolicy(RetryOptions options) : m_options(options), m_random(std::random_device{}()) {}

std::chrono::milliseconds RetryPolicy::backoff(unsigned failures) const {
  auto delay = m_options.base_delay;
  for (unsigned i = 1; i < failures && delay < m_options.max_delay; ++i)
    delay *= 2;
  return std::min(delay, m_options.max_delay);
}

std::chrono::milliseconds RetryPolicy::jittered(std::chrono::milliseconds delay) {
  if (m_options.jitter <= 0) return delay;
  std::uniform_real_distribution<double> factor(1.0 - m_options.jitter, 1.0 + m_options.jitter);
  auto scaled =
      std::chrono::milliseconds(static_cast<std::int64_t>(static_cast<double>(delay.count()) * factor(m_random)));
  return std::min(scaled, m_options.max_delay);
}

asio::awaitable<Result<void>> RetryPolicy::wait_before_retry(const Error& last, RetryAttempts& attempts) {
  if (last.kind != ErrorKind::transient) co_return Unexpected(last);
  auto now = std::chrono::steady_clock::now();
  if (!m_outage_start) m_outage_start = now;
  if (!attempts.first_failure) attempts.first_failure = now;
  auto start = std::min(*m_outage_start, *attempts.first_failure);
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(now - start);
  if (elapsed >= m_options.budget)
    co_return make_error(ErrorKind::permanent, fmt::format("gave up after {} of retries: {}",
                                                           format_duration(m_options.budget), last.message));
  ++attempts.failures;
  auto delay = std::min(jittered(backoff(attempts.failures)), m_options.budget - elapsed);
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor, delay);
  auto [ec] = co_await timer.async_wait(use_nothrow);
  if (ec) co_return make_error(ErrorKind::cancelled, fmt::format("cancelled while retrying: {}", last.message));
  co_return Result<void>{};
}

std::string format_duration(std::chrono::milliseconds duration) {
  using namespace std::chrono;
  if (duration < seconds(1) || duration % seconds(1) != milliseconds(0)) return fmt::format("{}ms", duration.count());
  auto total = duration_cast<seconds>(duration).count();
  std::string text;
  if (total >= 3600) text += fmt::format("{}h", total / 3600);
  if (total % 3600 >= 60) text += fmt::format("{}m", total % 3600 / 60);
  if (total % 60 != 0) text += fmt::format("{}s", total % 60);
  return text;
}

} // namespace offsite::target
