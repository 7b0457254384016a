#pragma once
// Backoff and the per-outage retry budget (BRIEF §3 `retry_budget`, §5.7, §9), shared by the
// RetryingTarget decorator and the engine's uploader (which must reopen and resume an upload
// itself: the bytes of a failed write are gone, so no decorator can replay them).
//
// An outage starts at the first transient failure after a success and ends at the next success
// of any operation. An operation gives up once the outage (or, if the outage was ended by another
// operation's success meanwhile, its own run of failures) has lasted the budget, so a 10-minute
// budget means at most about 10 minutes of retrying, however many operations fail together.
// Delays double from `base_delay` to `max_delay`, each scaled by random jitter, and are cut short
// so the last attempt happens when the budget ends.

#include <chrono>
#include <optional>
#include <random>
#include <string>

#include <asio/awaitable.hpp>

#include "util/error.hpp"

namespace offsite::target {

struct RetryOptions {
  std::chrono::milliseconds budget = std::chrono::minutes(10);
  std::chrono::milliseconds base_delay = std::chrono::seconds(1); // tests make this milliseconds
  std::chrono::milliseconds max_delay = std::chrono::seconds(60);
  double jitter = 0.25; // each delay scaled by a random factor in [1 - jitter, 1 + jitter]
};

// One operation's run of failures; lives in the frame of the coroutine that retries it.
struct RetryAttempts {
  unsigned failures = 0;
  std::optional<std::chrono::steady_clock::time_point> first_failure;
};

class RetryPolicy final {
public:
  explicit RetryPolicy(RetryOptions options = {});

  // Called after an attempt failed with `last`. Returns success after sleeping the next backoff
  // (try again), or the error to report: `last` unchanged unless it is transient, or, once the
  // budget is spent, ErrorKind::permanent "gave up after 10m of retries: <last>". A cancelled wait
  // returns ErrorKind::cancelled. Both arguments belong to the caller, who awaits this at once
  // (by reference: g++ 12 mis-copies a braced `Error{...}` temporary into a by-value parameter).
  asio::awaitable<Result<void>> wait_before_retry(const Error& last, RetryAttempts& attempts);

  // Some operation succeeded: the outage is over; the next one starts with a full budget.
  void note_success() { m_outage_start.reset(); }

  bool in_outage() const { return m_outage_start.has_value(); }
  const RetryOptions& options() const { return m_options; }

  // The delay before retry number `failures` (1-based), before jitter and the budget cut.
  std::chrono::milliseconds backoff(unsigned failures) const;

private:
  std::chrono::milliseconds jittered(std::chrono::milliseconds delay);

  RetryOptions m_options;
  std::optional<std::chrono::steady_clock::time_point> m_outage_start;
  std::minstd_rand m_random;
};

// "10m", "1m30s", "45s", "250ms": durations as people write them in the config.
std::string format_duration(std::chrono::milliseconds duration);

} // namespace offsite::target
