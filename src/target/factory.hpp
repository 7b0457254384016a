#pragma once
// From a repository's configuration to its Target, decorators included: the one table from type
// name to factory (MPD's storage_plugins[]). Types not built yet are ErrorKind::unsupported
// (exit 2, BRIEF §2).

#include <filesystem>
#include <memory>

#include <asio/thread_pool.hpp>

#include "config/config.hpp"
#include "target/host_key_trust.hpp"
#include "target/retry_policy.hpp"
#include "target/target.hpp"

namespace offsite::target {

struct BuiltTarget {
  std::unique_ptr<Target> target;            // wrapped: RetryingTarget(LimitedTarget(inner))
  std::shared_ptr<RetryPolicy> retry_policy; // the decorator's, for the engine's uploader
};

// `state_dir` is this repository's state directory (probe caches). `trust` is test-connection's
// --accept-host-key (SFTP only).
Result<BuiltTarget> make_target(const config::Repository& repository, asio::thread_pool& pool,
                                const std::filesystem::path& state_dir, const HostKeyTrust& trust = {});

// Test-only: OFFSITE_TEST_SSH_TIMEOUT_MS shortens how long an SSH socket wait may stall.
std::chrono::milliseconds ssh_io_timeout_from_environment();

// Test-only: OFFSITE_TEST_BACKOFF_MS shortens the retry backoff so fault tests run in seconds.
std::chrono::milliseconds base_backoff_from_environment();

} // namespace offsite::target
