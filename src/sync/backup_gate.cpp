#include "sync/backup_gate.hpp"

#include "util/fs.hpp"

namespace offsite::sync {

asio::awaitable<Result<void>> BackupGate::close(bool allow_backups_during_sync,
                                                std::optional<std::chrono::system_clock::time_point> deadline) {
  if (auto made = fs::create_directories(m_root / ".offsite", 0750); !made) co_return made;
  auto gate = FileLock::open(gate_path(m_root));
  if (!gate) co_return Unexpected(std::move(gate).error());
  auto active = FileLock::open(active_path(m_root));
  if (!active) co_return Unexpected(std::move(active).error());
  m_gate.emplace(std::move(*gate));
  m_active.emplace(std::move(*active));
  const auto interval = std::chrono::milliseconds(200);
  if (auto locked = co_await m_gate->lock(LockMode::exclusive, interval, deadline); !locked) co_return locked;
  if (auto locked = co_await m_active->lock(LockMode::exclusive, interval, deadline); !locked) {
    open(); // backups must not stay held off by a sync that will not run
    co_return locked;
  }
  if (allow_backups_during_sync) open(); // running backups ended; new ones may start
  co_return Result<void>{};
}

void BackupGate::open() {
  // Reverse order of taking: active first would let a backup slip between the two.
  if (m_active) m_active->unlock();
  if (m_gate) m_gate->unlock();
}

} // namespace offsite::sync
