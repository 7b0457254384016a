#include "util/file_lock.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include <utility>

#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <fmt/format.h>

namespace offsite {

Result<FileLock> FileLock::open(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return Unexpected(error_from_errno(errno, fmt::format("cannot open lock file {}", path.string())));
  return FileLock(fd, path);
}

FileLock::FileLock(FileLock&& other) noexcept
    : m_fd(std::exchange(other.m_fd, -1)), m_held(std::exchange(other.m_held, false)), m_path(std::move(other.m_path)) {
}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  std::swap(m_fd, other.m_fd);
  std::swap(m_held, other.m_held);
  std::swap(m_path, other.m_path);
  return *this;
}

FileLock::~FileLock() {
  if (m_fd >= 0) ::close(m_fd); // closing releases the lock
}

Result<bool> FileLock::try_lock(LockMode mode) {
  int operation = (mode == LockMode::exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB;
  while (::flock(m_fd, operation) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) return false;
    return Unexpected(error_from_errno(errno, fmt::format("cannot lock {}", m_path.string())));
  }
  m_held = true;
  return true;
}

asio::awaitable<Result<void>> FileLock::lock(LockMode mode, std::chrono::milliseconds interval,
                                             std::optional<std::chrono::system_clock::time_point> deadline) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    auto taken = try_lock(mode);
    if (!taken) co_return Unexpected(std::move(taken).error());
    if (*taken) co_return Result<void>{};
    if (deadline && std::chrono::system_clock::now() >= *deadline)
      co_return make_error(ErrorKind::cancelled, fmt::format("gave up waiting for {}", m_path.string()));
    timer.expires_after(interval);
    co_await timer.async_wait(asio::use_awaitable); // throws operation_aborted when cancelled
  }
}

void FileLock::unlock() {
  if (m_held) ::flock(m_fd, LOCK_UN);
  m_held = false;
}

} // namespace offsite
