#pragma once
// From a repository's configuration to its Target, decorators included: the one table from type
// name to factory (MPD's storage_plugins[]). Types not built yet are ErrorKind::unsupported
// (exit 2, BRIEF §2).

#include <filesystem>
#include <memory>

#include <asio/thread_pool.hpp>

#include "config/config.hpp"
#include "target/retry_policy.hpp"
#include "target/target.hpp"

namespace offsite::target {

struct BuiltTarget {
  std::unique_ptr<Target> target;            // wrapped: RetryingTarget(LimitedTarget(inner))
  std::shared_ptr<RetryPolicy> retry_policy; // the decorator's, for the engine's uploader
};

// `state_dir` is this repository's state directory (probe caches, known_hosts default).
Result<BuiltTarget> make_target(const config::Repository& repository, asio::thread_pool& pool,
                                const std::filesystem::path& state_dir);

// Test-only: OFFSITE_TEST_BACKOFF_MS shortens the retry backoff so fault tests run in seconds.
std::chrono::milliseconds base_backoff_from_environment();

} // namespace offsite::target
