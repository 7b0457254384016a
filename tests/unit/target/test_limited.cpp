#include "target/limited.hpp"

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <boost/test/unit_test.hpp>
#include <chrono>

#include "support/memory_target.hpp"
#include "support/run_coro.hpp"
#include "target/async_semaphore.hpp"
#include "target/token_bucket.hpp"

using namespace offsite;
using namespace offsite::target;
using namespace std::chrono_literals;
using offsite::test::MemoryStore;
using offsite::test::MemoryTarget;

namespace {

// An in-memory target whose uploads take `parts` parts at once, as S3's do.
class PartsMemoryTarget final : public MemoryTarget {
public:
  PartsMemoryTarget(std::shared_ptr<MemoryStore> store, int parts) : MemoryTarget(std::move(store)), m_parts(parts) {}

  asio::awaitable<Result<std::unique_ptr<Upload>>> start_upload(std::string path, UploadOptions options) override {
    auto started = co_await MemoryTarget::start_upload(std::move(path), options);
    if (!started) co_return started;
    co_return std::unique_ptr<Upload>(std::make_unique<Parts>(std::move(*started), m_parts));
  }

private:
  class Parts final : public Upload {
  public:
    Parts(std::unique_ptr<Upload> inner, int parts) : m_inner(std::move(inner)), m_parts(parts) {}
    asio::awaitable<Result<void>> write(std::span<const std::byte> bytes) override {
      co_return co_await m_inner->write(bytes);
    }
    asio::awaitable<Result<std::uint64_t>> finish() override { co_return co_await m_inner->finish(); }
    asio::awaitable<Result<void>> abort() override { co_return co_await m_inner->abort(); }
    std::string resume_token() const override { return m_inner->resume_token(); }
    int max_parallel_writes(std::uint64_t) const override { return m_parts; }

  private:
    std::unique_ptr<Upload> m_inner;
    int m_parts;
  };
  int m_parts;
};

// How many parts at once an upload through `target` takes.
int parts_in_flight(Target& target) {
  auto probe = [&]() -> asio::awaitable<int> {
    auto connected = co_await target.connect();
    BOOST_TEST_REQUIRE(connected.has_value());
    std::string path = "f"; // no temporaries in a co_await expression (GCC 12)
    UploadOptions options;
    auto started = co_await target.start_upload(std::move(path), options);
    BOOST_TEST_REQUIRE(started.has_value());
    int parts = (*started)->max_parallel_writes(8 << 20);
    co_await (*started)->abort();
    co_return parts;
  };
  return test::run_coro(probe);
}

} // namespace

BOOST_AUTO_TEST_SUITE(target_limited)

BOOST_AUTO_TEST_CASE(semaphore_admits_at_most_n) {
  asio::io_context io;
  AsyncSemaphore slots(3);
  int running = 0, most = 0, finished = 0;
  auto worker = [&]() -> asio::awaitable<void> {
    auto permit = co_await slots.acquire();
    BOOST_TEST_REQUIRE(permit.has_value());
    most = std::max(most, ++running);
    asio::steady_timer pause(io, 2ms);
    co_await pause.async_wait(asio::use_awaitable);
    --running;
    ++finished;
  };
  for (int i = 0; i < 10; ++i)
    asio::co_spawn(io, worker, [](std::exception_ptr error) {
      if (error) std::rethrow_exception(error);
    });
  io.run();
  BOOST_TEST(finished == 10);
  BOOST_TEST(most == 3);
  BOOST_TEST(slots.in_use() == 0u);
}

BOOST_AUTO_TEST_CASE(a_cancelled_wait_leaves_the_queue) {
  asio::io_context io;
  AsyncSemaphore slots(1);
  asio::cancellation_signal signal;
  std::optional<Result<AsyncSemaphore::Permit>> waited;
  auto body = [&]() -> asio::awaitable<void> {
    auto held = co_await slots.acquire();
    BOOST_TEST_REQUIRE(held.has_value());
    auto waiter = [&]() -> asio::awaitable<void> {
      auto permit = co_await slots.acquire();
      waited.emplace(std::move(permit));
    };
    asio::co_spawn(io, waiter, asio::bind_cancellation_slot(signal.slot(), [](std::exception_ptr) {}));
    asio::steady_timer pause(io, 5ms);
    co_await pause.async_wait(asio::use_awaitable);
    BOOST_TEST(slots.waiting() == 1u);
    signal.emit(asio::cancellation_type::terminal);
    co_await pause.async_wait(asio::experimental::as_tuple(asio::use_awaitable)); // let it run
    BOOST_TEST(slots.waiting() == 0u);
    BOOST_TEST_REQUIRE(waited.has_value());
    BOOST_TEST(!waited->has_value());
    BOOST_TEST(waited->error().kind == ErrorKind::cancelled);
    held->reset();
    auto again = co_await slots.acquire();
    BOOST_TEST(again.has_value());
  };
  test::run_coro(io, body);
}

BOOST_AUTO_TEST_CASE(limited_target_keeps_operations_under_the_limit) {
  auto store = std::make_shared<MemoryStore>();
  store->put_file("x", "content");
  LimitedTarget target(std::make_unique<MemoryTarget>(store), 2, 0);
  asio::io_context io;
  std::size_t most = 0, most_waiting = 0;
  int done = 0;
  auto one = [&]() -> asio::awaitable<void> {
    auto entry = co_await target.stat("x");
    BOOST_TEST(entry.has_value());
    ++done;
  };
  auto watch = [&]() -> asio::awaitable<void> {
    while (done < 8) {
      most = std::max(most, target.slots().in_use());
      most_waiting = std::max(most_waiting, target.slots().waiting());
      co_await asio::post(io, asio::use_awaitable);
    }
  };
  for (int i = 0; i < 8; ++i)
    asio::co_spawn(io, one, [](std::exception_ptr error) {
      if (error) std::rethrow_exception(error);
    });
  test::run_coro(io, watch);
  BOOST_TEST(done == 8);
  BOOST_TEST(most == 2u);
  BOOST_TEST(most_waiting > 0u);
  BOOST_TEST(target.capabilities().max_connections == 2);
}

BOOST_AUTO_TEST_CASE(zero_concurrency_takes_the_targets_own_limit) {
  auto store = std::make_shared<MemoryStore>();
  LimitedTarget target(std::make_unique<MemoryTarget>(store), 0, 0);
  auto connect = [&]() -> asio::awaitable<Result<void>> { co_return co_await target.connect(); };
  BOOST_TEST(test::run_coro(connect).has_value());
  BOOST_TEST(target.slots().permits() == 4u); // MemoryOptions' default max_connections
}

// The bucket's arithmetic on a simulated clock: a sender that always waits as told.
BOOST_AUTO_TEST_CASE(token_bucket_holds_the_average_within_5_percent_over_30s) {
  for (std::uint64_t rate : {20ull << 20, 1ull << 20, 100ull << 10}) {
    TokenBucket::Clock::time_point now{};
    TokenBucket bucket(rate, rate / 10, [&] { return now; });
    std::uint64_t sent = 0;
    const std::uint64_t slice = std::max<std::uint64_t>(rate / 20, 16 << 10);
    while (now < TokenBucket::Clock::time_point(30s)) {
      now += bucket.reserve(slice);
      if (now > TokenBucket::Clock::time_point(30s)) break;
      sent += slice;
      now += 100us; // the write itself takes a little time
    }
    double average = static_cast<double>(sent) / 30.0;
    BOOST_TEST(average <= rate * 1.05);
    BOOST_TEST(average >= rate * 0.95);
  }
}

BOOST_AUTO_TEST_CASE(token_bucket_saves_up_no_more_than_its_burst) {
  TokenBucket::Clock::time_point now{};
  const std::uint64_t rate = 1 << 20;
  TokenBucket bucket(rate, rate / 10, [&] { return now; });
  now += 60s; // idle for a minute
  std::uint64_t sent = 0;
  auto start = now;
  while (now - start < 1s) {
    now += bucket.reserve(64 << 10);
    if (now - start >= 1s) break;
    sent += 64 << 10;
  }
  BOOST_TEST(sent <= rate + rate / 10 + (64 << 10));
  TokenBucket unlimited(0, 0, [&] { return now; });
  BOOST_TEST(unlimited.reserve(1ull << 40).count() == 0);
}

BOOST_AUTO_TEST_CASE(limited_uploads_are_paced) {
  auto store = std::make_shared<MemoryStore>();
  const std::uint64_t rate = 4 << 20;
  LimitedTarget target(std::make_unique<MemoryTarget>(store), 4, rate);
  std::string chunk(2 << 20, 'x');
  auto upload = [&]() -> asio::awaitable<Result<std::uint64_t>> {
    auto options = UploadOptions{};
    auto started = co_await target.start_upload("f", options);
    BOOST_TEST_REQUIRE(started.has_value());
    auto written = co_await (*started)->write(std::as_bytes(std::span(chunk.data(), chunk.size())));
    BOOST_TEST_REQUIRE(written.has_value());
    co_return co_await (*started)->finish();
  };
  auto started = std::chrono::steady_clock::now();
  auto size = test::run_coro(upload);
  auto elapsed = std::chrono::steady_clock::now() - started;
  BOOST_TEST_REQUIRE(size.has_value());
  BOOST_TEST(*size == chunk.size());
  // 2 MiB at 4 MiB/s with 0.4 MiB saved up: about 0.4 s.
  BOOST_TEST((elapsed >= 300ms));
  BOOST_TEST((elapsed < 1500ms));
  BOOST_TEST(store->file("f")->size() == chunk.size());
}

// A bandwidth limit slices writes into pieces that are no whole part: one part at a time then.
// Without one, the inner session's answer passes through.
BOOST_AUTO_TEST_CASE(a_bandwidth_limit_turns_parallel_parts_off) {
  auto store = std::make_shared<MemoryStore>();
  LimitedTarget unlimited(std::make_unique<PartsMemoryTarget>(store, 4), 4, 0);
  BOOST_TEST(parts_in_flight(unlimited) == 4);
  LimitedTarget limited(std::make_unique<PartsMemoryTarget>(store, 4), 4, 1 << 20);
  BOOST_TEST(parts_in_flight(limited) == 1);
}

BOOST_AUTO_TEST_SUITE_END()
