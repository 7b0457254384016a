#pragma once
// The SFTP target's connections: one SSH session per operation in flight (libssh2 1.10 runs one
// SFTP call at a time per session, tech-notes §3.2), opened on demand, reused across files and
// kept up to `keep_idle` when idle. A session that broke is never returned: the next operation
// opens a fresh one.
//
// Keepalives: while any session is lent out (a sync is running), a timer sends SSH keepalives on
// the idle ones, so a firewall does not drop them while the sync waits for backups or hashes a
// large file. The timer stops when the last session comes back, so a finished command's event
// loop has nothing left to wait for.

#include <cstddef>
#include <memory>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>

#include "net/ssh_session.hpp"
#include "util/error.hpp"

namespace offsite::target {

class SessionPool;

// A session on loan; going out of scope returns it (or drops it, if it broke).
class SessionLease {
public:
  SessionLease(std::shared_ptr<SessionPool> pool, std::unique_ptr<net::SshSession> session, bool reused);
  SessionLease(SessionLease&&) noexcept = default;
  SessionLease& operator=(SessionLease&&) noexcept = default;
  ~SessionLease();

  net::SshSession& operator*() const { return *m_session; }
  net::SshSession* operator->() const { return m_session.get(); }
  // Taken from the idle list (it may have died while idle), not opened for this loan.
  bool reused() const { return m_reused; }

private:
  std::shared_ptr<SessionPool> m_pool;
  std::unique_ptr<net::SshSession> m_session;
  bool m_reused = false;
};

class SessionPool final : public std::enable_shared_from_this<SessionPool> {
public:
  SessionPool(std::shared_ptr<const net::SshOptions> options, asio::any_io_executor executor, std::size_t keep_idle);

  // An idle session, or a new one (its open() errors are returned as they are).
  asio::awaitable<Result<SessionLease>> acquire();

  const net::SshOptions& options() const { return *m_options; }

private:
  friend class SessionLease;
  void give_back(std::unique_ptr<net::SshSession> session);
  void start_keeper();
  asio::awaitable<void> keep_idle_sessions_alive();

  std::shared_ptr<const net::SshOptions> m_options;
  asio::any_io_executor m_executor;
  std::size_t m_keep_idle;
  std::vector<std::unique_ptr<net::SshSession>> m_idle;
  std::size_t m_lent = 0;
  bool m_keeper_running = false;
  asio::steady_timer m_keeper_timer;
};

} // namespace offsite::target
