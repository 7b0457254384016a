#include "cli/commands.hpp"

#include <cerrno>

#include <fmt/format.h>

#include "cli/context.hpp"
#include "sync/backup_gate.hpp"
#include "util/file_lock.hpp"
#include "util/fs.hpp"
#include "util/process.hpp"

namespace offsite::cli {
namespace {

// timeout(1)'s conventions for the wrapper's own failures (BRIEF §2).
constexpr int k_backup_failed = 125;
constexpr int k_cannot_run = 126;
constexpr int k_not_found = 127;
constexpr int k_sync_holds_repository = 75; // EX_TEMPFAIL: --no-wait found a sync

} // namespace

// A backup holds active.lock shared for its whole run, taking gate.lock shared only to start:
// a sync that holds the gate keeps new backups from starting, and waits for running ones. The
// command inherits the lock's descriptor, so it holds the lock itself: killing this wrapper
// does not free the repository mid-backup.
int cmd_backup(const GlobalOptions& global, const BackupOptions& options) {
  auto config = load_config_or_report(global);
  if (!config) return k_backup_failed;
  const auto* repository = find_repository_or_report(*config, options.name);
  if (!repository) return k_backup_failed;
  auto root = repository->path;
  if (auto made = fs::create_directories(root / ".offsite", 0750); !made) {
    fmt::print(stderr, "offsite: {}\n", made.error().message);
    return k_backup_failed;
  }
  auto gate = FileLock::open(sync::BackupGate::gate_path(root));
  auto active = FileLock::open(sync::BackupGate::active_path(root));
  if (!gate || !active) {
    fmt::print(stderr, "offsite: {}\n", (!gate ? gate.error() : active.error()).message);
    return k_backup_failed;
  }
  auto taken = gate->try_lock(LockMode::shared);
  if (!taken) {
    fmt::print(stderr, "offsite: {}\n", taken.error().message);
    return k_backup_failed;
  }
  if (!*taken) {
    if (options.no_wait) {
      fmt::print(stderr, "offsite: a sync holds {}; not starting the backup (--no-wait)\n", root.string());
      return k_sync_holds_repository;
    }
    fmt::print(stderr, "offsite: waiting for the sync of {} to finish\n", root.string());
    while (!(taken = gate->try_lock(LockMode::shared)).value_or(false)) {
      if (!taken) {
        fmt::print(stderr, "offsite: {}\n", taken.error().message);
        return k_backup_failed;
      }
      ::usleep(200'000);
    }
  }
  // Blocking here is fine: no event loop runs in this command.
  while (!(taken = active->try_lock(LockMode::shared)).value_or(false)) {
    if (!taken) {
      fmt::print(stderr, "offsite: {}\n", taken.error().message);
      return k_backup_failed;
    }
    ::usleep(200'000);
  }
  gate->unlock();
  int status = run_foreground(options.command, active->native_handle());
  if (status == -ENOENT) {
    fmt::print(stderr, "offsite: {}: command not found\n", options.command.front());
    return k_not_found;
  }
  if (status < 0) {
    fmt::print(stderr, "offsite: cannot run {}\n", options.command.front());
    return k_cannot_run;
  }
  return status;
}

} // namespace offsite::cli
