#pragma once
// One sync of one repository, as named steps (docs/sync.md): lock, connect, claim or check the
// remote ID, lease, recover, take the repository, plan, upload, commit, apply, clean, result.

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <asio/awaitable.hpp>
#include <asio/thread_pool.hpp>

#include "config/config.hpp"
#include "sync/progress.hpp"
#include "sync/result.hpp"
#include "util/error.hpp"
#include "util/stopper.hpp"

namespace offsite::target {
class Target;
class RetryPolicy;
} // namespace offsite::target

namespace offsite::sync {

struct SyncRequest {
  bool take_over = false;         // reinitialize: write this repository's ID over the remote's
  bool allow_mass_change = false; // lift the guards of BRIEF §3 for this run
  bool dry_run = false;           // plan only: no lease, no claim, no recovery, nothing written
  // The window's end: a sync that cannot take the repository (running backups) by then is
  // abandoned (BRIEF §1 step 2). None for Run Now, which waits as long as it takes.
  std::optional<std::chrono::system_clock::time_point> start_by = std::nullopt;
  // Folders that finish while a record is being written share the next record (transfer.hpp).
  // Off only in tests that enumerate every crash point of a run and need the same sequence of
  // records each time.
  bool group_commits = true;
  // Uploads wait while this many files of finished folders wait for their commit; 0 for the
  // default (transfer.hpp, k_max_files_awaiting_commit). Set only by tests.
  std::size_t files_awaiting_commit_limit = 0;
};

struct SyncContext {
  target::Target& target;
  asio::thread_pool& pool;
  Stopper& stopper; // SIGTERM, SIGINT, the window's end
  SyncProgress& progress;
  // The retrying decorator's policy, shared so resumed uploads spend the same outage budget.
  std::shared_ptr<target::RetryPolicy> retry_policy;
  std::string process = "offsite sync"; // named in the remote lease
};

// Never throws for failures of the sync: every outcome, including cancellation, is a result.
asio::awaitable<SyncResult> run_sync(SyncContext context, const config::Repository& repository,
                                     const config::Service& service, SyncRequest request);

} // namespace offsite::sync
