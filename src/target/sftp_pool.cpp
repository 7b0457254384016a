#include "target/sftp_pool.hpp"

#include <exception>

#include <asio/co_spawn.hpp>

#include "target/target.hpp"
#include "util/log.hpp"

namespace offsite::target {

SessionLease::SessionLease(std::shared_ptr<SessionPool> pool, std::unique_ptr<net::SshSession> session, bool reused)
    : m_pool(std::move(pool)), m_session(std::move(session)), m_reused(reused) {}

SessionLease::~SessionLease() {
  if (m_pool) m_pool->give_back(std::move(m_session));
}

SessionPool::SessionPool(std::shared_ptr<const net::SshOptions> options, asio::any_io_executor executor,
                         std::size_t keep_idle)
    : m_options(std::move(options)), m_executor(executor), m_keep_idle(std::max<std::size_t>(keep_idle, 1)),
      m_keeper_timer(executor) {}

asio::awaitable<Result<SessionLease>> SessionPool::acquire() {
  while (!m_idle.empty()) {
    auto session = std::move(m_idle.back());
    m_idle.pop_back();
    if (!session->healthy()) continue;
    ++m_lent;
    start_keeper();
    co_return SessionLease(shared_from_this(), std::move(session), true);
  }
  // Counted as lent while it opens, so a keeper already running keeps running.
  ++m_lent;
  auto opened = co_await net::SshSession::open(m_options);
  if (!opened) {
    give_back(nullptr);
    co_return Unexpected(std::move(opened).error());
  }
  start_keeper();
  co_return SessionLease(shared_from_this(), std::move(*opened), false);
}

void SessionPool::give_back(std::unique_ptr<net::SshSession> session) {
  --m_lent;
  if (session && session->healthy() && m_idle.size() < m_keep_idle) {
    session->idle_since = std::chrono::steady_clock::now();
    m_idle.push_back(std::move(session));
  }
  if (m_lent == 0) m_keeper_timer.cancel();
}

void SessionPool::start_keeper() {
  if (m_keeper_running) return;
  m_keeper_running = true;
  auto keeper = [self = shared_from_this()] { return self->keep_idle_sessions_alive(); };
  asio::co_spawn(m_executor, std::move(keeper), [](std::exception_ptr error) {
    if (error) log::warning("sftp.keepalive_failed", {{"error", "unexpected exception"}});
  });
}

asio::awaitable<void> SessionPool::keep_idle_sessions_alive() {
  while (m_lent > 0) {
    m_keeper_timer.expires_after(m_options->keepalive_interval);
    auto [ec] = co_await m_keeper_timer.async_wait(use_nothrow);
    if (ec) continue; // woken early: the loop condition decides
    for (auto& session : m_idle)
      session->keep_alive();
    std::erase_if(m_idle, [](const auto& session) { return !session->healthy(); });
  }
  m_keeper_running = false;
}

} // namespace offsite::target
