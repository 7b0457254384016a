#pragma once
// A coroutine that runs beside the one that started it (lease renewal, progress reporting) and is
// stopped by it. The cancellation signal lives in state shared with the task's completion
// handler, so it outlives the task however the two end (a signal destroyed before its task's
// last handler ran is a use-after-free in Asio 1.22). stop() cancels and waits for the end.

#include <exception>
#include <memory>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

namespace offsite {

class BackgroundTask {
public:
  BackgroundTask() = default;
  BackgroundTask(const BackgroundTask&) = delete;
  BackgroundTask& operator=(const BackgroundTask&) = delete;
  ~BackgroundTask() {
    if (m_state && !m_state->done) m_state->signal.emit(asio::cancellation_type::terminal);
  }

  // `make` returns the awaitable<void> to run (a callable, never an awaitable already made).
  template <class Make> void start(asio::any_io_executor executor, Make make) {
    m_state = std::make_shared<State>(executor);
    auto on_end = [state = m_state](std::exception_ptr) {
      state->done = true;
      state->wakeup.cancel();
    };
    asio::co_spawn(executor, std::move(make), asio::bind_cancellation_slot(m_state->signal.slot(), std::move(on_end)));
  }

  // Waits until the task has ended by itself.
  asio::awaitable<void> wait() {
    if (!m_state) co_return;
    auto state = m_state;
    while (!state->done) {
      state->wakeup.expires_at(asio::steady_timer::time_point::max());
      co_await state->wakeup.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    }
  }

  bool running() const { return m_state && !m_state->done; }

  // Cancels the task and waits until it has ended. Idempotent.
  asio::awaitable<void> stop() {
    if (!m_state) co_return;
    auto state = m_state;
    if (!state->done) state->signal.emit(asio::cancellation_type::terminal);
    while (!state->done) {
      state->wakeup.expires_at(asio::steady_timer::time_point::max());
      co_await state->wakeup.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    }
  }

private:
  struct State {
    explicit State(asio::any_io_executor executor) : wakeup(executor) {}
    asio::cancellation_signal signal;
    asio::steady_timer wakeup;
    bool done = false;
  };
  std::shared_ptr<State> m_state;
};

} // namespace offsite
