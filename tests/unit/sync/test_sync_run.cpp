// run_sync() end to end on the in-memory target with a small real repository.

#include <algorithm>
#include <fstream>

#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <boost/test/unit_test.hpp>
#include <fmt/format.h>

#include "repo/hash_cache.hpp"
#include "support.hpp"
#include "support/page_cache.hpp"

using namespace offsite;
using namespace offsite::test;
using sync::Outcome;

namespace {

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::size_t count_under(const std::vector<std::string>& paths, std::string_view prefix) {
  return static_cast<std::size_t>(
      std::count_if(paths.begin(), paths.end(), [&](const std::string& p) { return p.starts_with(prefix); }));
}

// `count` folders PC-00/Daily … of one small file each: a first sync whose uploads outrun its
// commits.
void put_single_file_folders(Bench& bench, int count) {
  for (int i = 0; i < count; ++i)
    bench.put(fmt::format("PC-{:02}/Daily/x.img", i), 2 * 1024);
}

// A request whose uploads wait while `limit` files of finished folders wait for their commit.
sync::SyncRequest with_commit_backlog_limit(std::size_t limit) {
  sync::SyncRequest request;
  request.files_awaiting_commit_limit = limit;
  return request;
}

// After a sync that ended early, the next one completes and the mirror equals the repository.
void expect_next_sync_completes(Bench& bench, const sync::SyncRequest& request) {
  auto next = bench.sync(request);
  BOOST_TEST_REQUIRE((next.outcome == Outcome::success));
  BOOST_TEST(bench.mirror_difference() == "");
}

} // namespace

BOOST_AUTO_TEST_SUITE(sync_run)

BOOST_AUTO_TEST_CASE(first_sync_mirrors_the_repository) {
  Bench bench;
  build_small_repository(bench, 1024 * 1024);
  auto result = bench.sync();
  BOOST_TEST(error_message(result) == "");
  BOOST_TEST_REQUIRE((result.outcome == Outcome::success));
  BOOST_TEST(bench.mirror_difference() == "");
  BOOST_TEST(bench.transaction_leftovers().empty());
  // Per-folder commits (per_folder_upload is on by default), folders that finish together sharing
  // a record: between one record and one per folder.
  BOOST_TEST(result.generation >= 1u);
  BOOST_TEST(result.generation <= k_small_folders);
  BOOST_TEST(result.folders_committed == k_small_folders);
  BOOST_TEST(result.files_uploaded.count() == k_small_files);
  BOOST_TEST(result.bytes_uploaded == 1024u * 1024 + 5 * 1024 + 70 * 1024 + 3 * 1024 + 17 + 5);
  BOOST_TEST(bench.last_bytes_sent == result.bytes_uploaded);
  auto id = bench.repository_id();
  BOOST_TEST(bench.store->file(".offsite/repository-id").value_or("") == id + "\n");
  auto state = committed_state(bench.store, id);
  BOOST_TEST(state.generation() == result.generation);
  BOOST_TEST(state.file_count() == k_small_files);
  BOOST_TEST(unreadable_committed_files(*bench.store, state) == "");
  BOOST_TEST_REQUIRE(state.record.has_value());
  BOOST_TEST(bench.store->file(".offsite/manifest.json").value_or("") == manifest::write_commit_record(*state.record));
  BOOST_TEST(files_under(*bench.store, ".offsite/lock/").empty()); // the lease is released
}

BOOST_AUTO_TEST_CASE(no_change_sync_writes_no_record_and_never_lists_the_mirror) {
  Bench bench;
  build_small_repository(bench, 1024 * 1024);
  auto first = bench.sync();
  BOOST_TEST_REQUIRE((first.outcome == Outcome::success));
  auto before = store_files(*bench.store);

  MemoryTarget memory(bench.store);
  RecordingTarget recorder(memory);
  auto result = bench.sync(recorder);
  BOOST_TEST(error_message(result) == "");
  BOOST_TEST_REQUIRE((result.outcome == Outcome::success));
  BOOST_TEST(result.generation == first.generation);
  BOOST_TEST(result.files_uploaded.empty());
  BOOST_TEST((store_files(*bench.store) == before)); // the lease came and went

  for (const auto& dir : recorder.paths(Op::list))
    BOOST_TEST(dir.starts_with(".offsite"), "listed outside .offsite/: '" << dir << "'");
  for (const auto& file : recorder.paths(Op::read_file))
    BOOST_TEST(file.starts_with(".offsite/"), "read outside .offsite/: " << file);
  // Reads: the repository ID and the committed record; its 5 folder manifests come from the
  // cache in state_dir, filled by the first sync's commits (sync/manifest_cache.hpp).
  BOOST_TEST(memory.count(Op::read_file) == 2u);
  // Lists: lock/ twice (before and after writing the lease; our own lease is read back by name),
  // commits/ (scan), tx/ (recovery), commits/ and .offsite/ (temporary names), tx/ (clean-up).
  BOOST_TEST(memory.count(Op::list) == 7u);
  // Writes: only the lease, then its removal.
  BOOST_TEST(recorder.paths(Op::write_new_file).size() == 1u);
  BOOST_TEST(count_under(recorder.paths(Op::write_new_file), ".offsite/lock/") == 1u);
  BOOST_TEST(memory.mutations() == 2u);
  BOOST_TEST(memory.count(Op::start_upload) == 0u);
  BOOST_TEST(memory.count(Op::rename_to_new) == 0u);
  BOOST_TEST(memory.count(Op::open_download) == 0u);
}

// The manifest cache is only a copy: a copy that is missing or differs from what the record says
// (size and XXH3-128) is read from the target instead, and the sync is the same.
BOOST_AUTO_TEST_CASE(manifest_cache_copies_that_do_not_match_are_read_from_the_target) {
  Bench bench;
  build_small_repository(bench, 1024 * 1024);
  auto first = bench.sync();
  BOOST_TEST_REQUIRE((first.outcome == Outcome::success));
  auto cache_dir = offsite::sync::repository_state_dir(bench.service.state_dir, bench.repository.name) / "manifests";
  std::vector<stdfs::path> copies;
  for (const auto& entry : stdfs::directory_iterator(cache_dir))
    copies.push_back(entry.path());
  BOOST_TEST_REQUIRE(copies.size() == std::size_t(k_small_folders));
  // One copy edited (same size), one truncated, one removed.
  {
    std::ifstream in(copies[0], std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    BOOST_TEST_REQUIRE(!bytes.empty());
    bytes[bytes.size() / 2] ^= 1;
    write_local(copies[0].parent_path(), copies[0].filename().string(), bytes, k_day1_s);
  }
  stdfs::resize_file(copies[1], 10);
  stdfs::remove(copies[2]);

  MemoryTarget memory(bench.store);
  auto result = bench.sync(memory);
  BOOST_TEST_REQUIRE((result.outcome == Outcome::success), error_message(result));
  BOOST_TEST((result.generation == first.generation && result.files_uploaded.empty()));
  BOOST_TEST(memory.count(Op::read_file) == 2u + 3u); // the three bad copies, read from the target
  // ...and cached again: the next sync reads none.
  MemoryTarget again(bench.store);
  BOOST_TEST_REQUIRE((bench.sync(again).outcome == Outcome::success));
  BOOST_TEST(again.count(Op::read_file) == 2u);
}

// A commit drops the copy of the manifest it replaces, so the next sync's prefetch reads only
// copies it can use (a copy per folder, not two after every day).
BOOST_AUTO_TEST_CASE(a_commit_drops_the_manifest_copy_it_replaces) {
  Bench bench;
  build_small_repository(bench);
  BOOST_TEST_REQUIRE((bench.sync().outcome == Outcome::success));
  auto cache_dir = offsite::sync::repository_state_dir(bench.service.state_dir, bench.repository.name) / "manifests";
  auto copies = [&] { return std::distance(stdfs::directory_iterator(cache_dir), stdfs::directory_iterator()); };
  BOOST_TEST_REQUIRE(copies() == k_small_folders);
  write_local(bench.root() / "PC-1" / "Daily", "next.img", "next day", k_day2_s);
  auto next = bench.sync();
  BOOST_TEST_REQUIRE((next.outcome == Outcome::success), error_message(next));
  BOOST_TEST(copies() == k_small_folders);
  MemoryTarget again(bench.store);
  BOOST_TEST_REQUIRE((bench.sync(again).outcome == Outcome::success));
  BOOST_TEST(again.count(Op::read_file) == 2u); // the ID and the record; every copy served
}

// The copies are read and parsed while the target connects (ManifestCache::prefetch): here the
// connect takes 300 ms and, before it answers, removes every copy. Read before, they still
// serve; read after the connect, as before the prefetch, all 5 would come from the target.
class SlowConnectRemovingCopies final : public MemoryTarget {
public:
  SlowConnectRemovingCopies(std::shared_ptr<MemoryStore> store, stdfs::path copies)
      : MemoryTarget(std::move(store)), m_copies(std::move(copies)) {}
  asio::awaitable<Result<void>> connect() override {
    asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(300));
    co_await timer.async_wait(asio::use_awaitable);
    stdfs::remove_all(m_copies);
    co_return co_await MemoryTarget::connect();
  }

private:
  stdfs::path m_copies;
};

BOOST_AUTO_TEST_CASE(manifest_cache_copies_are_read_while_the_target_connects) {
  Bench bench;
  build_small_repository(bench);
  BOOST_TEST_REQUIRE((bench.sync().outcome == Outcome::success));
  auto cache_dir = offsite::sync::repository_state_dir(bench.service.state_dir, bench.repository.name) / "manifests";
  SlowConnectRemovingCopies target(bench.store, cache_dir);
  auto result = bench.sync(target);
  BOOST_TEST_REQUIRE((result.outcome == Outcome::success), error_message(result));
  BOOST_TEST(!stdfs::exists(cache_dir));
  BOOST_TEST(target.count(Op::read_file) == 2u); // the ID and the record; no manifest
  // A dry run reads the target's manifests, not the copies (it writes nothing, the cache neither).
  // The copies first come back: a sync that finds none reads the manifests and keeps copies.
  BOOST_TEST_REQUIRE((bench.sync().outcome == Outcome::success));
  BOOST_TEST_REQUIRE(std::distance(stdfs::directory_iterator(cache_dir), stdfs::directory_iterator()) ==
                     k_small_folders);
  write_local(bench.root() / "PC-1" / "Daily", "dry.img", "x", k_day2_s);
  SlowConnectRemovingCopies dry(bench.store, cache_dir);
  sync::SyncRequest request;
  request.dry_run = true;
  BOOST_TEST_REQUIRE((bench.sync(dry, request).outcome == Outcome::success));
  BOOST_TEST(dry.count(Op::read_file) == 2u + std::size_t(k_small_folders));
}

BOOST_AUTO_TEST_CASE(next_day_changes_end_equal) {
  Bench bench;
  build_small_repository(bench);
  BOOST_TEST_REQUIRE((bench.sync().outcome == Outcome::success));
  next_day_changes(bench);
  auto result = bench.sync();
  BOOST_TEST(error_message(result) == "");
  BOOST_TEST_REQUIRE((result.outcome == Outcome::success));
  BOOST_TEST(bench.mirror_difference() == "");
  BOOST_TEST(bench.transaction_leftovers().empty());
  // The touched file (same bytes) is not sent again.
  BOOST_TEST(sorted(result.files_uploaded.listed()) ==
                 (std::vector<std::string>{"PC-1/Daily/sub/inc-2.img", "PC-1/Weekly/w.img"}),
             boost::test_tools::per_element());
  BOOST_TEST(result.files_deleted.listed() == (std::vector<std::string>{"PC-2/Daily/d.img"}),
             boost::test_tools::per_element());
  BOOST_TEST(result.bytes_uploaded == 9u * 1024 + 70 * 1024);
  auto state = committed_state(bench.store, bench.repository_id());
  BOOST_TEST(state.folders.count("PC-2/Daily") == 0u); // its only file is gone
  const auto* notes = state.find_any("PC-2/notes.txt");
  BOOST_TEST_REQUIRE(notes != nullptr);
  BOOST_TEST(notes->mtime_ns == k_day2_s * 1'000'000'000); // mtime refreshed in the manifest
  BOOST_TEST(unreadable_committed_files(*bench.store, state) == "");

  // And the day after, nothing changed: no record.
  auto again = bench.sync();
  BOOST_TEST((again.outcome == Outcome::success));
  BOOST_TEST(again.generation == result.generation);
  BOOST_TEST(again.files_uploaded.empty());
}

// The apply's moves and removals must survive a power cut before its transaction directory goes
// (removing it ends the roll-forward): the apply ends with make_durable(), and the clean-up comes
// after it (target.hpp, local_owed_syncs.hpp).
BOOST_AUTO_TEST_CASE(the_apply_is_made_durable_before_its_transaction_directory_goes) {
  Bench bench;
  build_small_repository(bench);
  BOOST_TEST_REQUIRE((bench.sync().outcome == Outcome::success));
  next_day_changes(bench);
  MemoryTarget memory(bench.store);
  RecordingTarget recorder(memory);
  auto result = bench.sync(recorder);
  BOOST_TEST_REQUIRE((result.outcome == Outcome::success), error_message(result));
  // Each folder's record is applied as it commits; the transaction directory goes at the end.
  const auto& calls = recorder.calls;
  auto tx_removed = std::find_if(calls.begin(), calls.end(), [](const RecordingTarget::Call& call) {
    return call.op == Op::remove_directory && call.path.starts_with(".offsite/tx/");
  });
  BOOST_TEST_REQUIRE((tx_removed != calls.end()));
  std::optional<std::size_t> last_apply_step, last_durable;
  for (auto call = calls.begin(); call != tx_removed; ++call) {
    auto index = static_cast<std::size_t>(call - calls.begin());
    bool final_path = !call->path.starts_with(".offsite");
    if ((call->op == Op::rename_to_new || call->op == Op::remove) && final_path) last_apply_step = index;
    if (call->op == Op::make_durable) last_durable = index;
  }
  BOOST_TEST_REQUIRE(last_apply_step.has_value());
  BOOST_TEST_REQUIRE(last_durable.has_value());
  BOOST_TEST(*last_apply_step < *last_durable);
}

// Uploads wait for commits when files of finished folders pile up (transfer.hpp): a first sync of
// many small folders, whose uploads outrun commit and apply, holds a bounded backlog. Counted
// from the outside: files whose upload started against files named by the records written.
// The hash cache holds only what the committed state cannot say (repo/hash_cache.hpp): after a
// sync that commits everything it is empty, and a touched file whose equal bytes a sync proved
// but could not commit is not read again by the next sync.
BOOST_AUTO_TEST_CASE(hash_cache_keeps_only_touched_files_that_a_failed_commit_proved_equal) {
  Bench bench;
  bench.put("PC-1/Daily/a.img", 50 * 1024);
  bench.put("PC-1/Daily/b.img", 20 * 1024);
  BOOST_TEST_REQUIRE((bench.sync().outcome == Outcome::success));
  auto cache_file = sync::repository_state_dir(bench.service.state_dir, bench.repository.name) / "hash-cache";
  BOOST_TEST(repo::HashCache::load(cache_file).size() == 0u); // the committed state says it all

  bench.touch("PC-1/Daily/a.img", k_day2_s);
  MemoryTarget failing(bench.store);
  failing.fail_path(Op::write_new_file, "commits/", ErrorKind::permanent);
  auto failed = bench.sync(failing);
  BOOST_TEST_REQUIRE((failed.outcome != Outcome::success));
  BOOST_TEST(bench.last_bytes_to_read == 50u * 1024); // read, to learn that its bytes are the same
  BOOST_TEST(repo::HashCache::load(cache_file).size() == 1u);

  auto next = bench.sync();
  BOOST_TEST_REQUIRE((next.outcome == Outcome::success), error_message(next));
  BOOST_TEST(bench.last_bytes_to_read == 0u); // the cache proved it: not read again
  BOOST_TEST(next.files_uploaded.empty());
  auto state = committed_state(bench.store, bench.repository_id());
  const auto* a = state.find_any("PC-1/Daily/a.img");
  BOOST_TEST_REQUIRE(a != nullptr);
  BOOST_TEST(a->mtime_ns == k_day2_s * 1'000'000'000); // committed with its new mtime
  BOOST_TEST(repo::HashCache::load(cache_file).size() == 0u);
}

// A file of more than one chunk keeps the hash of each chunk; a touched one is compared chunk by
// chunk, so a full rewritten in place (same size) is read about once instead of twice.
std::vector<std::string> hex_of(const std::vector<Hash128>& hashes) {
  std::vector<std::string> out;
  for (const auto& hash : hashes)
    out.push_back(hash.to_hex());
  return out;
}

BOOST_AUTO_TEST_CASE(large_files_keep_chunk_hashes_and_a_rewrite_in_place_is_read_about_once) {
  Bench bench; // chunk_size 64 KiB
  const std::uint64_t chunk = bench.repository.chunk_size;
  const std::uint64_t size = 4 * chunk + 44 * 1024; // five chunks, the last one short
  bench.put("PC-1/Daily/full.img", size, 1);
  bench.put("PC-1/Daily/inc.img", 10 * 1024);
  BOOST_TEST_REQUIRE((bench.sync().outcome == Outcome::success));
  auto chunk_hashes = [&]() {
    std::ifstream in(bench.root() / "PC-1/Daily/full.img", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<Hash128> hashes;
    for (std::size_t at = 0; at < bytes.size(); at += chunk)
      hashes.push_back(xxh3_128(std::string_view(bytes).substr(at, chunk)));
    return hashes;
  };
  auto committed_full = [&]() {
    auto state = committed_state(bench.store, bench.repository_id());
    const auto* entry = state.find_any("PC-1/Daily/full.img");
    BOOST_TEST_REQUIRE(entry != nullptr);
    return *entry;
  };
  auto first = committed_full();
  BOOST_TEST(first.chunks.chunk_size() == chunk);
  BOOST_TEST(hex_of(first.chunks.hashes()) == hex_of(chunk_hashes()), boost::test_tools::per_element());
  auto state = committed_state(bench.store, bench.repository_id());
  BOOST_TEST(state.find_any("PC-1/Daily/inc.img")->chunks.empty()); // one chunk: the file's own hash

  // Touched, same bytes: read once to compare, not uploaded; the chunk hashes stay.
  bench.touch("PC-1/Daily/full.img", k_day2_s);
  auto touched = bench.sync();
  BOOST_TEST_REQUIRE((touched.outcome == Outcome::success), error_message(touched));
  BOOST_TEST(touched.files_uploaded.empty());
  BOOST_TEST(bench.last_bytes_read == size);
  BOOST_TEST(hex_of(committed_full().chunks.hashes()) == hex_of(first.chunks.hashes()),
             boost::test_tools::per_element());
  BOOST_TEST(committed_full().mtime_ns == k_day2_s * 1'000'000'000);

  // Rewritten in place, same size: the first chunk differs, so the compare stops there and the
  // upload reads it again: size + one chunk, not twice the size.
  bench.put("PC-1/Daily/full.img", size, 2, k_day2_s + 86400);
  auto rewritten = bench.sync();
  BOOST_TEST_REQUIRE((rewritten.outcome == Outcome::success), error_message(rewritten));
  BOOST_TEST(rewritten.files_uploaded.listed() == std::vector<std::string>{"PC-1/Daily/full.img"},
             boost::test_tools::per_element());
  BOOST_TEST(bench.last_bytes_read == size + chunk);
  BOOST_TEST(hex_of(committed_full().chunks.hashes()) == hex_of(chunk_hashes()), boost::test_tools::per_element());
  BOOST_TEST(bench.mirror_difference() == "");

  // Only the last chunk differs: every chunk is compared, then the file is uploaded.
  {
    std::fstream out(bench.root() / "PC-1/Daily/full.img", std::ios::binary | std::ios::in | std::ios::out);
    out.seekp(static_cast<std::streamoff>(size - 1));
    out.put('\x5a');
  }
  bench.touch("PC-1/Daily/full.img", k_day2_s + 2 * 86400);
  auto tail = bench.sync();
  BOOST_TEST_REQUIRE((tail.outcome == Outcome::success), error_message(tail));
  BOOST_TEST(tail.files_uploaded.count() == 1u);
  BOOST_TEST(bench.last_bytes_read == 2 * size);
  BOOST_TEST(hex_of(committed_full().chunks.hashes()) == hex_of(chunk_hashes()), boost::test_tools::per_element());
  BOOST_TEST(bench.mirror_difference() == "");
}

// What a sync reads leaves the page cache (uploader.cpp, "Drop behind"): uploaded files, and a
// touched file whose compare proved its bytes unchanged. A file that does not change is not read.
BOOST_AUTO_TEST_CASE(what_a_sync_reads_leaves_the_page_cache) {
  Bench bench; // chunk_size 64 KiB
  if (!page_cache_drops(bench.root() / "probe")) {
    BOOST_TEST_MESSAGE("this file system keeps every page (tmpfs?): nothing to observe here");
    return;
  }
  const std::size_t size = 4 * bench.repository.chunk_size + 1000;
  bench.put("PC-1/Daily/full.img", size, 1);
  bench.put("PC-1/Daily/kept.img", size, 2);
  auto full = bench.root() / "PC-1/Daily/full.img";
  auto kept = bench.root() / "PC-1/Daily/kept.img";
  cache_whole_file(full);
  BOOST_TEST_REQUIRE(resident_pages(full, size) > 0u);
  BOOST_TEST_REQUIRE((bench.sync().outcome == Outcome::success));
  BOOST_TEST(resident_pages(full, size) == 0u);

  bench.touch("PC-1/Daily/full.img", k_day2_s); // same bytes: compared, not uploaded
  cache_whole_file(full);
  cache_whole_file(kept);
  auto touched = bench.sync();
  BOOST_TEST_REQUIRE((touched.outcome == Outcome::success), error_message(touched));
  BOOST_TEST(touched.files_uploaded.empty());
  BOOST_TEST(resident_pages(full, size) == 0u);
  BOOST_TEST(resident_pages(kept, size) > 0u); // not read, so not dropped either
}

// A MemoryTarget that counts the moves into place running at once.
class RenameOverlapProbe : public MemoryTarget {
public:
  using MemoryTarget::MemoryTarget;
  int most_renames_at_once = 0;

  asio::awaitable<Result<void>> rename_to_new(std::string from, std::string to) override {
    most_renames_at_once = std::max(most_renames_at_once, ++m_renames);
    auto moved = co_await MemoryTarget::rename_to_new(std::move(from), std::move(to));
    --m_renames;
    co_return moved;
  }

private:
  int m_renames = 0;
};

// The apply moves files into place four at a time (transaction.cpp), not one after another.
BOOST_AUTO_TEST_CASE(apply_overlaps_its_moves) {
  Bench bench;
  for (int i = 0; i < 8; ++i)
    bench.put(fmt::format("PC-1/Daily/f-{}.img", i), 1024);
  RenameOverlapProbe probe(bench.store);
  auto result = bench.sync(probe);
  BOOST_TEST_REQUIRE((result.outcome == Outcome::success), error_message(result));
  BOOST_TEST(probe.most_renames_at_once >= 2);
  BOOST_TEST(probe.most_renames_at_once <= 4);
  BOOST_TEST(bench.mirror_difference() == "");
}

// A touched file whose committed entry has no chunk hashes of this chunk size (chunk_size changed,
// or an older version committed it) is hashed whole, and keeps its chunk hashes from then on.
BOOST_AUTO_TEST_CASE(a_touched_file_without_chunk_hashes_gains_them) {
  Bench bench;
  bench.repository.chunk_size = 1024 * 1024; // one chunk: no chunk hashes
  const std::uint64_t size = 300 * 1024;
  bench.put("PC-1/Daily/full.img", size, 1);
  for (int i = 0; i < 3; ++i) // so that one touched file is no mass change
    bench.put(fmt::format("PC-1/Daily/inc-{}.img", i), 1000);
  BOOST_TEST_REQUIRE((bench.sync().outcome == Outcome::success));
  auto committed_full = [&]() {
    auto state = committed_state(bench.store, bench.repository_id());
    const auto* entry = state.find_any("PC-1/Daily/full.img");
    BOOST_TEST_REQUIRE(entry != nullptr);
    return *entry;
  };
  BOOST_TEST(committed_full().chunks.empty());

  bench.repository.chunk_size = 64 * 1024;
  bench.touch("PC-1/Daily/full.img", k_day2_s);
  auto touched = bench.sync();
  BOOST_TEST_REQUIRE((touched.outcome == Outcome::success), error_message(touched));
  BOOST_TEST(touched.files_uploaded.empty());
  BOOST_TEST(bench.last_bytes_read == size);
  auto entry = committed_full();
  BOOST_TEST(entry.chunks.chunk_size() == 64u * 1024);
  BOOST_TEST(entry.chunks.hashes().size() == 5u);
}

// A file that becomes a directory: the apply removes the file before it moves new files under its
// name (on a target that ignores case, likewise `A.img` before `a.img`).
BOOST_AUTO_TEST_CASE(a_file_that_becomes_a_directory_is_replaced_by_it) {
  Bench bench;
  bench.put("PC-1/Daily/a", 1000);
  bench.put("PC-1/Daily/keep.img", 1000);
  BOOST_TEST_REQUIRE((bench.sync().outcome == Outcome::success));
  bench.remove("PC-1/Daily/a");
  bench.put("PC-1/Daily/a/b.img", 2000, 0, k_day2_s);
  auto next = bench.sync();
  BOOST_TEST_REQUIRE((next.outcome == Outcome::success), error_message(next));
  BOOST_TEST(next.files_deleted.listed() == std::vector<std::string>{"PC-1/Daily/a"}, boost::test_tools::per_element());
  BOOST_TEST(bench.mirror_difference() == "");
}

// A directory that becomes a file: the apply removes the files below it, then the empty
// directories, then moves the file into place (it used to fail there, and every apply after it).
BOOST_AUTO_TEST_CASE(a_directory_that_becomes_a_file_is_replaced_by_it) {
  Bench bench;
  bench.put("PC-1/Daily/a/x/b.img", 1000);
  bench.put("PC-1/Daily/keep.img", 1000);
  BOOST_TEST_REQUIRE((bench.sync().outcome == Outcome::success));
  stdfs::remove_all(bench.root() / "PC-1/Daily/a");
  bench.put("PC-1/Daily/a", 2000, 0, k_day2_s);
  auto next = bench.sync();
  BOOST_TEST_REQUIRE((next.outcome == Outcome::success), error_message(next));
  BOOST_TEST(bench.mirror_difference() == "");
  BOOST_TEST(bench.store->file("PC-1/Daily/a").has_value()); // a file now, not a directory
}

// ...unless something the state does not name is left below it: then the error names it, it is
// kept, and once it is moved away the next sync rolls the apply forward.
BOOST_AUTO_TEST_CASE(a_directory_that_becomes_a_file_keeps_foreign_files_and_says_so) {
  Bench bench;
  bench.put("PC-1/Daily/a/x/b.img", 1000);
  bench.put("PC-1/Daily/keep.img", 1000);
  BOOST_TEST_REQUIRE((bench.sync().outcome == Outcome::success));
  bench.store->put_file("PC-1/Daily/a/x/notes.txt", "not ours");
  stdfs::remove_all(bench.root() / "PC-1/Daily/a");
  bench.put("PC-1/Daily/a", 2000, 0, k_day2_s);
  auto refused = bench.sync();
  BOOST_TEST_REQUIRE((refused.outcome == Outcome::failed));
  BOOST_TEST(error_message(refused).find("PC-1/Daily/a/x/notes.txt") != std::string::npos, error_message(refused));
  BOOST_TEST(bench.store->file("PC-1/Daily/a/x/notes.txt").value_or("") == "not ours");

  bench.store->nodes.erase("PC-1/Daily/a/x/notes.txt");
  bench.later();
  auto next = bench.sync();
  BOOST_TEST_REQUIRE((next.outcome == Outcome::success), error_message(next));
  BOOST_TEST(bench.mirror_difference() == "");
}

// A hash cache written by an older version (an entry per file) is pruned and saved by the next
// sync even when it has nothing to upload.
BOOST_AUTO_TEST_CASE(a_no_change_sync_saves_a_pruned_hash_cache) {
  Bench bench;
  bench.put("PC-1/Daily/a.img", 1000);
  BOOST_TEST_REQUIRE((bench.sync().outcome == Outcome::success));
  auto cache_file = sync::repository_state_dir(bench.service.state_dir, bench.repository.name) / "hash-cache";
  repo::HashCache old;
  repo::LocalFile stale{"PC-1/Daily/a.img", 1000, 1, 2, 3};
  old.store(stale, xxh3_128(std::string_view("old")));
  BOOST_TEST_REQUIRE(old.save(cache_file).has_value());
  BOOST_TEST_REQUIRE(repo::HashCache::load(cache_file).size() == 1u);
  auto again = bench.sync();
  BOOST_TEST_REQUIRE((again.outcome == Outcome::success), error_message(again));
  BOOST_TEST(again.generation == 1u); // nothing to commit
  BOOST_TEST(repo::HashCache::load(cache_file).size() == 0u);
}

// A result names the first 1000 paths of a list and counts them all; a dry run names them all.
BOOST_AUTO_TEST_CASE(result_lists_name_the_first_thousand_paths_and_count_them_all) {
  sync::SyncResult result;
  for (int i = 0; i < 1500; ++i)
    result.files_uploaded.add(fmt::format("PC-1/Daily/f-{:04}.img", i));
  BOOST_TEST(result.files_uploaded.count() == 1500u);
  BOOST_TEST_REQUIRE(result.files_uploaded.listed().size() == 1000u);
  BOOST_TEST(result.files_uploaded.listed().back() == "PC-1/Daily/f-0999.img");
  auto json = sync::result_to_json(result);
  BOOST_TEST(json.find("\"files_uploaded_count\":1500") != std::string::npos, json.substr(0, 300));
  BOOST_TEST(json.find("f-0999.img") != std::string::npos);
  BOOST_TEST(json.find("f-1000.img") == std::string::npos);

  Bench bench;
  for (int i = 0; i < 1001; ++i)
    bench.put_text(fmt::format("PC-1/Daily/f-{:04}.img", i), "x");
  sync::SyncRequest dry;
  dry.dry_run = true;
  auto planned = bench.sync(dry);
  BOOST_TEST_REQUIRE((planned.outcome == Outcome::success), error_message(planned));
  BOOST_TEST(planned.files_uploaded.count() == 1001u);
  BOOST_TEST(planned.files_uploaded.listed().size() == 1001u);
}

BOOST_AUTO_TEST_CASE(uploads_wait_while_finished_folders_await_their_commit) {
  Bench bench;
  put_single_file_folders(bench, 48);
  MemoryTarget memory(bench.store);
  RecordingTarget recorder(memory);
  std::size_t started = 0, committed = 0, most_ahead = 0;
  recorder.after = [&](Op op, const std::string& path) {
    if (op == Op::start_upload) {
      ++started;
      most_ahead = std::max(most_ahead, started - std::min(started, committed));
    }
    if (op == Op::write_new_file && path.starts_with(".offsite/commits/")) {
      auto record = bench.store->file(path);
      BOOST_TEST_REQUIRE(record.has_value());
      for (auto at = record->find("\"staged\":"); at != std::string::npos; at = record->find("\"staged\":", at + 1))
        ++committed; // one per pending file
    }
  };
  auto request = with_commit_backlog_limit(3);
  auto result = bench.sync(recorder, request);
  BOOST_TEST_REQUIRE((result.outcome == Outcome::success));
  BOOST_TEST(committed == 48u);
  BOOST_TEST(bench.mirror_difference() == "");
  // At most the limit waiting, plus those that finished while a worker was starting its next
  // file, plus those in flight.
  std::size_t concurrency = static_cast<std::size_t>(bench.repository.concurrency);
  BOOST_TEST(most_ahead <= 3 + 2 * concurrency);
}

// A stop reaches the uploads waiting for room: the sync ends (incomplete) instead of hanging, and
// the next one completes.
BOOST_AUTO_TEST_CASE(a_stop_reaches_uploads_waiting_for_commits) {
  Bench bench;
  put_single_file_folders(bench, 40);
  MemoryTarget memory(bench.store);
  RecordingTarget recorder(memory);
  Stopper stopper;
  std::size_t records = 0;
  recorder.after = [&](Op op, const std::string& path) {
    if (op == Op::write_new_file && path.starts_with(".offsite/commits/") && ++records == 2) stopper.request();
  };
  auto request = with_commit_backlog_limit(1);
  auto stopped = bench.sync(recorder, request, stopper);
  BOOST_TEST((stopped.outcome == Outcome::incomplete));
  BOOST_TEST(stopped.files_uploaded.count() < 40u);
  bench.later();
  expect_next_sync_completes(bench, request);
}

// A failed upload ends the sync while other uploads wait for room: they are woken to end too. (The
// interleaving where no commit would ever wake them is narrow; the worker's end wakes them.)
BOOST_AUTO_TEST_CASE(a_failed_upload_ends_uploads_waiting_for_commits) {
  Bench bench;
  put_single_file_folders(bench, 40);
  MemoryTarget memory(bench.store);
  memory.fail_path(Op::start_upload, "PC-20/", ErrorKind::permanent);
  auto request = with_commit_backlog_limit(1);
  auto failed = bench.sync(memory, request);
  BOOST_TEST((failed.outcome == Outcome::failed));
  BOOST_TEST(failed.files_uploaded.count() < 40u);
  expect_next_sync_completes(bench, request);
}

// Only files of finished folders count: a folder larger than the limit still finishes (a wait on
// its own commit would never end).
BOOST_AUTO_TEST_CASE(a_folder_larger_than_the_commit_backlog_limit_completes) {
  Bench bench;
  for (int i = 0; i < 12; ++i)
    bench.put(fmt::format("PC-01/Big/f{:02}.img", i), 1024);
  for (int i = 0; i < 6; ++i)
    bench.put(fmt::format("PC-02/D{}/x.img", i), 1024);
  auto request = with_commit_backlog_limit(3);
  auto result = bench.sync(request);
  BOOST_TEST_REQUIRE((result.outcome == Outcome::success));
  BOOST_TEST(result.files_uploaded.count() == 18u);
  BOOST_TEST(bench.mirror_difference() == "");
}

BOOST_AUTO_TEST_CASE(per_folder_upload_commits_folders_as_they_finish) {
  Bench bench;
  build_small_repository(bench);
  // Folders enough that the last upload cannot start before the first commit whatever the
  // threads' timing (with the six files alone, it sometimes did).
  for (int i = 0; i < 16; ++i)
    bench.put(fmt::format("PC-3/Day-{:02}/x.img", i), 64 * 1024);
  MemoryTarget memory(bench.store);
  RecordingTarget recorder(memory);
  auto result = bench.sync(recorder);
  BOOST_TEST_REQUIRE((result.outcome == Outcome::success));
  auto records = count_under(recorder.paths(Op::write_new_file), ".offsite/commits/");
  BOOST_TEST(records == result.generation);
  BOOST_TEST(bench.mirror_difference() == "");
  // Not one record at the end: the first record is written before the last upload starts (the
  // folders finished first are committed while the others upload; those that finish while a
  // record is being written share the next one).
  std::size_t first_record = recorder.calls.size(), last_upload = 0;
  for (std::size_t i = 0; i < recorder.calls.size(); ++i) {
    const auto& call = recorder.calls[i];
    if (call.op == Op::write_new_file && call.path.starts_with(".offsite/commits/"))
      first_record = std::min(first_record, i);
    if (call.op == Op::start_upload) last_upload = i;
  }
  BOOST_TEST(first_record < last_upload);
  BOOST_TEST(records >= 2u);
  // manifest.json is a copy of the last record, written once per sync rather than per record.
  auto copy = bench.store->file(".offsite/manifest.json");
  auto last = bench.store->file(".offsite/commits/" + std::to_string(result.generation) + ".json");
  BOOST_TEST_REQUIRE(copy.has_value());
  BOOST_TEST_REQUIRE(last.has_value());
  BOOST_TEST(*copy == *last);
  BOOST_TEST(count_under(recorder.paths(Op::write_new_file), ".offsite/manifest.json") == 1u);
}

BOOST_AUTO_TEST_CASE(one_record_per_sync_without_per_folder_upload) {
  Bench bench;
  bench.repository.per_folder_upload = false;
  build_small_repository(bench);
  MemoryTarget memory(bench.store);
  RecordingTarget recorder(memory);
  auto result = bench.sync(recorder);
  BOOST_TEST_REQUIRE((result.outcome == Outcome::success));
  BOOST_TEST(count_under(recorder.paths(Op::write_new_file), ".offsite/commits/") == 1u);
  BOOST_TEST(result.generation == 1u);
  BOOST_TEST(bench.mirror_difference() == "");
  auto state = committed_state(bench.store, bench.repository_id());
  BOOST_TEST(state.folders.size() == k_small_folders);
  BOOST_TEST(state.file_count() == k_small_files);

  next_day_changes(bench);
  MemoryTarget next(bench.store);
  RecordingTarget next_recorder(next);
  auto second = bench.sync(next_recorder);
  BOOST_TEST_REQUIRE((second.outcome == Outcome::success));
  BOOST_TEST(count_under(next_recorder.paths(Op::write_new_file), ".offsite/commits/") == 1u);
  BOOST_TEST(second.generation == 2u);
  BOOST_TEST(bench.mirror_difference() == "");
}

BOOST_AUTO_TEST_CASE(delete_guard_refuses_and_writes_nothing) {
  Bench bench;
  build_small_repository(bench);
  BOOST_TEST_REQUIRE((bench.sync().outcome == Outcome::success));
  auto before = store_files(*bench.store);
  // 4 of 6 committed files deleted: 67% > max_delete_percent 50.
  bench.remove("PC-1/Daily/full.img");
  bench.remove("PC-1/Daily/sub/inc-1.img");
  bench.remove("PC-1/Weekly/w.img");
  bench.remove("PC-2/Daily/d.img");
  auto refused = bench.sync();
  BOOST_TEST((refused.outcome == Outcome::failed));
  BOOST_TEST_REQUIRE(refused.error.has_value());
  BOOST_TEST(refused.error->kind == ErrorKind::refused);
  BOOST_TEST(refused.error->message.find("deletes 4 of 6") != std::string::npos, refused.error->message);
  BOOST_TEST((store_files(*bench.store) == before));

  auto allowed = bench.sync(sync::SyncRequest{false, true, false});
  BOOST_TEST(error_message(allowed) == "");
  BOOST_TEST((allowed.outcome == Outcome::success));
  BOOST_TEST(bench.mirror_difference() == "");
  BOOST_TEST(allowed.files_deleted.count() == 4u);
}

BOOST_AUTO_TEST_CASE(change_guard_refuses_a_rewritten_repository) {
  Bench bench;
  bench.repository.max_change_percent = 30;
  build_small_repository(bench);
  BOOST_TEST_REQUIRE((bench.sync().outcome == Outcome::success));
  auto before = store_files(*bench.store);
  // 2 of 6 rewritten (33% > 30%), as ransomware would: other bytes, other sizes.
  bench.put("PC-1/Daily/full.img", 200 * 1024 + 16, 77, k_day2_s);
  bench.put("PC-1/Weekly/w.img", 70 * 1024 + 16, 78, k_day2_s);
  auto refused = bench.sync();
  BOOST_TEST_REQUIRE(refused.error.has_value());
  BOOST_TEST(refused.error->kind == ErrorKind::refused);
  BOOST_TEST(refused.error->message.find("max_change_percent") != std::string::npos, refused.error->message);
  BOOST_TEST((store_files(*bench.store) == before));

  auto allowed = bench.sync(sync::SyncRequest{false, true, false});
  BOOST_TEST((allowed.outcome == Outcome::success));
  BOOST_TEST(bench.mirror_difference() == "");
}

BOOST_AUTO_TEST_CASE(id_mismatch_stops_before_anything_is_written) {
  Bench bench;
  build_small_repository(bench);
  BOOST_TEST_REQUIRE((bench.sync().outcome == Outcome::success));
  bench.store->put_file(".offsite/repository-id", "0f8fad5b-d9cb-469f-a165-70867728950e\n");
  bench.put("PC-1/new.img", 100, 0, k_day2_s);
  auto before = store_files(*bench.store);
  auto mutations = bench.store->mutations;
  auto result = bench.sync();
  BOOST_TEST((result.outcome == Outcome::failed));
  BOOST_TEST_REQUIRE(result.error.has_value());
  BOOST_TEST(result.error->kind == ErrorKind::id_mismatch);
  BOOST_TEST(result.error->message.find("Remote server ID does not match this repository") != std::string::npos);
  BOOST_TEST(result.error->message.find("offsite reinitialize \"Test\"") != std::string::npos);
  BOOST_TEST((store_files(*bench.store) == before));
  BOOST_TEST(bench.store->mutations == mutations);
}

BOOST_AUTO_TEST_CASE(lost_local_id_makes_a_new_one_that_does_not_match) {
  Bench bench;
  build_small_repository(bench);
  BOOST_TEST_REQUIRE((bench.sync().outcome == Outcome::success));
  auto old_id = bench.repository_id();
  stdfs::remove(repo::repository_id_file(bench.root()));
  auto before = store_files(*bench.store);
  auto result = bench.sync();
  BOOST_TEST_REQUIRE(result.error.has_value());
  BOOST_TEST(result.error->kind == ErrorKind::id_mismatch);
  BOOST_TEST(bench.repository_id() != old_id);
  BOOST_TEST((store_files(*bench.store) == before));
}

BOOST_AUTO_TEST_CASE(claiming_a_folder_with_foreign_files_is_refused_listing_them) {
  Bench bench;
  build_small_repository(bench);
  bench.store->put_file("old/data.bin", "old data");
  bench.store->put_file("notes.txt", "someone's notes");
  auto before = store_files(*bench.store);
  auto result = bench.sync();
  BOOST_TEST((result.outcome == Outcome::failed));
  BOOST_TEST_REQUIRE(result.error.has_value());
  BOOST_TEST(result.error->kind == ErrorKind::refused);
  BOOST_TEST(result.error->message.find("old/") != std::string::npos, result.error->message);
  BOOST_TEST(result.error->message.find("notes.txt") != std::string::npos, result.error->message);
  BOOST_TEST((store_files(*bench.store) == before));
  BOOST_TEST(!bench.store->exists(".offsite/repository-id"));
}

BOOST_AUTO_TEST_CASE(take_over_claims_another_repositorys_folder) {
  Bench other;
  other.put("PC-9/Daily/old.img", 3000);
  BOOST_TEST_REQUIRE((other.sync().outcome == Outcome::success));
  auto other_id = other.repository_id();

  Bench bench;
  bench.store = other.store; // the same remote folder
  build_small_repository(bench);
  auto refused = bench.sync();
  BOOST_TEST_REQUIRE(refused.error.has_value());
  BOOST_TEST(refused.error->kind == ErrorKind::id_mismatch);

  auto taken = bench.sync(sync::SyncRequest{true, false, false});
  BOOST_TEST(error_message(taken) == "");
  BOOST_TEST_REQUIRE((taken.outcome == Outcome::success));
  auto id = bench.repository_id();
  BOOST_TEST(bench.store->file(".offsite/repository-id").value_or("") == id + "\n");
  auto state = committed_state(bench.store, id);
  BOOST_TEST(state.file_count() == k_small_files);
  BOOST_TEST(unreadable_committed_files(*bench.store, state) == "");
  // Our records continue above the previous owner's names, whose records are cleaned up.
  BOOST_TEST(state.generation() > 1u);
  BOOST_TEST(!committed_state(bench.store, other_id).record.has_value());
  // The previous owner's files are deleted after the first commit (BRIEF §5.8).
  BOOST_TEST(bench.mirror_difference() == "");
  // The previous owner now meets the mismatch.
  auto other_again = other.sync();
  BOOST_TEST_REQUIRE(other_again.error.has_value());
  BOOST_TEST(other_again.error->kind == ErrorKind::id_mismatch);
  // And this repository syncs on as usual.
  auto next = bench.sync();
  BOOST_TEST((next.outcome == Outcome::success));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(sync_run)

BOOST_AUTO_TEST_CASE(files_the_target_cannot_hold_are_reported_and_keep_their_committed_copies) {
  Bench bench;
  bench.put("PC-1/Daily/small.img", 1000);
  bench.put("PC-1/Daily/big.img", 3000);
  BOOST_TEST_REQUIRE((bench.sync().outcome == Outcome::success));
  // The target now holds at most 4000 bytes a file (a FAT32-like limit); big.img grows past it.
  bench.options.capabilities.max_file_size = 4000;
  bench.put("PC-1/Daily/big.img", 5000, 7, k_day1_s + 60);
  bench.put("PC-1/Daily/new.img", 100);
  auto result = bench.sync();
  BOOST_TEST((result.outcome == Outcome::failed)); // failed, after everything else was committed
  BOOST_TEST_REQUIRE(result.files_skipped.size() == 1u);
  BOOST_TEST(result.files_skipped[0].path == "PC-1/Daily/big.img");
  BOOST_TEST(result.files_skipped[0].reason.find("larger than the target can hold") != std::string::npos);
  BOOST_TEST(result.files_uploaded.listed() == std::vector<std::string>{"PC-1/Daily/new.img"});
  auto mirror = mirror_files(*bench.store);
  BOOST_TEST_REQUIRE(mirror.count("PC-1/Daily/big.img") == 1u);
  BOOST_TEST(mirror.at("PC-1/Daily/big.img").size == 3000u); // the committed copy stays
  BOOST_TEST(mirror.count("PC-1/Daily/new.img") == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
