#include "support/memory_target.hpp"

#include <boost/test/unit_test.hpp>

#include "support/run_coro.hpp"

using namespace offsite;
using namespace offsite::test;

namespace {

Result<void> write_new(MemoryTarget& target, std::string path) {
  auto call = [&]() -> asio::awaitable<Result<void>> { co_return co_await target.write_new_file(path, path); };
  return run_coro(call);
}

Result<target::RemoteEntry> stat(MemoryTarget& target, std::string path) {
  auto call = [&]() -> asio::awaitable<Result<target::RemoteEntry>> { co_return co_await target.stat(path); };
  return run_coro(call);
}

std::vector<std::string> list(MemoryTarget& target, std::string dir) {
  auto call = [&]() -> asio::awaitable<Result<std::vector<target::RemoteEntry>>> {
    co_return co_await target.list(dir);
  };
  auto listed = run_coro(call);
  BOOST_TEST_REQUIRE(listed.has_value());
  std::vector<std::string> names;
  for (auto& entry : *listed)
    names.push_back(entry.name);
  std::sort(names.begin(), names.end());
  return names;
}

} // namespace

BOOST_AUTO_TEST_SUITE(target_memory_faults)

BOOST_AUTO_TEST_CASE(fail_nth_fails_exactly_those_calls) {
  auto store = std::make_shared<MemoryStore>();
  MemoryTarget target(store);
  target.fail_nth(Op::write_new_file, 2, ErrorKind::transient, 2);
  BOOST_TEST(write_new(target, "a").has_value());
  auto second = write_new(target, "b");
  BOOST_TEST_REQUIRE(!second.has_value());
  BOOST_TEST(second.error().kind == ErrorKind::transient);
  BOOST_TEST(second.error().message.find("memory:/memory/b") != std::string::npos);
  BOOST_TEST(!write_new(target, "c").has_value());
  BOOST_TEST(write_new(target, "d").has_value());
  BOOST_TEST(store->files() == (std::vector<std::string>{"a", "d"}));
  BOOST_TEST(target.count(Op::write_new_file) == 4u);
}

BOOST_AUTO_TEST_CASE(fail_path_fails_calls_naming_it) {
  auto store = std::make_shared<MemoryStore>();
  MemoryTarget target(store);
  target.fail_path(Op::write_new_file, "commits/", ErrorKind::permanent, 1);
  BOOST_TEST(!write_new(target, "commits/1.json").has_value());
  BOOST_TEST(write_new(target, "commits/1.json").has_value());
}

BOOST_AUTO_TEST_CASE(a_crash_freezes_the_store_after_k_mutations) {
  auto store = std::make_shared<MemoryStore>();
  MemoryTarget target(store);
  target.crash_after_mutations(2);
  BOOST_TEST(write_new(target, "a").has_value());
  BOOST_TEST(write_new(target, "b").has_value());
  BOOST_TEST(target.crashed());
  auto after = write_new(target, "c");
  BOOST_TEST_REQUIRE(!after.has_value());
  BOOST_TEST(after.error().kind == ErrorKind::cancelled);
  BOOST_TEST(stat(target, "a").error().kind == ErrorKind::cancelled);
  BOOST_TEST(store->files() == (std::vector<std::string>{"a", "b"}));
  // The next run connects anew to the same remote.
  MemoryTarget next(store);
  BOOST_TEST(stat(next, "b").has_value());
  BOOST_TEST(write_new(next, "c").has_value());
}

BOOST_AUTO_TEST_CASE(calls_are_counted_by_kind) {
  auto store = std::make_shared<MemoryStore>();
  MemoryTarget target(store);
  write_new(target, "a");
  stat(target, "a");
  stat(target, "missing");
  list(target, "");
  BOOST_TEST(target.count(Op::stat) == 2u);
  BOOST_TEST(target.count(Op::list) == 1u);
  BOOST_TEST(target.total_calls() == 4u);
  BOOST_TEST(target.mutations() == 1u);
  target.reset_counts();
  BOOST_TEST(target.total_calls() == 0u);
}

BOOST_AUTO_TEST_CASE(lagging_listings_hide_recent_names_but_stat_sees_them) {
  auto store = std::make_shared<MemoryStore>();
  MemoryTarget target(store);
  target.set_listing_lag(1);
  write_new(target, "old");
  write_new(target, "new");
  BOOST_TEST(list(target, "") == (std::vector<std::string>{"old"}));
  BOOST_TEST(stat(target, "new").has_value());
}

BOOST_AUTO_TEST_CASE(object_store_uploads_appear_only_when_finished) {
  auto store = std::make_shared<MemoryStore>();
  MemoryOptions options;
  options.capabilities = MemoryOptions::object_store_capabilities();
  MemoryTarget target(store, options);
  auto body = [&]() -> asio::awaitable<void> {
    auto upload_options = target::UploadOptions{};
    auto started = co_await target.start_upload("final/key", upload_options);
    BOOST_TEST_REQUIRE(started.has_value());
    BOOST_TEST(!(*started)->resume_token().empty());
    std::string bytes = "part";
    auto written = co_await (*started)->write(std::as_bytes(std::span(bytes.data(), bytes.size())));
    BOOST_TEST(written.has_value());
    auto before = co_await target.stat("final/key");
    BOOST_TEST(before.error().kind == ErrorKind::not_found);
    auto size = co_await (*started)->finish();
    BOOST_TEST(*size == 4u);
    auto after = co_await target.stat("final/key");
    BOOST_TEST(after.has_value());
  };
  run_coro(body);
  BOOST_TEST(store->hidden_uploads.empty());
}

BOOST_AUTO_TEST_CASE(a_full_store_refuses_writes_naming_the_path) {
  auto store = std::make_shared<MemoryStore>();
  store->capacity = 3;
  MemoryTarget target(store);
  auto full = write_new(target, "four");
  BOOST_TEST_REQUIRE(!full.has_value());
  BOOST_TEST(full.error().kind == ErrorKind::permanent);
  BOOST_TEST(full.error().message == "memory:/memory/four: no space left on device");
}

BOOST_AUTO_TEST_SUITE_END()
