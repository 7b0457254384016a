#pragma once
// Blocking work (file reads, hashing, fsync) runs on one small thread pool; the coroutine that
// awaits it resumes on the event loop's thread. Pool work is not cancelled through Asio's slots
// (Asio 1.22.1 may run the signal on the wrong thread): pass a std::stop_token instead.

#include <optional>
#include <type_traits>
#include <utility>

#include <asio/awaitable.hpp>
#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>

namespace offsite {

template <class F, class R = std::invoke_result_t<F&>> asio::awaitable<R> offload(asio::thread_pool& pool, F work) {
  if constexpr (std::is_void_v<R>) {
    // A named coroutine lambda, not a temporary in the co_await expression (GCC 12 double-free).
    auto task = [work = std::move(work)]() mutable -> asio::awaitable<void> {
      work();
      co_return;
    };
    // An empty slot: the awaiting coroutine's cancellation must not reach the pool's thread
    // (Asio 1.22.1 would run it there); the awaiter notices a stop at its next suspension.
    co_await asio::co_spawn(pool, std::move(task),
                            asio::bind_cancellation_slot(asio::cancellation_slot(), asio::use_awaitable));
  } else {
    // co_spawn needs a default-constructible result; Result<T> of a move-only T is not one.
    auto task = [work = std::move(work)]() mutable -> asio::awaitable<std::optional<R>> {
      co_return std::optional<R>(work());
    };
    auto result = co_await asio::co_spawn(pool, std::move(task),
                                          asio::bind_cancellation_slot(asio::cancellation_slot(), asio::use_awaitable));
    co_return std::move(*result);
  }
}

} // namespace offsite
