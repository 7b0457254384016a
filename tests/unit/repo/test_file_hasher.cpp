#include "repo/file_hasher.hpp"

#include <array>
#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>

#include "support/files.hpp"
#include "support/temp_dir.hpp"

using namespace offsite;
using namespace offsite::repo;
namespace stdfs = std::filesystem;

namespace {

// Deterministic bytes (xorshift), so a failure reproduces.
std::string pseudo_random_bytes(std::size_t size, std::uint64_t seed) {
  std::string bytes(size, '\0');
  std::uint64_t state = seed * 0x9e3779b97f4a7c15ull + 1;
  for (auto& byte : bytes) {
    state ^= state << 13, state ^= state >> 7, state ^= state << 17;
    byte = static_cast<char>(state >> 24);
  }
  return bytes;
}

// What `xxhsum -H2` (Debian's xxhash package) says of `file`: the reference implementation.
std::string xxhsum_h2(const stdfs::path& file) {
  std::string command = "xxhsum -H2 < '" + file.string() + "'";
  FILE* pipe = ::popen(command.c_str(), "r");
  BOOST_REQUIRE_MESSAGE(pipe, "cannot run xxhsum");
  std::array<char, 256> line{};
  std::string output = std::fgets(line.data(), line.size(), pipe) ? line.data() : "";
  BOOST_REQUIRE_MESSAGE(::pclose(pipe) == 0, "xxhsum failed; install Debian's xxhash package");
  return output.substr(0, 32);
}

} // namespace

BOOST_AUTO_TEST_SUITE(repo_file_hasher)

BOOST_AUTO_TEST_CASE(hashes_match_xxhsum_h2) {
  test::TempDir dir;
  for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{240}, k_read_block_size, k_read_block_size + 1,
                           std::size_t{(1u << 20) + 17}}) {
    auto file = dir.path() / ("sample-" + std::to_string(size));
    auto content = pseudo_random_bytes(size, size);
    test::write_file(file, content);
    auto hash = hash_file(file, size);
    BOOST_REQUIRE_MESSAGE(hash, (hash ? "" : hash.error().message));
    BOOST_TEST(hash->to_hex() == xxhsum_h2(file), "size " << size);
    BOOST_TEST(hash->to_hex() == xxh3_128(content).to_hex());
    auto dropping = hash_file(file, size, {}, CacheUse::drop_behind);
    BOOST_TEST((dropping && *dropping == *hash));
  }
}

BOOST_AUTO_TEST_CASE(a_size_other_than_expected_is_a_change) {
  test::TempDir dir;
  auto file = dir.path() / "grown.img";
  test::write_file(file, pseudo_random_bytes(1000, 1));
  for (std::uint64_t expected : {999u, 1001u, 0u}) {
    auto hash = hash_file(file, expected);
    BOOST_REQUIRE(!hash);
    BOOST_TEST(hash.error().kind == ErrorKind::transient);
    BOOST_TEST(hash.error().message.find(file.string()) != std::string::npos);
    BOOST_TEST(hash.error().message.find("changed while it was read") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(symlinks_fifos_and_missing_files_are_refused) {
  test::TempDir dir;
  test::write_file(dir.path() / "real", "x");
  stdfs::create_symlink("real", dir.path() / "link");
  auto link = hash_file(dir.path() / "link", 1);
  BOOST_REQUIRE(!link);
  BOOST_TEST(link.error().message.find("symbolic link") != std::string::npos);
  BOOST_REQUIRE(::mkfifo((dir.path() / "pipe").c_str(), 0600) == 0);
  auto pipe = hash_file(dir.path() / "pipe", 0); // must not block waiting for a writer
  BOOST_REQUIRE(!pipe);
  BOOST_TEST(pipe.error().message.find("not a regular file") != std::string::npos);
  auto missing = hash_file(dir.path() / "missing", 0);
  BOOST_REQUIRE(!missing);
  BOOST_TEST(missing.error().kind == ErrorKind::not_found);
  BOOST_TEST(missing.error().message.find((dir.path() / "missing").string()) != std::string::npos);
}

BOOST_AUTO_TEST_CASE(stop_request_cancels) {
  test::TempDir dir;
  test::write_file(dir.path() / "f", pseudo_random_bytes(3 * k_read_block_size, 2));
  std::stop_source stop;
  stop.request_stop();
  auto hash = hash_file(dir.path() / "f", 3 * k_read_block_size, stop.get_token());
  BOOST_REQUIRE(!hash);
  BOOST_TEST(hash.error().kind == ErrorKind::cancelled);
}

BOOST_AUTO_TEST_CASE(reader_reads_at_offsets_and_feeds_a_hasher) {
  test::TempDir dir;
  auto content = pseudo_random_bytes(10'000, 3);
  test::write_file(dir.path() / "f", content);
  auto reader = FileReader::open(dir.path() / "f");
  BOOST_REQUIRE(reader);
  BOOST_TEST(reader->stat_at_open().size == 10'000u);
  // Chunks read in order feed one hasher, as the upload path does.
  Xxh3Hasher hasher;
  std::string chunk(3000, '\0');
  for (std::uint64_t offset = 0;; offset += 3000) {
    auto got = reader->read_at(offset, std::as_writable_bytes(std::span(chunk)));
    BOOST_REQUIRE(got);
    if (*got == 0) break;
    BOOST_TEST(std::string_view(chunk).substr(0, *got) == std::string_view(content).substr(offset, *got));
    hasher.update(std::string_view(chunk).substr(0, *got));
  }
  BOOST_TEST(hasher.digest().to_hex() == xxh3_128(content).to_hex());
  auto again = hash_file(*reader, 10'000);
  BOOST_TEST((again && *again == xxh3_128(content)));
  auto now = reader->stat();
  BOOST_TEST((now && *now == reader->stat_at_open()));
}

BOOST_AUTO_TEST_CASE(open_beneath_follows_no_symlink_below_the_root) {
  test::TempDir dir;
  auto root = dir.path() / "repo";
  stdfs::create_directories(root / "PC-0001/Daily");
  test::write_file(root / "PC-0001/Daily/a.img", "a");
  stdfs::create_directories(dir.path() / "outside");
  test::write_file(dir.path() / "outside/a.img", "secret");
  BOOST_TEST(FileReader::open_beneath(root, "PC-0001/Daily/a.img").has_value());
  stdfs::create_directory_symlink(dir.path() / "outside", root / "PC-0001/Linked");
  auto through_link = FileReader::open_beneath(root, "PC-0001/Linked/a.img");
  BOOST_REQUIRE(!through_link);
  BOOST_TEST(through_link.error().message.find("symbolic link") != std::string::npos);
  for (auto bad : {"../outside/a.img", "PC-0001//Daily/a.img", "./PC-0001/Daily/a.img", "", "PC-0001/Daily/"})
    BOOST_TEST(!FileReader::open_beneath(root, bad), bad);
}

BOOST_AUTO_TEST_SUITE_END()
