#pragma once
// Runs a coroutine to completion inside a test: co_spawn on an io_context, run it until every
// spawned piece of work is done (offloaded pool work included), rethrow what escaped (a failed
// BOOST_REQUIRE too) and return the coroutine's value. The coroutine runs on the test's thread,
// so Boost.Test assertions work inside it.
//
//   auto entry = test::run_coro([&]() -> asio::awaitable<Result<RemoteEntry>> { co_return co_await t.stat("x"); });
//
// Pass the coroutine *callable* (never the result of calling a capturing coroutine lambda: its
// closure would die at the `;` while the coroutine still runs).

#include <exception>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>

namespace offsite::test {

template <class Make>
auto run_coro(asio::io_context& io, Make make) -> typename std::invoke_result_t<Make&>::value_type {
  using Value = typename std::invoke_result_t<Make&>::value_type;
  std::exception_ptr failure;
  bool done = false;
  if constexpr (std::is_void_v<Value>) {
    asio::co_spawn(io, std::move(make), [&](std::exception_ptr error) {
      failure = error;
      done = true;
    });
    io.restart();
    io.run();
    if (failure) std::rethrow_exception(failure);
    if (!done) throw std::logic_error("run_coro: the coroutine never completed");
  } else {
    std::optional<Value> value;
    asio::co_spawn(io, std::move(make), [&](std::exception_ptr error, Value result) {
      failure = error;
      if (!error) value.emplace(std::move(result));
      done = true;
    });
    io.restart();
    io.run();
    if (failure) std::rethrow_exception(failure);
    if (!done || !value) throw std::logic_error("run_coro: the coroutine never completed");
    return std::move(*value);
  }
}

template <class Make> auto run_coro(Make make) -> typename std::invoke_result_t<Make&>::value_type {
  asio::io_context io;
  return run_coro(io, std::move(make));
}

} // namespace offsite::test
