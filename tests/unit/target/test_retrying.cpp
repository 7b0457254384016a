#include "target/retrying.hpp"

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/steady_timer.hpp>
#include <boost/test/unit_test.hpp>
#include <chrono>

#include "support/memory_target.hpp"
#include "support/run_coro.hpp"

using namespace offsite;
using namespace offsite::target;
using namespace std::chrono_literals;
using offsite::test::MemoryStore;
using offsite::test::MemoryTarget;
using offsite::test::Op;

namespace {

// Fast timing for tests: nothing here sleeps for seconds.
std::shared_ptr<RetryPolicy> fast_policy(std::chrono::milliseconds budget, std::chrono::milliseconds base = 1ms) {
  RetryOptions options;
  options.budget = budget;
  options.base_delay = base;
  options.max_delay = 20ms;
  return std::make_shared<RetryPolicy>(options);
}

struct RetryFixture {
  std::shared_ptr<MemoryStore> store = std::make_shared<MemoryStore>();
  MemoryTarget* memory = nullptr;
  std::unique_ptr<RetryingTarget> target;

  explicit RetryFixture(std::chrono::milliseconds budget = 5s) {
    store->put_file("x", "content");
    auto inner = std::make_unique<MemoryTarget>(store);
    memory = inner.get();
    target = std::make_unique<RetryingTarget>(std::move(inner), fast_policy(budget));
  }

  Result<RemoteEntry> stat(std::string path) {
    auto call = [&]() -> asio::awaitable<Result<RemoteEntry>> { co_return co_await target->stat(path); };
    return test::run_coro(call);
  }
};

} // namespace

BOOST_AUTO_TEST_SUITE(target_retrying)

BOOST_AUTO_TEST_CASE(transient_failures_are_retried_until_success) {
  RetryFixture fixture;
  fixture.memory->fail_nth(Op::stat, 1, ErrorKind::transient, 3);
  auto entry = fixture.stat("x");
  BOOST_TEST_REQUIRE(entry.has_value());
  BOOST_TEST(entry->size == 7u);
  BOOST_TEST(fixture.memory->count(Op::stat) == 4u);
  BOOST_TEST(!fixture.target->policy()->in_outage());
}

BOOST_AUTO_TEST_CASE(a_spent_budget_gives_a_clear_error_within_the_budget) {
  RetryFixture fixture(200ms);
  fixture.memory->fail_nth(Op::stat, 1, ErrorKind::transient, SIZE_MAX);
  auto started = std::chrono::steady_clock::now();
  auto entry = fixture.stat("x");
  auto elapsed = std::chrono::steady_clock::now() - started;
  BOOST_TEST_REQUIRE(!entry.has_value());
  BOOST_TEST(entry.error().kind == ErrorKind::permanent);
  BOOST_TEST(entry.error().message.rfind("gave up after 200ms of retries: ", 0) == 0u, entry.error().message);
  BOOST_TEST(entry.error().message.find("injected transient failure of stat") != std::string::npos);
  BOOST_TEST((elapsed >= 200ms));
  BOOST_TEST((elapsed < 400ms));
  BOOST_TEST(fixture.memory->count(Op::stat) > 5u);
}

BOOST_AUTO_TEST_CASE(other_kinds_are_not_retried) {
  for (auto kind : {ErrorKind::permanent, ErrorKind::not_found, ErrorKind::already_exists, ErrorKind::cancelled}) {
    RetryFixture fixture;
    fixture.memory->fail_nth(Op::stat, 1, kind);
    auto entry = fixture.stat("x");
    BOOST_TEST_REQUIRE(!entry.has_value());
    BOOST_TEST(entry.error().kind == kind);
    BOOST_TEST(fixture.memory->count(Op::stat) == 1u);
  }
  RetryFixture fixture;
  auto missing = fixture.stat("missing");
  BOOST_TEST(missing.error().kind == ErrorKind::not_found);
  BOOST_TEST(fixture.memory->count(Op::stat) == 1u);
}

BOOST_AUTO_TEST_CASE(the_budget_is_per_outage) {
  auto policy = fast_policy(50ms);
  auto spend = [&]() -> asio::awaitable<Result<void>> {
    RetryAttempts attempts;
    Error down{ErrorKind::transient, "down"}; // named: never a braced temporary beside co_await (g++ 12)
    for (;;) {
      auto waited = co_await policy->wait_before_retry(down, attempts);
      if (!waited) co_return waited;
    }
  };
  auto spent = test::run_coro(spend);
  BOOST_TEST_REQUIRE(!spent.has_value());
  BOOST_TEST(spent.error().message == "gave up after 50ms of retries: down");
  // Still the same outage: a new operation gives up at once.
  auto one_more = [&]() -> asio::awaitable<Result<void>> {
    RetryAttempts attempts;
    Error down{ErrorKind::transient, "down"};
    co_return co_await policy->wait_before_retry(down, attempts);
  };
  BOOST_TEST(!test::run_coro(one_more).has_value());
  // A success ends the outage: the next one gets a full budget again.
  policy->note_success();
  BOOST_TEST(test::run_coro(one_more).has_value());
}

BOOST_AUTO_TEST_CASE(backoff_doubles_up_to_the_cap) {
  RetryOptions options;
  RetryPolicy policy(options);
  BOOST_TEST(policy.backoff(1).count() == 1000);
  BOOST_TEST(policy.backoff(2).count() == 2000);
  BOOST_TEST(policy.backoff(3).count() == 4000);
  BOOST_TEST(policy.backoff(7).count() == 60000);
  BOOST_TEST(policy.backoff(100).count() == 60000);
  BOOST_TEST(format_duration(10min) == "10m");
  BOOST_TEST(format_duration(90s) == "1m30s");
  BOOST_TEST(format_duration(1h) == "1h");
  BOOST_TEST(format_duration(250ms) == "250ms");
}

BOOST_AUTO_TEST_CASE(a_cancelled_backoff_ends_promptly) {
  auto store = std::make_shared<MemoryStore>();
  store->put_file("x", "content");
  asio::io_context io;
  asio::cancellation_signal signal;
  std::optional<Result<RemoteEntry>> outcome;
  bool aborted = false;
  auto inner = std::make_unique<MemoryTarget>(store);
  inner->fail_nth(Op::stat, 1, ErrorKind::transient, SIZE_MAX);
  RetryingTarget target(std::move(inner), fast_policy(10min, 10s));
  auto call = [&]() -> asio::awaitable<Result<RemoteEntry>> { co_return co_await target.stat("x"); };
  asio::co_spawn(io, call,
                 asio::bind_cancellation_slot(signal.slot(), [&](std::exception_ptr error, Result<RemoteEntry> result) {
                   if (error)
                     aborted = true;
                   else
                     outcome = std::move(result);
                 }));
  asio::steady_timer later(io, 20ms);
  later.async_wait([&](std::error_code) { signal.emit(asio::cancellation_type::terminal); });
  auto started = std::chrono::steady_clock::now();
  io.run();
  BOOST_TEST((std::chrono::steady_clock::now() - started < 2s));
  BOOST_TEST((aborted || (outcome && !outcome->has_value() && outcome->error().kind == ErrorKind::cancelled)));
}

BOOST_AUTO_TEST_CASE(downloads_reopen_after_a_transient_read_failure) {
  RetryFixture fixture;
  fixture.memory->fail_nth(Op::download_read, 2, ErrorKind::transient);
  fixture.store->put_file("big", std::string(3000, 'a') + std::string(3000, 'b'));
  auto read_all = [&]() -> asio::awaitable<std::string> {
    auto opened = co_await fixture.target->open_download("big", 0);
    BOOST_TEST_REQUIRE(opened.has_value());
    std::string content;
    std::vector<std::byte> buffer(1000);
    for (;;) {
      auto got = co_await (*opened)->read(buffer);
      BOOST_TEST_REQUIRE(got.has_value());
      if (*got == 0) break;
      content.append(reinterpret_cast<const char*>(buffer.data()), *got);
    }
    co_return content;
  };
  BOOST_TEST(test::run_coro(read_all) == std::string(3000, 'a') + std::string(3000, 'b'));
  BOOST_TEST(fixture.memory->count(Op::open_download) == 2u);
}

BOOST_AUTO_TEST_CASE(upload_failures_reach_the_engine_unretried) {
  RetryFixture fixture;
  fixture.memory->fail_nth(Op::upload_write, 1, ErrorKind::transient);
  auto upload = [&]() -> asio::awaitable<Result<void>> {
    auto options = UploadOptions{};
    auto started = co_await fixture.target->start_upload("staged", options);
    BOOST_TEST_REQUIRE(started.has_value());
    std::string bytes = "chunk";
    co_return co_await (*started)->write(std::as_bytes(std::span(bytes.data(), bytes.size())));
  };
  auto written = test::run_coro(upload);
  BOOST_TEST_REQUIRE(!written.has_value());
  BOOST_TEST(written.error().kind == ErrorKind::transient);
  BOOST_TEST(fixture.memory->count(Op::upload_write) == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
