#include "target/async_semaphore.hpp"

#include <algorithm>

#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>

#include "target/target.hpp"

namespace offsite::target {

struct AsyncSemaphore::Waiter {
  asio::steady_timer timer;
  bool granted = false;
};

AsyncSemaphore::Permit& AsyncSemaphore::Permit::operator=(Permit&& other) noexcept {
  if (this != &other) {
    reset();
    m_owner = other.m_owner;
    other.m_owner = nullptr;
  }
  return *this;
}

void AsyncSemaphore::Permit::reset() {
  if (m_owner) m_owner->release();
  m_owner = nullptr;
}

AsyncSemaphore::AsyncSemaphore(std::size_t permits) : m_permits(std::max<std::size_t>(permits, 1)) {}

asio::awaitable<Result<AsyncSemaphore::Permit>> AsyncSemaphore::acquire() {
  if (m_waiters.empty() && m_in_use < m_permits) {
    ++m_in_use;
    co_return Permit(this);
  }
  auto executor = co_await asio::this_coro::executor;
  Waiter waiter{asio::steady_timer(executor, asio::steady_timer::time_point::max())};
  auto position = m_waiters.insert(m_waiters.end(), &waiter);
  // Leaves the queue however this frame ends (cancelled, or destroyed with its io_context).
  struct Dequeue {
    std::list<Waiter*>& waiters;
    std::list<Waiter*>::iterator position;
    Waiter& waiter;
    ~Dequeue() {
      if (!waiter.granted) waiters.erase(position);
    }
  } dequeue{m_waiters, position, waiter};
  [[maybe_unused]] auto [ec] = co_await waiter.timer.async_wait(use_nothrow);
  if (waiter.granted) co_return Permit(this); // release() counted it for us
  co_return make_error(ErrorKind::cancelled, "cancelled while waiting for a connection slot");
}

std::optional<AsyncSemaphore::Permit> AsyncSemaphore::try_acquire() {
  if (!m_waiters.empty() || m_in_use >= m_permits) return std::nullopt;
  ++m_in_use;
  return Permit(this);
}

void AsyncSemaphore::release() {
  --m_in_use;
  wake_waiters();
}

void AsyncSemaphore::set_permits(std::size_t permits) {
  m_permits = std::max<std::size_t>(permits, 1);
  wake_waiters();
}

void AsyncSemaphore::wake_waiters() {
  while (!m_waiters.empty() && m_in_use < m_permits) {
    Waiter* next = m_waiters.front();
    m_waiters.pop_front();
    next->granted = true;
    ++m_in_use;
    next->timer.cancel();
  }
}

} // namespace offsite::target
