#pragma once
// Advisory whole-file locks (flock(2) on POSIX; LockFileEx in a later Windows build): the
// per-repository sync lock in state_dir and the backup coordination locks of BRIEF §6.
// Waiting never blocks the event loop: it polls with a timer, so it honours Asio cancellation.

#include <chrono>
#include <filesystem>
#include <optional>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>

#include "util/error.hpp"

namespace offsite {

enum class LockMode { shared, exclusive };

class FileLock {
public:
  // Opens (creating, 0640) the lock file; takes no lock yet.
  static Result<FileLock> open(const std::filesystem::path& path);

  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

  // True if taken; false if someone holds a conflicting lock. Errors name the file.
  Result<bool> try_lock(LockMode mode);
  // Waits (polling every `interval`) until the lock is taken; cancellable. With a `deadline`,
  // gives up then with ErrorKind::cancelled.
  asio::awaitable<Result<void>> lock(LockMode mode, std::chrono::milliseconds interval = std::chrono::milliseconds(200),
                                     std::optional<std::chrono::system_clock::time_point> deadline = std::nullopt);
  void unlock();
  bool held() const { return m_held; }
  // The descriptor, to hand the lock to a child process (offsite backup -- CMD).
  int native_handle() const { return m_fd; }
  const std::filesystem::path& path() const { return m_path; }

private:
  FileLock(int fd, std::filesystem::path path) : m_fd(fd), m_path(std::move(path)) {}
  int m_fd = -1;
  bool m_held = false;
  std::filesystem::path m_path;
};

} // namespace offsite
