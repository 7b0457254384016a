#pragma once
// A counting semaphore for coroutines on one io_context: acquire() suspends without blocking the
// thread and honours per-operation cancellation (a cancelled waiter leaves the queue and gets
// ErrorKind::cancelled). Waiters are served first come, first served. Not thread-safe: one loop.
//
// Each waiter parks on its own steady_timer set to expire never; release() hands the permit over
// by marking the waiter granted and cancelling its timer, so "woken" and "cancelled" are told
// apart by the flag, not by the error code.

#include <cstddef>
#include <list>
#include <optional>

#include <asio/awaitable.hpp>

#include "util/error.hpp"

namespace offsite::target {

class AsyncSemaphore final {
public:
  // Releases its permit when destroyed; must not outlive the semaphore.
  class Permit final {
  public:
    Permit() = default;
    explicit Permit(AsyncSemaphore* owner) : m_owner(owner) {}
    Permit(Permit&& other) noexcept : m_owner(other.m_owner) { other.m_owner = nullptr; }
    Permit& operator=(Permit&& other) noexcept;
    Permit(const Permit&) = delete;
    Permit& operator=(const Permit&) = delete;
    ~Permit() { reset(); }
    void reset();

  private:
    AsyncSemaphore* m_owner = nullptr;
  };

  explicit AsyncSemaphore(std::size_t permits);
  AsyncSemaphore(const AsyncSemaphore&) = delete;
  AsyncSemaphore& operator=(const AsyncSemaphore&) = delete;

  // A permit, at once if one is free and nobody waits, else when one is released.
  asio::awaitable<Result<Permit>> acquire();

  // A permit if one is free and nobody waits for one; never suspends.
  std::optional<Permit> try_acquire();

  // Changes the number of permits (at least 1); waiters are served if permits were added.
  void set_permits(std::size_t permits);
  std::size_t permits() const { return m_permits; }
  std::size_t in_use() const { return m_in_use; }
  std::size_t waiting() const { return m_waiters.size(); }

private:
  struct Waiter;
  void release();
  void wake_waiters();

  std::size_t m_permits;
  std::size_t m_in_use = 0;
  std::list<Waiter*> m_waiters;
};

} // namespace offsite::target
