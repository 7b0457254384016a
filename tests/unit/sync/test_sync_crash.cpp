// Crash and failure at every step (BRIEF §5.3): a sync killed after its k-th change to the remote,
// for every k, then a fresh sync on the same store. The committed state never regresses and stays
// readable, and the next sync recovers to a mirror equal to the repository with nothing left over.

#include <cstdio>
#include <memory>

#include <boost/test/unit_test.hpp>

#include "support.hpp"

using namespace offsite;
using namespace offsite::test;
using sync::Outcome;

namespace {

struct Scenario {
  const char* name;
  bool next_day = false; // on top of a committed first sync, the next day's changes
  bool per_folder = true;
  bool object_store = false; // S3-like: direct uploads of new names, uploads hidden until finished
};

// The repository, the store and (for next_day) the committed first day, ready for the run under test.
std::unique_ptr<Bench> prepare(const Scenario& scenario) {
  auto bench = std::make_unique<Bench>();
  bench->group_commits = false; // every run must make the same mutations, crash point by crash point
  if (scenario.object_store) bench->options.capabilities = MemoryOptions::object_store_capabilities();
  bench->repository.per_folder_upload = scenario.per_folder;
  build_small_repository(*bench, 150 * 1024);
  if (scenario.next_day) {
    auto first = bench->sync();
    BOOST_TEST_REQUIRE((first.outcome == Outcome::success), error_message(first));
    next_day_changes(*bench);
  }
  return bench;
}

// The committed state as files: path → size and hash.
std::map<std::string, FileFacts> committed_files(const sync::CommittedState& state) {
  std::map<std::string, FileFacts> files;
  for (const auto& [folder, manifest] : state.folders)
    for (const auto& entry : manifest.files)
      files[entry.path] = FileFacts{entry.size, entry.xxh3_128.to_hex()};
  return files;
}

// After a run that died or failed: the committed state is the one from before or a later one,
// and every file it names can be read back.
void check_not_regressed(Bench& bench, const std::string& id, const sync::CommittedState& before,
                         const std::string& where) {
  BOOST_TEST_CONTEXT(where) {
    auto after = committed_state(bench.store, id);
    BOOST_TEST(after.generation() >= before.generation());
    if (after.generation() == before.generation()) BOOST_TEST((after.record == before.record));
    BOOST_TEST(unreadable_committed_files(*bench.store, after) == "");
  }
}

// The next run (later, on a fresh target): recovers, succeeds, and leaves mirror == repository ==
// committed state, with no transaction, lease or probe left.
void check_next_run_recovers(Bench& bench, const std::string& id, std::uint64_t at_least, const std::string& where) {
  BOOST_TEST_CONTEXT(where << ", then the next run") {
    bench.later();
    auto result = bench.sync();
    BOOST_TEST(error_message(result) == "");
    BOOST_TEST((result.outcome == Outcome::success));
    BOOST_TEST(result.generation >= at_least);
    BOOST_TEST(bench.mirror_difference() == "");
    BOOST_TEST(bench.transaction_leftovers() == std::vector<std::string>{}, boost::test_tools::per_element());
    BOOST_TEST(files_under(*bench.store, ".offsite/lock/") == std::vector<std::string>{},
               boost::test_tools::per_element());
    auto state = committed_state(bench.store, id);
    BOOST_TEST(difference(local_files(bench.root()), committed_files(state)) == "");
    BOOST_TEST(unreadable_committed_files(*bench.store, state) == "");
  }
}

// The number of changes one undisturbed run of the scenario makes to the remote, and the calls
// it makes of each operation.
struct Reference {
  std::size_t mutations = 0;
  std::map<Op, std::size_t> calls;
};

Reference reference_run(const Scenario& scenario) {
  auto bench = prepare(scenario);
  MemoryTarget target(bench->store, bench->options);
  auto result = bench->sync(target);
  BOOST_TEST_REQUIRE((result.outcome == Outcome::success), error_message(result));
  Reference reference;
  reference.mutations = target.mutations();
  for (std::size_t op = 0; op < k_op_count; ++op)
    if (target.count(static_cast<Op>(op)) > 0) reference.calls[static_cast<Op>(op)] = target.count(static_cast<Op>(op));
  return reference;
}

// Crashes the scenario's run after each of its mutations in turn; returns the crash points.
std::size_t crash_at_every_mutation(const Scenario& scenario) {
  auto reference = reference_run(scenario);
  std::size_t covered = 0;
  for (std::size_t k = 1; k <= reference.mutations; ++k) {
    auto where = fmt::format("{}: crash after mutation {} of {}", scenario.name, k, reference.mutations);
    auto bench = prepare(scenario);
    auto id = bench->repository_id();
    auto before = committed_state(bench->store, id);
    MemoryTarget crashing(bench->store, bench->options);
    crashing.crash_after_mutations(k);
    bench->sync(crashing);
    BOOST_TEST(crashing.crashed(), where);
    covered += crashing.crashed() ? 1 : 0;
    check_not_regressed(*bench, id, before, where);
    check_next_run_recovers(*bench, id, before.generation(), where);
  }
  std::printf("%s: %zu crash points covered\n", scenario.name, covered);
  return covered;
}

// Fails every call of every operation in turn (ErrorKind::permanent) instead of crashing: the
// run goes on down its error paths, then the next run recovers. A run that says it succeeded
// must have left the mirror equal to the repository already.
std::size_t fail_at_every_call(const Scenario& scenario) {
  auto reference = reference_run(scenario);
  std::size_t covered = 0;
  for (const auto& [op, calls] : reference.calls) {
    for (std::size_t n = 1; n <= calls; ++n) {
      auto where = fmt::format("{}: call {} of {} to {} fails", scenario.name, n, calls, to_string(op));
      auto bench = prepare(scenario);
      auto id = bench->repository_id();
      auto before = committed_state(bench->store, id);
      MemoryTarget failing(bench->store, bench->options);
      failing.fail_nth(op, n, ErrorKind::permanent);
      auto result = bench->sync(failing);
      ++covered;
      if (result.outcome == Outcome::success) BOOST_TEST_CONTEXT(where << ", said success") {
          BOOST_TEST(bench->mirror_difference() == "");
        }
      check_not_regressed(*bench, id, before, where);
      check_next_run_recovers(*bench, id, before.generation(), where);
    }
  }
  std::printf("%s: %zu failing calls covered\n", scenario.name, covered);
  return covered;
}

// A crash of the run under test after mutation k1, then a crash of the recovering run after each
// of its mutations k2, then a third run: for k1 every `stride`-th point.
std::size_t crash_twice(const Scenario& scenario, std::size_t stride) {
  auto reference = reference_run(scenario);
  std::size_t covered = 0;
  for (std::size_t k1 = 1; k1 <= reference.mutations; k1 += stride) {
    for (std::size_t k2 = 1;; ++k2) {
      auto where = fmt::format("{}: crash after mutation {}, then the recovering run after {}", scenario.name, k1, k2);
      auto bench = prepare(scenario);
      auto id = bench->repository_id();
      auto before = committed_state(bench->store, id);
      MemoryTarget first(bench->store, bench->options);
      first.crash_after_mutations(k1);
      bench->sync(first);
      auto after_first = committed_state(bench->store, id);
      bench->later();
      MemoryTarget second(bench->store, bench->options);
      second.crash_after_mutations(k2);
      auto result = bench->sync(second);
      if (!second.crashed()) {
        // The recovering run made fewer than k2 changes: it finished.
        BOOST_TEST((result.outcome == Outcome::success), where << ": " << error_message(result));
        BOOST_TEST(bench->mirror_difference() == "", where);
        break;
      }
      ++covered;
      check_not_regressed(*bench, id, after_first, where);
      check_not_regressed(*bench, id, before, where);
      check_next_run_recovers(*bench, id, after_first.generation(), where);
    }
  }
  std::printf("%s: %zu double-crash points covered\n", scenario.name, covered);
  return covered;
}

const Scenario k_first_sync{"first sync", false, true, false};
const Scenario k_next_day{"next day", true, true, false};
const Scenario k_next_day_one_record{"next day, one record per sync", true, false, false};
const Scenario k_first_sync_s3{"first sync, object store", false, true, true};
const Scenario k_next_day_s3{"next day, object store", true, true, true};

} // namespace

BOOST_AUTO_TEST_SUITE(sync_crash)

BOOST_AUTO_TEST_CASE(crash_at_every_step_of_a_first_sync_recovers) {
  BOOST_TEST(crash_at_every_mutation(k_first_sync) > 30u);
}

BOOST_AUTO_TEST_CASE(crash_at_every_step_of_a_next_day_sync_recovers) {
  BOOST_TEST(crash_at_every_mutation(k_next_day) > 20u);
}

BOOST_AUTO_TEST_CASE(crash_at_every_step_of_a_single_record_sync_recovers) {
  BOOST_TEST(crash_at_every_mutation(k_next_day_one_record) > 20u);
}

BOOST_AUTO_TEST_CASE(crash_at_every_step_on_an_object_store_recovers) {
  BOOST_TEST(crash_at_every_mutation(k_first_sync_s3) > 20u);
  BOOST_TEST(crash_at_every_mutation(k_next_day_s3) > 10u);
}

BOOST_AUTO_TEST_CASE(failure_of_every_call_of_a_first_sync_recovers) {
  BOOST_TEST(fail_at_every_call(k_first_sync) > 50u);
}

BOOST_AUTO_TEST_CASE(failure_of_every_call_of_a_next_day_sync_recovers) {
  BOOST_TEST(fail_at_every_call(k_next_day) > 50u);
}

BOOST_AUTO_TEST_CASE(crash_after_record_rolls_forward) {
  // Killed right after the commit record of a one-record sync: the next run applies it and
  // uploads nothing again.
  Bench bench;
  bench.repository.per_folder_upload = false;
  build_small_repository(bench);
  auto id = bench.repository_id();
  MemoryTarget memory(bench.store);
  RecordingTarget recorder(memory);
  recorder.after = [&](Op op, const std::string& path) {
    if (op == Op::write_new_file && path == ".offsite/commits/1.json") memory.crash_after_mutations(0);
  };
  bench.sync(recorder);
  BOOST_TEST_REQUIRE(memory.crashed());
  auto state = committed_state(bench.store, id);
  BOOST_TEST(state.generation() == 1u);
  BOOST_TEST(state.record->pending.size() == k_small_files);
  BOOST_TEST(mirror_files(*bench.store).empty()); // nothing applied yet
  bench.later();
  auto result = bench.sync();
  BOOST_TEST((result.outcome == Outcome::success));
  BOOST_TEST(result.files_uploaded.empty());
  BOOST_TEST(result.generation == 1u);
  BOOST_TEST(bench.mirror_difference() == "");
  BOOST_TEST(bench.transaction_leftovers().empty());
}

BOOST_AUTO_TEST_CASE(crash_before_record_rolls_back) {
  // Killed right before the record: nothing of the transaction becomes committed, and its
  // staged uploads are resumed (the local files did not change), not sent again.
  Bench bench;
  bench.repository.per_folder_upload = false;
  build_small_repository(bench);
  auto id = bench.repository_id();
  MemoryTarget memory(bench.store);
  memory.fail_path(Op::write_new_file, ".offsite/commits/", ErrorKind::cancelled);
  bench.sync(memory);
  BOOST_TEST(!committed_state(bench.store, id).record.has_value());
  BOOST_TEST(mirror_files(*bench.store).empty());
  BOOST_TEST(!bench.transaction_leftovers().empty());
  bench.later();
  auto result = bench.sync();
  BOOST_TEST((result.outcome == Outcome::success));
  BOOST_TEST(result.generation == 1u);
  // Every staged upload was complete: each resumes at its last chunk boundary (64 KiB), so only
  // the tails are sent again.
  BOOST_TEST(result.bytes_uploaded == (200u - 192 + 5 + 70 - 64 + 3) * 1024 + 17 + 5);
  BOOST_TEST(bench.mirror_difference() == "");
  BOOST_TEST(bench.transaction_leftovers().empty());
}

BOOST_AUTO_TEST_SUITE_END()

// The double crashes: the longest cases (minutes under the sanitizers), a meson test each so they
// run side by side.
BOOST_AUTO_TEST_SUITE(sync_crash_during_recovery)

BOOST_AUTO_TEST_CASE(of_a_first_sync_recovers) { BOOST_TEST(crash_twice(k_first_sync, 4) > 100u); }

BOOST_AUTO_TEST_CASE(of_a_next_day_sync_recovers) { BOOST_TEST(crash_twice(k_next_day, 4) > 50u); }

BOOST_AUTO_TEST_SUITE_END()
