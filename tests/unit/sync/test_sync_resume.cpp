// Uploads that span runs (BRIEF §5.3): a partial staged upload of a killed run is resumed when its
// local file did not change, and removed when it did.

#include <boost/test/unit_test.hpp>

#include "support.hpp"

using namespace offsite;
using namespace offsite::test;
using sync::Outcome;

namespace {

constexpr std::size_t k_big = 1024 * 1024;
constexpr std::size_t k_chunk = 64 * 1024;
constexpr const char* k_big_path = "PC-1/Daily/big.img";

// A first sync of one 1 MiB file killed after 8 of its 16 chunks reached the staging area.
void killed_half_way(Bench& bench) {
  bench.repository.concurrency = 1;
  bench.put(k_big_path, k_big);
  MemoryTarget memory(bench.store);
  RecordingTarget recorder(memory);
  recorder.after = [&](Op op, const std::string& path) {
    if (op == Op::start_upload && path.ends_with(k_big_path)) memory.crash_after_mutations(memory.mutations() + 8);
  };
  bench.sync(recorder);
  BOOST_TEST_REQUIRE(memory.crashed());
  bench.later();
}

// The staged partial uploads of the big file in the store: their sizes.
std::vector<std::size_t> staged_sizes(const Bench& bench) {
  std::vector<std::size_t> sizes;
  for (const auto& path : bench.transaction_leftovers())
    if (path.ends_with(k_big_path)) sizes.push_back(bench.store->file(path)->size());
  return sizes;
}

// A run stopped right after recovery (its journal cannot be written): what recovery kept.
void run_only_recovery(Bench& bench) {
  MemoryTarget memory(bench.store);
  memory.fail_path(Op::write_new_file, "journal.json", ErrorKind::permanent);
  auto result = bench.sync(memory);
  BOOST_TEST_REQUIRE(result.error.has_value());
  BOOST_TEST(result.error->message.find("journal.json") != std::string::npos, result.error->message);
  bench.later();
}

} // namespace

BOOST_AUTO_TEST_SUITE(sync_resume)

BOOST_AUTO_TEST_CASE(partial_upload_of_an_unchanged_file_is_resumed) {
  Bench bench;
  killed_half_way(bench);
  BOOST_TEST(staged_sizes(bench) == (std::vector<std::size_t>{8 * k_chunk}), boost::test_tools::per_element());
  run_only_recovery(bench);
  BOOST_TEST(staged_sizes(bench) == (std::vector<std::size_t>{8 * k_chunk}), boost::test_tools::per_element());

  auto result = bench.sync();
  BOOST_TEST(error_message(result) == "");
  BOOST_TEST_REQUIRE((result.outcome == Outcome::success));
  BOOST_TEST(result.bytes_uploaded == k_big - 8 * k_chunk); // only the second half
  BOOST_TEST(bench.last_bytes_sent == k_big - 8 * k_chunk);
  BOOST_TEST(bench.mirror_difference() == ""); // the hash covers the resumed prefix too
  BOOST_TEST(bench.transaction_leftovers().empty());
}

BOOST_AUTO_TEST_CASE(partial_upload_resumes_at_a_chunk_boundary) {
  // A torn last chunk (the server kept 8.5 chunks): resumed from 8 chunks, the half re-sent.
  Bench bench;
  killed_half_way(bench);
  auto leftovers = bench.transaction_leftovers();
  auto staged =
      std::find_if(leftovers.begin(), leftovers.end(), [](const std::string& p) { return p.ends_with(k_big_path); });
  BOOST_TEST_REQUIRE((staged != leftovers.end()));
  auto& content = bench.store->nodes[*staged].content;
  auto local = bytes_of(std::hash<std::string>{}(k_big_path), k_big);
  content = local.substr(0, 8 * k_chunk + k_chunk / 2);
  auto result = bench.sync();
  BOOST_TEST_REQUIRE((result.outcome == Outcome::success));
  BOOST_TEST(result.bytes_uploaded == k_big - 8 * k_chunk);
  BOOST_TEST(bench.mirror_difference() == "");
}

namespace {

// Kept bytes that differ from the local file's (a disk unplugged mid-upload): where reading them
// back is cheap, the resume notices and uploads the file again from its start; elsewhere the kept
// bytes are trusted, as the journal's size and mtime say (verify --deep is the check there).
void damage_the_kept_prefix(Bench& bench) {
  for (const auto& path : bench.transaction_leftovers())
    if (path.ends_with(k_big_path)) bench.store->nodes[path].content[3 * k_chunk + 17] ^= 0x01;
}

// A target that reads back what it wrote without a network (the local target's capability).
MemoryOptions cheap_reads() {
  MemoryOptions options;
  options.capabilities.cheap_reads = true;
  return options;
}

} // namespace

BOOST_AUTO_TEST_CASE(damaged_kept_bytes_are_uploaded_again_where_reads_are_cheap) {
  Bench bench;
  killed_half_way(bench);
  damage_the_kept_prefix(bench);
  MemoryTarget local_like(bench.store, cheap_reads());
  auto result = bench.sync(local_like);
  BOOST_TEST(error_message(result) == "");
  BOOST_TEST_REQUIRE((result.outcome == Outcome::success));
  BOOST_TEST(result.bytes_uploaded == k_big); // all of it, from zero
  BOOST_TEST(bench.mirror_difference() == "");
  BOOST_TEST(bench.transaction_leftovers().empty());
}

BOOST_AUTO_TEST_CASE(intact_kept_bytes_are_read_back_and_kept_where_reads_are_cheap) {
  Bench bench;
  killed_half_way(bench);
  MemoryTarget local_like(bench.store, cheap_reads());
  auto result = bench.sync(local_like);
  BOOST_TEST_REQUIRE((result.outcome == Outcome::success));
  BOOST_TEST(result.bytes_uploaded == k_big - 8 * k_chunk); // only the second half
  BOOST_TEST(local_like.count(Op::open_download) >= 1u);    // the kept half was read back
  BOOST_TEST(bench.mirror_difference() == "");
}

BOOST_AUTO_TEST_CASE(kept_bytes_are_trusted_where_reads_cost_a_download) {
  Bench bench;
  killed_half_way(bench);
  damage_the_kept_prefix(bench);
  MemoryTarget remote_like(bench.store); // cheap_reads false
  auto result = bench.sync(remote_like);
  BOOST_TEST_REQUIRE((result.outcome == Outcome::success));
  BOOST_TEST(result.bytes_uploaded == k_big - 8 * k_chunk);
  BOOST_TEST(remote_like.count(Op::open_download) == 0u);
  BOOST_TEST(bench.mirror_difference() != ""); // what verify --deep is for
}

BOOST_AUTO_TEST_CASE(partial_upload_of_a_changed_file_is_removed) {
  Bench bench;
  killed_half_way(bench);
  bench.put(k_big_path, k_big, 99, k_day2_s); // rewritten: same size, other bytes and mtime
  run_only_recovery(bench);
  BOOST_TEST(staged_sizes(bench).empty());

  auto result = bench.sync();
  BOOST_TEST(error_message(result) == "");
  BOOST_TEST_REQUIRE((result.outcome == Outcome::success));
  BOOST_TEST(result.bytes_uploaded == k_big); // all of it, from zero
  BOOST_TEST(bench.mirror_difference() == "");
  BOOST_TEST(bench.transaction_leftovers().empty());
}

BOOST_AUTO_TEST_CASE(partial_upload_of_a_deleted_file_is_removed) {
  Bench bench;
  killed_half_way(bench);
  bench.remove(k_big_path);
  bench.put("PC-1/Daily/other.img", 100);
  auto result = bench.sync();
  BOOST_TEST(error_message(result) == "");
  BOOST_TEST((result.outcome == Outcome::success));
  BOOST_TEST(bench.mirror_difference() == "");
  BOOST_TEST(bench.transaction_leftovers().empty());
}

BOOST_AUTO_TEST_CASE(resumed_upload_survives_a_second_kill) {
  // Killed half way, then the resuming run killed before its commit: the third run still has
  // the partial upload to resume, and ends equal.
  Bench bench;
  killed_half_way(bench);
  MemoryTarget memory(bench.store);
  memory.fail_path(Op::write_new_file, ".offsite/commits/", ErrorKind::cancelled);
  auto second = bench.sync(memory);
  BOOST_TEST_REQUIRE(second.error.has_value());
  bench.later();
  run_only_recovery(bench);
  BOOST_TEST(staged_sizes(bench) == (std::vector<std::size_t>{k_big}), boost::test_tools::per_element());
  auto third = bench.sync();
  BOOST_TEST(error_message(third) == "");
  BOOST_TEST_REQUIRE((third.outcome == Outcome::success));
  BOOST_TEST(third.bytes_uploaded == 0u); // complete, and 16 whole chunks: nothing is sent again
  BOOST_TEST(bench.mirror_difference() == "");
  BOOST_TEST(bench.transaction_leftovers().empty());
}

BOOST_AUTO_TEST_SUITE_END()
