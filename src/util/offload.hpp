#pragma once
// Blocking work (file reads, hashing, fsync) runs on one small thread pool; the coroutine that
// awaits it resumes on the event loop's thread. Pool work is not cancelled through Asio's slots
// (Asio 1.22.1 may run the signal on the wrong thread): pass a std::stop_token instead.

#include <type_traits>
#include <utility>

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>

namespace offsite {

template <class F, class R = std::invoke_result_t<F&>> asio::awaitable<R> offload(asio::thread_pool& pool, F work) {
  // A named coroutine lambda, not a temporary in the co_await expression (GCC 12 double-free).
  auto task = [work = std::move(work)]() mutable -> asio::awaitable<R> { co_return work(); };
  co_return co_await asio::co_spawn(pool, std::move(task), asio::use_awaitable);
}

} // namespace offsite
