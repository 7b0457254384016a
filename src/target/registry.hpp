#pragma once
// Building targets. wrap_target() composes the decorators in one place (restic's wrapBackend);
// the table from config type name to factory (MPD's storage_plugins[]) joins it here later.

#include <chrono>
#include <cstdint>
#include <memory>

#include "target/retry_policy.hpp"
#include "target/target.hpp"

namespace offsite::target {

struct WrapOptions {
  std::chrono::seconds retry_budget = std::chrono::minutes(10); // per outage
  std::uint64_t bandwidth_limit = 0;                            // upload bytes/s; 0 = unlimited
  int concurrency = 0; // operations in flight; 0 = the target's max_connections
  std::chrono::milliseconds base_backoff = std::chrono::seconds(1);
  // Shared with the engine's uploader, which resumes failed uploads within the same outage budget.
  // Null: one is made from retry_budget and base_backoff.
  std::shared_ptr<RetryPolicy> retry_policy;
};

// RetryingTarget(LimitedTarget(inner)): a retry waits its backoff without holding a connection
// slot, and each attempt takes a slot again.
std::unique_ptr<Target> wrap_target(std::unique_ptr<Target> inner, const WrapOptions& options);

} // namespace offsite::target
