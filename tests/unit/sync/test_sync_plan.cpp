// make_plan() and check_mass_change() on hand-built local views and committed states.

#include "sync/plan.hpp"

#include <boost/test/unit_test.hpp>

using namespace offsite;
using namespace offsite::sync;

namespace {

Hash128 hash_of(std::string_view text) { return xxh3_128(text); }

repo::LocalFile local(std::string path, std::uint64_t size, std::int64_t mtime_ns, std::uint64_t inode = 7) {
  repo::LocalFile file;
  file.path = std::move(path);
  file.size = size;
  file.mtime_ns = mtime_ns;
  file.inode = inode;
  file.ctime_ns = mtime_ns;
  return file;
}

manifest::FileEntry entry(std::string path, std::uint64_t size, std::int64_t mtime_ns, std::string_view content) {
  manifest::FileEntry file;
  file.path = std::move(path);
  file.size = size;
  file.mtime_ns = mtime_ns;
  file.xxh3_128 = hash_of(content);
  return file;
}

// Committed: folder "A" with a (10 bytes), b (20), c (30), d (40); folder "B" with x (5).
CommittedState committed_state() {
  CommittedState state;
  state.record = manifest::CommitRecord{};
  state.record->generation = 3;
  state.folders["A"] = manifest::FolderManifest{
      "A",
      "tx",
      {entry("A/a", 10, 100, "a"), entry("A/b", 20, 100, "b"), entry("A/c", 30, 100, "c"), entry("A/d", 40, 100, "d")}};
  state.folders["B"] = manifest::FolderManifest{"B", "tx", {entry("B/x", 5, 100, "x")}};
  return state;
}

const FolderPlan* find_folder(const SyncPlan& plan, const std::string& name) {
  for (const auto& folder : plan.folders)
    if (folder.folder == name) return &folder;
  return nullptr;
}

std::vector<std::string> paths(const std::vector<PlannedFile>& files) {
  std::vector<std::string> out;
  for (const auto& file : files)
    out.push_back(file.local.path);
  return out;
}

std::vector<std::string> paths(const std::vector<manifest::FileEntry>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries)
    out.push_back(e.path);
  return out;
}

SyncPlan plan_with(std::uint64_t committed, std::uint64_t deleted, std::uint64_t changed) {
  SyncPlan plan;
  plan.committed_files = committed;
  plan.deleted_files = deleted;
  plan.changed_files = changed;
  return plan;
}

} // namespace

BOOST_AUTO_TEST_SUITE(sync_plan)

BOOST_AUTO_TEST_CASE(unchanged_repository_plans_nothing) {
  auto state = committed_state();
  repo::LocalView view;
  view.folders.push_back(
      {"A", {local("A/a", 10, 100), local("A/b", 20, 100), local("A/c", 30, 100), local("A/d", 40, 100)}});
  view.folders.push_back({"B", {local("B/x", 5, 100)}});
  auto plan = make_plan(view, state, repo::HashCache{});
  BOOST_TEST(plan.empty());
  BOOST_TEST(plan.committed_files == 5u);
  BOOST_TEST(plan.bytes_to_read == 0u);
}

BOOST_AUTO_TEST_CASE(added_modified_touched_and_deleted_are_told_apart) {
  auto state = committed_state();
  repo::LocalView view;
  // a unchanged; b modified (size); c touched (mtime only, cache miss); d deleted; e added.
  view.folders.push_back(
      {"A", {local("A/a", 10, 100), local("A/b", 21, 100), local("A/c", 30, 200), local("A/e", 7, 300)}});
  view.folders.push_back({"B", {local("B/x", 5, 100)}});
  auto plan = make_plan(view, state, repo::HashCache{});
  BOOST_TEST_REQUIRE(plan.folders.size() == 1u); // B needs no commit
  const auto& a = plan.folders.front();
  BOOST_TEST(a.folder == "A");
  BOOST_TEST(paths(a.to_read) == (std::vector<std::string>{"A/b", "A/c", "A/e"}), boost::test_tools::per_element());
  BOOST_TEST(paths(a.unchanged) == (std::vector<std::string>{"A/a"}), boost::test_tools::per_element());
  BOOST_TEST(paths(a.to_delete) == (std::vector<std::string>{"A/d"}), boost::test_tools::per_element());
  BOOST_TEST(!a.metadata_changed);
  BOOST_TEST((a.to_read[0].change == FileChange::modified));
  BOOST_TEST((a.to_read[1].change == FileChange::touched));
  BOOST_TEST((a.to_read[2].change == FileChange::added));
  BOOST_TEST(!a.to_read[2].committed);
  BOOST_TEST_REQUIRE(a.to_read[1].committed != nullptr);
  BOOST_TEST(a.to_read[1].committed->mtime_ns == 100);
  BOOST_TEST(plan.added_files == 1u);
  BOOST_TEST(plan.changed_files == 2u);
  BOOST_TEST(plan.deleted_files == 1u);
  BOOST_TEST(plan.bytes_to_read == 21u + 30u + 7u);
}

BOOST_AUTO_TEST_CASE(touched_file_with_equal_cached_hash_is_unchanged_with_new_mtime) {
  auto state = committed_state();
  repo::LocalView view;
  auto touched = local("A/c", 30, 200);
  view.folders.push_back({"A", {local("A/a", 10, 100), local("A/b", 20, 100), touched, local("A/d", 40, 100)}});
  view.folders.push_back({"B", {local("B/x", 5, 100)}});
  repo::HashCache cache;
  cache.store(touched, hash_of("c")); // the committed bytes
  auto plan = make_plan(view, state, cache);
  BOOST_TEST_REQUIRE(plan.folders.size() == 1u);
  const auto& a = plan.folders.front();
  BOOST_TEST(a.to_read.empty());
  BOOST_TEST(a.metadata_changed);
  BOOST_TEST(a.needs_commit());
  BOOST_TEST_REQUIRE(a.unchanged.size() == 4u);
  BOOST_TEST(a.unchanged[2].path == "A/c");
  BOOST_TEST(a.unchanged[2].mtime_ns == 200); // refreshed
  BOOST_TEST((a.unchanged[2].xxh3_128 == hash_of("c")));
  BOOST_TEST(plan.bytes_to_read == 0u);
}

BOOST_AUTO_TEST_CASE(touched_file_with_other_cached_hash_is_read) {
  auto state = committed_state();
  repo::LocalView view;
  auto touched = local("A/c", 30, 200);
  view.folders.push_back({"A", {local("A/a", 10, 100), local("A/b", 20, 100), touched, local("A/d", 40, 100)}});
  view.folders.push_back({"B", {local("B/x", 5, 100)}});
  repo::HashCache cache;
  cache.store(touched, hash_of("other bytes"));
  auto plan = make_plan(view, state, cache);
  BOOST_TEST_REQUIRE(plan.folders.size() == 1u);
  BOOST_TEST_REQUIRE(plan.folders.front().to_read.size() == 1u);
  BOOST_TEST((plan.folders.front().to_read[0].change == FileChange::touched));
  BOOST_TEST(!plan.folders.front().metadata_changed);
}

BOOST_AUTO_TEST_CASE(cache_entry_of_another_inode_is_a_miss) {
  auto state = committed_state();
  repo::LocalView view;
  view.folders.push_back(
      {"A", {local("A/a", 10, 100), local("A/b", 20, 100), local("A/c", 30, 200, 99), local("A/d", 40, 100)}});
  view.folders.push_back({"B", {local("B/x", 5, 100)}});
  repo::HashCache cache;
  cache.store(local("A/c", 30, 200, 7), hash_of("c")); // same path, size, mtime: other inode
  auto plan = make_plan(view, state, cache);
  BOOST_TEST_REQUIRE(plan.folders.size() == 1u);
  BOOST_TEST(plan.folders.front().to_read.size() == 1u);
}

// The plan pairs local files with committed entries by merging the two sorted lists: gone and
// new names interleaved at the start, the middle and the end must each land in their place.
BOOST_AUTO_TEST_CASE(interleaved_names_pair_up) {
  CommittedState state;
  state.record = manifest::CommitRecord{};
  state.record->generation = 1;
  state.folders["F"] =
      manifest::FolderManifest{"F",
                               "tx",
                               {entry("F/a", 1, 100, "a"), entry("F/b", 2, 100, "b"), entry("F/c", 3, 100, "c"),
                                entry("F/d", 4, 100, "d"), entry("F/e", 5, 100, "e"), entry("F/g/h", 6, 100, "h")}};
  repo::LocalView view;
  // a gone; 0 and b2 new; b kept; c skipped (kept); d modified; e gone; f new; g/h kept; z new.
  view.folders.push_back({"F",
                          {local("F/0", 9, 100), local("F/b", 2, 100), local("F/b2", 9, 100), local("F/d", 44, 100),
                           local("F/f", 9, 100), local("F/g/h", 6, 100), local("F/z", 9, 100)}});
  view.skipped.push_back({"F/c", "cannot open: permission denied", true});
  auto plan = make_plan(view, state, repo::HashCache{});
  BOOST_TEST_REQUIRE(plan.folders.size() == 1u);
  const auto& f = plan.folders.front();
  BOOST_TEST(paths(f.to_read) == (std::vector<std::string>{"F/0", "F/b2", "F/d", "F/f", "F/z"}),
             boost::test_tools::per_element());
  BOOST_TEST(paths(f.unchanged) == (std::vector<std::string>{"F/b", "F/c", "F/g/h"}), boost::test_tools::per_element());
  BOOST_TEST(paths(f.to_delete) == (std::vector<std::string>{"F/a", "F/e"}), boost::test_tools::per_element());
  BOOST_TEST(plan.added_files == 4u);
  BOOST_TEST(plan.changed_files == 1u);
  BOOST_TEST(plan.deleted_files == 2u);
}

// The same, with both lists out of order (a producer that did not sort): the merge must not pair
// wrongly, which would delete committed files.
BOOST_AUTO_TEST_CASE(unsorted_lists_pair_up_too) {
  CommittedState state;
  state.record = manifest::CommitRecord{};
  state.record->generation = 1;
  state.folders["F"] = manifest::FolderManifest{
      "F", "tx", {entry("F/e", 5, 100, "e"), entry("F/a", 1, 100, "a"), entry("F/c", 3, 100, "c")}};
  repo::LocalView view;
  view.folders.push_back({"F", {local("F/c", 3, 100), local("F/b", 9, 100), local("F/a", 1, 100)}});
  auto plan = make_plan(view, state, repo::HashCache{});
  BOOST_TEST_REQUIRE(plan.folders.size() == 1u);
  const auto& f = plan.folders.front();
  BOOST_TEST(paths(f.to_read) == (std::vector<std::string>{"F/b"}), boost::test_tools::per_element());
  BOOST_TEST(paths(f.unchanged) == (std::vector<std::string>{"F/a", "F/c"}), boost::test_tools::per_element());
  BOOST_TEST(paths(f.to_delete) == (std::vector<std::string>{"F/e"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(skipped_entries_keep_their_committed_copies) {
  auto state = committed_state();
  repo::LocalView view;
  view.folders.push_back({"A", {local("A/a", 10, 100), local("A/b", 20, 100), local("A/c", 30, 100)}});
  view.folders.push_back({"B", {local("B/x", 5, 100)}});
  view.skipped.push_back({"A/d", "cannot open: permission denied", true});
  auto plan = make_plan(view, state, repo::HashCache{});
  BOOST_TEST(plan.empty());
  BOOST_TEST(plan.deleted_files == 0u);
}

BOOST_AUTO_TEST_CASE(folder_gone_locally_deletes_all_its_files) {
  auto state = committed_state();
  repo::LocalView view;
  view.folders.push_back(
      {"A", {local("A/a", 10, 100), local("A/b", 20, 100), local("A/c", 30, 100), local("A/d", 40, 100)}});
  auto plan = make_plan(view, state, repo::HashCache{});
  const auto* b = find_folder(plan, "B");
  BOOST_TEST_REQUIRE(b != nullptr);
  BOOST_TEST(paths(b->to_delete) == (std::vector<std::string>{"B/x"}), boost::test_tools::per_element());
  BOOST_TEST(b->unchanged.empty());
  BOOST_TEST(b->to_read.empty());
  BOOST_TEST(plan.deleted_files == 1u);
  BOOST_TEST(find_folder(plan, "A") == nullptr);
}

BOOST_AUTO_TEST_CASE(first_sync_adds_every_file_in_sorted_folders) {
  repo::LocalView view;
  view.folders.push_back({"", {local("top", 1, 1)}});
  view.folders.push_back({"A", {local("A/a", 10, 100)}});
  view.folders.push_back({"B/C", {local("B/C/x", 5, 100), local("B/C/y/z", 6, 100)}});
  auto plan = make_plan(view, CommittedState{}, repo::HashCache{});
  BOOST_TEST_REQUIRE(plan.folders.size() == 3u);
  BOOST_TEST(plan.folders[0].folder == "");
  BOOST_TEST(plan.folders[1].folder == "A");
  BOOST_TEST(plan.folders[2].folder == "B/C");
  BOOST_TEST(plan.added_files == 4u);
  BOOST_TEST(plan.committed_files == 0u);
  BOOST_TEST(plan.bytes_to_read == 22u);
}

BOOST_AUTO_TEST_CASE(delete_guard_refuses_just_above_the_threshold) {
  // 50% of 10 committed files: 5 deletions pass, 6 are refused.
  BOOST_TEST(check_mass_change(plan_with(10, 5, 0), 50, 50).has_value());
  auto refused = check_mass_change(plan_with(10, 6, 0), 50, 50);
  BOOST_TEST_REQUIRE(!refused.has_value());
  BOOST_TEST(refused.error().kind == ErrorKind::refused);
  BOOST_TEST(refused.error().message.find("deletes 6 of 10") != std::string::npos);
  BOOST_TEST(refused.error().message.find("max_delete_percent") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(change_guard_refuses_just_above_the_threshold) {
  // 30% of 7 committed files is 2.1 files: 2 changes pass, 3 are refused.
  BOOST_TEST(check_mass_change(plan_with(7, 0, 2), 50, 30).has_value());
  auto refused = check_mass_change(plan_with(7, 0, 3), 50, 30);
  BOOST_TEST_REQUIRE(!refused.has_value());
  BOOST_TEST(refused.error().kind == ErrorKind::refused);
  BOOST_TEST(refused.error().message.find("max_change_percent") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(zero_percent_refuses_any_change) {
  BOOST_TEST(check_mass_change(plan_with(10, 0, 0), 0, 0).has_value());
  BOOST_TEST(!check_mass_change(plan_with(10, 1, 0), 0, 100).has_value());
  BOOST_TEST(!check_mass_change(plan_with(10, 0, 1), 100, 0).has_value());
}

BOOST_AUTO_TEST_CASE(hundred_percent_turns_a_guard_off) {
  BOOST_TEST(check_mass_change(plan_with(10, 10, 0), 100, 0).has_value());
  BOOST_TEST(check_mass_change(plan_with(10, 0, 10), 0, 100).has_value());
  BOOST_TEST(!check_mass_change(plan_with(10, 10, 0), 99, 100).has_value());
}

BOOST_AUTO_TEST_CASE(empty_committed_state_is_not_guarded) {
  BOOST_TEST(check_mass_change(plan_with(0, 0, 0), 0, 0).has_value());
  // A plan on an empty committed state only adds.
  repo::LocalView view;
  view.folders.push_back({"A", {local("A/a", 10, 100), local("A/b", 10, 100)}});
  auto plan = make_plan(view, CommittedState{}, repo::HashCache{});
  BOOST_TEST(check_mass_change(plan, 0, 0).has_value());
}

BOOST_AUTO_TEST_CASE(guards_count_what_make_plan_found) {
  auto state = committed_state(); // 5 files
  repo::LocalView view;           // 3 of 5 gone: 60% > 50%
  view.folders.push_back({"A", {local("A/a", 10, 100), local("A/b", 20, 100)}});
  auto plan = make_plan(view, state, repo::HashCache{});
  BOOST_TEST(plan.deleted_files == 3u);
  auto refused = check_mass_change(plan, 50, 50);
  BOOST_TEST_REQUIRE(!refused.has_value());
  BOOST_TEST(refused.error().kind == ErrorKind::refused);
  BOOST_TEST(check_mass_change(plan, 60, 50).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
