// The commit fence against a second writer (BRIEF §5.1), and lagging listings (§5.3).

#include <boost/test/unit_test.hpp>

#include "support.hpp"

using namespace offsite;
using namespace offsite::test;
using sync::Outcome;

namespace {

constexpr const char* k_other_txid = "7c9e6679-7425-40de-944b-e07fc1f90ae7";

// Another machine with a copy of this repository commits `generation` on top of record `parent`
// (same folders: a valid record of this repository that our sync did not write).
void write_foreign_commit(MemoryStore& store, std::uint64_t parent, std::uint64_t generation) {
  auto parent_path = sync::layout::commit_record(parent);
  auto bytes = store.file(parent_path);
  BOOST_TEST_REQUIRE(bytes.has_value());
  auto record = manifest::read_commit_record(*bytes, parent_path);
  BOOST_TEST_REQUIRE(record.has_value());
  record->generation = generation;
  record->parent = parent;
  record->txid = k_other_txid;
  record->pending.clear();
  store.put_file(sync::layout::commit_record(generation), manifest::write_commit_record(*record));
}

} // namespace

BOOST_AUTO_TEST_SUITE(sync_fence)

BOOST_AUTO_TEST_CASE(record_of_another_writer_between_folder_commits_stops_the_sync) {
  Bench bench;
  build_small_repository(bench);
  auto id = bench.repository_id();
  MemoryTarget memory(bench.store);
  RecordingTarget recorder(memory);
  bool injected = false;
  recorder.after = [&](Op op, const std::string& path) {
    if (injected || op != Op::write_new_file || path != ".offsite/commits/1.json") return;
    injected = true;
    write_foreign_commit(*bench.store, 1, 2);
  };
  auto result = bench.sync(recorder);
  BOOST_TEST_REQUIRE(injected);
  BOOST_TEST((result.outcome == Outcome::failed));
  BOOST_TEST_REQUIRE(result.error.has_value());
  BOOST_TEST(result.error->kind == ErrorKind::permanent);
  BOOST_TEST(result.error->message.find(".offsite/commits/2.json") != std::string::npos, result.error->message);
  BOOST_TEST(result.error->message.find("another writer") != std::string::npos, result.error->message);
  // Stopped without applying: no record of ours above the other writer's, and in the mirror
  // only the one folder committed before it.
  BOOST_TEST(!bench.store->exists(".offsite/commits/3.json"));
  auto state = committed_state(bench.store, id);
  BOOST_TEST(state.generation() == 2u);
  BOOST_TEST(state.record->txid == k_other_txid);
  BOOST_TEST_REQUIRE(state.folders.size() == 1u);
  std::map<std::string, FileFacts> expected;
  auto local = local_files(bench.root());
  for (const auto& entry : state.folders.begin()->second.files)
    expected[entry.path] = local[entry.path];
  BOOST_TEST(difference(expected, mirror_files(*bench.store)) == "");

  // The next run builds on the other writer's commit and ends equal.
  bench.later();
  auto next = bench.sync();
  BOOST_TEST(error_message(next) == "");
  BOOST_TEST((next.outcome == Outcome::success));
  BOOST_TEST(next.generation > 2u);
  BOOST_TEST(bench.mirror_difference() == "");
  BOOST_TEST(bench.transaction_leftovers().empty());
}

BOOST_AUTO_TEST_CASE(generation_taken_after_the_check_stops_the_sync) {
  // The other writer's record appears after the committer looked for generation 2 and before it
  // wrote it: the exclusive create fails, and the sync stops without applying.
  Bench bench;
  build_small_repository(bench);
  auto id = bench.repository_id();
  MemoryTarget memory(bench.store);
  RecordingTarget recorder(memory);
  bool first_committed = false;
  bool injected = false;
  recorder.after = [&](Op op, const std::string& path) {
    if (op == Op::write_new_file && path == ".offsite/commits/1.json") first_committed = true;
    if (!first_committed || injected || op != Op::stat || path != ".offsite/commits/2.json") return;
    injected = true;
    write_foreign_commit(*bench.store, 1, 2);
  };
  auto result = bench.sync(recorder);
  BOOST_TEST_REQUIRE(injected);
  BOOST_TEST_REQUIRE(result.error.has_value());
  BOOST_TEST(result.error->message.find(".offsite/commits/2.json: the generation is taken") != std::string::npos,
             result.error->message);
  auto state = committed_state(bench.store, id);
  BOOST_TEST(state.generation() == 2u);
  BOOST_TEST(state.record->txid == k_other_txid);
  BOOST_TEST(mirror_files(*bench.store).size() == state.file_count());
}

BOOST_AUTO_TEST_CASE(invalid_record_above_ours_stops_the_sync) {
  Bench bench;
  build_small_repository(bench);
  MemoryTarget memory(bench.store);
  RecordingTarget recorder(memory);
  bool injected = false;
  recorder.after = [&](Op op, const std::string& path) {
    if (injected || op != Op::write_new_file || path != ".offsite/commits/1.json") return;
    injected = true;
    bench.store->put_file(".offsite/commits/2.json", "{\"format\":\"offsite/1\""); // torn
  };
  auto result = bench.sync(recorder);
  BOOST_TEST_REQUIRE(result.error.has_value());
  BOOST_TEST(result.error->message.find("an invalid record appeared") != std::string::npos, result.error->message);
  // Recovery removes the torn record (it was never a commit) and finishes.
  bench.later();
  auto next = bench.sync();
  BOOST_TEST(error_message(next) == "");
  BOOST_TEST(bench.mirror_difference() == "");
}

BOOST_AUTO_TEST_CASE(foreign_repositorys_record_is_skipped_not_a_fence) {
  // A record of another repository takes its generation's name but is not this one's state.
  Bench bench;
  build_small_repository(bench);
  MemoryTarget memory(bench.store);
  RecordingTarget recorder(memory);
  bool injected = false;
  recorder.after = [&](Op op, const std::string& path) {
    if (injected || op != Op::write_new_file || path != ".offsite/commits/1.json") return;
    injected = true;
    auto record = manifest::read_commit_record(*bench.store->file(path), path);
    record->generation = 2;
    record->parent = 1;
    record->repository_id = "0f8fad5b-d9cb-469f-a165-70867728950e";
    bench.store->put_file(".offsite/commits/2.json", manifest::write_commit_record(*record));
  };
  std::size_t records_written = 0;
  auto count = recorder.after;
  recorder.after = [&](Op op, const std::string& path) {
    count(op, path);
    if (op == Op::write_new_file && path.starts_with(".offsite/commits/")) ++records_written;
  };
  auto result = bench.sync(recorder);
  BOOST_TEST(error_message(result) == "");
  BOOST_TEST((result.outcome == Outcome::success));
  BOOST_TEST(result.generation == records_written + 1); // one name skipped
  BOOST_TEST(bench.mirror_difference() == "");
}

BOOST_AUTO_TEST_CASE(lagging_listing_never_makes_committed_records_look_uncommitted) {
  // A first sync of five folders, committed per folder, killed right after its last record (the
  // one that names all five folders); the store's listing then hides every name written since
  // the first record (an S3-compatible store that lags): every record.
  Bench bench;
  build_small_repository(bench);
  auto id = bench.repository_id();
  MemoryTarget memory(bench.store);
  RecordingTarget recorder(memory);
  std::uint64_t first_record_mutation = 0;
  std::uint64_t last_generation = 0;
  recorder.after = [&](Op op, const std::string& path) {
    if (op != Op::write_new_file || !path.starts_with(".offsite/commits/")) return;
    if (path == ".offsite/commits/1.json") first_record_mutation = bench.store->mutations;
    auto record = manifest::read_commit_record(bench.store->file(path).value_or(""), path);
    if (record && record->folders.size() == k_small_folders) {
      last_generation = record->generation;
      memory.crash_after_mutations(0);
    }
  };
  bench.sync(recorder);
  BOOST_TEST_REQUIRE(memory.crashed());
  BOOST_TEST_REQUIRE(last_generation >= 2u); // more than one record, or nothing lags behind
  BOOST_TEST(committed_state(bench.store, id).generation() == last_generation);

  bench.later();
  MemoryTarget lagging(bench.store);
  lagging.set_listing_lag(bench.store->mutations - first_record_mutation + 1);
  auto result = bench.sync(lagging);
  BOOST_TEST(error_message(result) == "");
  BOOST_TEST((result.outcome == Outcome::success));
  // Rolled forward: the last record stays the commit point and nothing is uploaded again.
  BOOST_TEST(result.generation == last_generation);
  BOOST_TEST(result.files_uploaded.empty());
  BOOST_TEST(bench.mirror_difference() == "");
  BOOST_TEST(committed_state(bench.store, id).generation() == last_generation);

  // Once the listing catches up, the leftovers it hid are cleaned.
  auto caught_up = bench.sync();
  BOOST_TEST((caught_up.outcome == Outcome::success));
  BOOST_TEST(caught_up.generation == last_generation);
  BOOST_TEST(bench.transaction_leftovers().empty());
}

BOOST_AUTO_TEST_CASE(lagging_listing_during_a_sync_still_commits_above_every_record) {
  // Next day, with the listing lagging behind every record: the new record still takes the next
  // generation, so it is never hidden below an older one.
  Bench bench;
  build_small_repository(bench);
  auto first = bench.sync();
  BOOST_TEST_REQUIRE((first.outcome == Outcome::success));
  next_day_changes(bench);
  MemoryTarget lagging(bench.store);
  lagging.set_listing_lag(1000);
  auto result = bench.sync(lagging);
  BOOST_TEST(error_message(result) == "");
  BOOST_TEST((result.outcome == Outcome::success));
  BOOST_TEST(result.generation > first.generation);
  BOOST_TEST(bench.mirror_difference() == "");
  auto state = committed_state(bench.store, bench.repository_id());
  BOOST_TEST(state.generation() == result.generation);
}

BOOST_AUTO_TEST_SUITE_END()
