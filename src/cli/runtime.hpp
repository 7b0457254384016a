#pragma once
// The event loop a foreground command runs on: one io_context on this thread, a small pool for
// blocking work, and SIGINT/SIGTERM turned into a stop request (BRIEF §2: SIGINT exits 130,
// SIGTERM 4, the remote consistent either way).

#include <csignal>
#include <exception>
#include <functional>
#include <optional>

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/thread_pool.hpp>

#include "util/stopper.hpp"

namespace offsite::cli {

class Runtime {
public:
  Runtime() : m_pool(4), m_signals(m_io, SIGINT, SIGTERM) {}

  asio::io_context& io() { return m_io; }
  asio::thread_pool& pool() { return m_pool; }
  Stopper& stopper() { return m_stopper; }
  int signal_received() const { return m_signal; }

  // Runs the coroutine `make()` returns to completion; a stop signal requests a stop; an
  // exception escaping it is rethrown here.
  template <class T, class Make> T run(Make make) {
    m_signals.async_wait([this](const asio::error_code& error, int signal) {
      if (error) return;
      m_signal = signal;
      m_stopper.request();
    });
    std::optional<T> value;
    std::exception_ptr failure;
    asio::co_spawn(m_io, std::move(make), [&](std::exception_ptr e, T result) {
      failure = e;
      if (!e) value.emplace(std::move(result));
      m_signals.cancel();
    });
    m_io.run();
    m_pool.join();
    if (failure) std::rethrow_exception(failure);
    return std::move(*value);
  }

private:
  asio::io_context m_io;
  asio::thread_pool m_pool;
  asio::signal_set m_signals;
  Stopper m_stopper;
  int m_signal = 0;
};

} // namespace offsite::cli
