#pragma once
// One stop request reaching many coroutines: SIGTERM, SIGINT or the window's end asks a sync to
// stop; every worker spawned with a slot from here is cancelled at its next suspension point,
// and code between steps polls requested(). Single-threaded: use on the event loop only.

#include <list>
#include <string>
#include <system_error>
#include <utility>

#include <asio/awaitable.hpp>
#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/cancellation_type.hpp>
#include <asio/co_spawn.hpp>
#include <asio/error.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "util/error.hpp"

namespace offsite {

class Stopper {
public:
  bool requested() const { return m_requested; }

  void request(asio::cancellation_type type = asio::cancellation_type::terminal) {
    m_requested = true;
    for (auto& signal : m_signals)
      signal.emit(type);
  }

  // A slot cancelled by request(); the signal lives as long as this Stopper.
  asio::cancellation_slot new_slot() { return m_signals.emplace_back().slot(); }

private:
  bool m_requested = false;
  std::list<asio::cancellation_signal> m_signals;
};

// Runs the awaitable `make()` returns (an asio::awaitable<Result<T>>) so that a stop request
// cancels it at its next suspension point; a cancellation becomes ErrorKind::cancelled with
// `stopped` (a string literal) as its message. `make` is taken by reference and moved from: keep it a named local
// (a capturing temporary in a co_await expression is destroyed twice by GCC 12).
template <class Make>
auto run_stoppable(Stopper& stopper, Make&& make, const char* stopped = "stopped") -> decltype(make()) {
  using Value = typename decltype(make())::value_type;
  if (stopper.requested()) co_return Value(make_error(ErrorKind::cancelled, stopped));
  auto executor = co_await asio::this_coro::executor;
  try {
    co_return co_await asio::co_spawn(executor, std::move(make),
                                      asio::bind_cancellation_slot(stopper.new_slot(), asio::use_awaitable));
  } catch (const std::system_error& e) {
    if (e.code() != asio::error::operation_aborted) throw;
  }
  co_return Value(make_error(ErrorKind::cancelled, stopped));
}

} // namespace offsite
