// The writer's lease on the remote folder (BRIEF §6). The memory target stamps each name with
// the store's clock (MemoryStore::clock_ns, one second more after every change), and the lease
// judges age by that clock, read from a probe file it writes: so a lease is made "N minutes old"
// by giving its node an mtime N minutes before the clock.

#include <unistd.h>

#include <boost/test/unit_test.hpp>

#include "support.hpp"
#include "sync/lease.hpp"

using namespace offsite;
using namespace offsite::test;
using sync::Outcome;

namespace {

// Puts a lease of `host`/`pid` renewed `age_ns` ago (by the store's clock); returns its path.
std::string put_lease(Bench& bench, const std::string& host, std::int64_t pid, std::int64_t age_ns) {
  manifest::Lease lease;
  lease.repository_id = bench.repository_id();
  lease.host = host;
  lease.process = "offsite sync Other";
  lease.pid = pid;
  lease.taken_at = manifest::format_timestamp(std::chrono::system_clock::now());
  lease.sequence = 1;
  auto path = std::string(sync::layout::k_lock) + "/" + manifest::lease_file_name(lease);
  bench.store->put_file(path, manifest::write_lease(lease));
  bench.store->nodes[path].mtime_ns = bench.store->clock_ns - age_ns;
  return path;
}

// A repository synced once, so the remote has its ID and committed state.
void synced_once(Bench& bench) {
  build_small_repository(bench);
  auto first = bench.sync();
  BOOST_TEST_REQUIRE((first.outcome == Outcome::success));
  bench.put("PC-1/Daily/new.img", 1000, 0, k_day2_s); // something for the next sync to commit
}

// A pid no process has: above Linux's pid_max (at most 2^22).
constexpr std::int64_t k_dead_pid = 2'000'000'000;

} // namespace

BOOST_AUTO_TEST_SUITE(sync_lease)

BOOST_AUTO_TEST_CASE(live_lease_of_another_host_stops_the_sync_naming_it) {
  Bench bench;
  synced_once(bench);
  auto generation = committed_state(bench.store, bench.repository_id()).generation();
  auto lease = put_lease(bench, "nas-02.example", 4242, 4 * k_minute_ns);
  auto result = bench.sync();
  BOOST_TEST((result.outcome == Outcome::failed));
  BOOST_TEST_REQUIRE(result.error.has_value());
  const auto& message = result.error->message;
  BOOST_TEST(message.find("nas-02.example") != std::string::npos, message);
  BOOST_TEST(message.find("offsite sync Other") != std::string::npos, message);
  BOOST_TEST(message.find("pid 4242") != std::string::npos, message);
  BOOST_TEST(bench.store->exists(lease)); // not ours to remove
  BOOST_TEST(committed_state(bench.store, bench.repository_id()).generation() == generation);
  BOOST_TEST(files_under(*bench.store, ".offsite/tx/").empty());
}

BOOST_AUTO_TEST_CASE(lease_unrenewed_for_over_five_minutes_is_removed) {
  Bench bench;
  synced_once(bench);
  auto lease = put_lease(bench, "nas-02.example", 4242, 5 * k_minute_ns + 1'000'000'000);
  auto result = bench.sync();
  BOOST_TEST(!result.error.has_value(), error_message(result));
  BOOST_TEST((result.outcome == Outcome::success));
  BOOST_TEST(!bench.store->exists(lease));
  BOOST_TEST(files_under(*bench.store, ".offsite/lock/").empty());
  BOOST_TEST(bench.mirror_difference() == "");
}

BOOST_AUTO_TEST_CASE(lease_of_this_host_with_a_dead_process_is_stale_at_once) {
  Bench bench;
  synced_once(bench);
  auto lease = put_lease(bench, sync::lease_host_name(), k_dead_pid, 0);
  auto result = bench.sync();
  BOOST_TEST(!result.error.has_value(), error_message(result));
  BOOST_TEST(!bench.store->exists(lease));
  BOOST_TEST(bench.mirror_difference() == "");
}

BOOST_AUTO_TEST_CASE(lease_of_this_host_with_a_running_process_is_live) {
  Bench bench;
  synced_once(bench);
  auto lease = put_lease(bench, sync::lease_host_name(), static_cast<std::int64_t>(::getpid()), 0);
  auto result = bench.sync();
  BOOST_TEST_REQUIRE(result.error.has_value());
  BOOST_TEST(result.error->message.find("another writer holds the lease") != std::string::npos);
  BOOST_TEST(bench.store->exists(lease));
}

BOOST_AUTO_TEST_CASE(lease_of_another_host_with_a_dead_pid_waits_for_its_age) {
  // A pid means nothing on another machine: only the age makes its lease stale.
  Bench bench;
  synced_once(bench);
  put_lease(bench, "nas-02.example", k_dead_pid, 0);
  auto result = bench.sync();
  BOOST_TEST_REQUIRE(result.error.has_value());
  BOOST_TEST(result.error->message.find("nas-02.example") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(unreadable_lease_is_removed) {
  Bench bench;
  synced_once(bench);
  bench.store->put_file(".offsite/lock/garbage.json", "not a lease");
  auto result = bench.sync();
  BOOST_TEST((result.outcome == Outcome::success));
  BOOST_TEST(!bench.store->exists(".offsite/lock/garbage.json"));
}

BOOST_AUTO_TEST_CASE(own_lease_is_released_after_the_sync) {
  Bench bench;
  synced_once(bench);
  MemoryTarget memory(bench.store);
  RecordingTarget recorder(memory);
  auto result = bench.sync(recorder);
  BOOST_TEST_REQUIRE((result.outcome == Outcome::success));
  auto written = recorder.paths(Op::write_new_file);
  auto lease = std::find_if(written.begin(), written.end(), [](const std::string& p) {
    return p.starts_with(".offsite/lock/") && p.find("probe") == std::string::npos;
  });
  BOOST_TEST_REQUIRE((lease != written.end()));
  BOOST_TEST(!bench.store->exists(*lease));
  BOOST_TEST(files_under(*bench.store, ".offsite/lock/").empty());
}

BOOST_AUTO_TEST_SUITE_END()
