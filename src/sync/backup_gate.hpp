#pragma once
// Coordination with backups through two flock(2) locks in <repository>/.offsite/ (BRIEF §6),
// always taken in this order: a backup takes gate.lock shared, then active.lock shared, then
// releases gate.lock and holds active.lock for its whole run. A sync holds gate.lock exclusive
// (no new backup starts), then waits for active.lock exclusive (running backups end), and
// releases both once it has read the last local byte it needs.

#include <chrono>
#include <filesystem>
#include <optional>

#include <asio/awaitable.hpp>

#include "util/error.hpp"
#include "util/file_lock.hpp"

namespace offsite::sync {

class BackupGate {
public:
  explicit BackupGate(std::filesystem::path repository_root) : m_root(std::move(repository_root)) {}

  // Stops new backups and waits for running ones (cancellable; the caller bounds it by the
  // window's end). With `allow_backups_during_sync`, waits for running backups, then lets new ones
  // start again at once.
  // With a `deadline` (the window's end), gives up then with ErrorKind::cancelled.
  asio::awaitable<Result<void>> close(bool allow_backups_during_sync,
                                      std::optional<std::chrono::system_clock::time_point> deadline = std::nullopt);
  // Lets backups run again. Idempotent.
  void open();

  static std::filesystem::path gate_path(const std::filesystem::path& root) { return root / ".offsite" / "gate.lock"; }
  static std::filesystem::path active_path(const std::filesystem::path& root) {
    return root / ".offsite" / "active.lock";
  }

private:
  std::filesystem::path m_root;
  std::optional<FileLock> m_gate;
  std::optional<FileLock> m_active;
};

} // namespace offsite::sync
