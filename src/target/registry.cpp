#include "target/registry.hpp"

#include "target/limited.hpp"
#include "target/retrying.hpp"

namespace offsite::target {

std::unique_ptr<Target> wrap_target(std::unique_ptr<Target> inner, const WrapOptions& options) {
  auto policy = options.retry_policy;
  if (!policy) {
    RetryOptions retry;
    retry.budget = options.retry_budget;
    retry.base_delay = options.base_backoff;
    policy = std::make_shared<RetryPolicy>(retry);
  }
  auto limited = std::make_unique<LimitedTarget>(std::move(inner), options.concurrency, options.bandwidth_limit);
  return std::make_unique<RetryingTarget>(std::move(limited), std::move(policy));
}

} // namespace offsite::target
