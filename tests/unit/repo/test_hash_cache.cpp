#include "repo/hash_cache.hpp"

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <sys/stat.h>

#include "support/temp_dir.hpp"
#include "util/fs.hpp"

using namespace offsite;
using namespace offsite::repo;
namespace stdfs = std::filesystem;

namespace {

LocalFile file_named(std::string path, std::uint64_t n) {
  return LocalFile{std::move(path), 1000 + n, 1'700'000'000'000'000'000 + static_cast<std::int64_t>(n), 42 + n,
                   1'700'000'000'500'000'000 + static_cast<std::int64_t>(n)};
}

Hash128 hash_number(std::uint64_t n) { return Hash128{n * 0x9e3779b97f4a7c15ull, ~n}; }

LocalView view_of(const std::vector<LocalFile>& files) {
  LocalView view;
  view.folders.push_back(LocalFolder{"", files});
  return view;
}

// A small saved cache, and its bytes.
std::string saved_cache(const stdfs::path& file) {
  HashCache cache;
  cache.store(file_named("PC-0001/Daily/a.img", 1), hash_number(1));
  cache.store(file_named("PC-0001/Daily/b.img", 2), hash_number(2));
  BOOST_REQUIRE(cache.save(file));
  return fs::read_file(file).value();
}

} // namespace

BOOST_AUTO_TEST_SUITE(repo_hash_cache)

BOOST_AUTO_TEST_CASE(round_trip) {
  test::TempDir dir;
  auto path = dir.path() / "hash-cache";
  HashCache cache;
  std::vector<LocalFile> files;
  for (std::uint64_t n = 0; n < 5000; ++n)
    files.push_back(file_named("PC-0001/Daily/f" + std::to_string(n), n));
  files.push_back(file_named("odd \n\x80\xff name", 9999));
  for (std::uint64_t n = 0; n < files.size(); ++n)
    cache.store(files[n], hash_number(n));
  BOOST_TEST(cache.size() == files.size());
  BOOST_REQUIRE(cache.save(path));
  struct stat st {};
  BOOST_REQUIRE(::stat(path.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0640u);

  auto loaded = HashCache::load(path);
  BOOST_TEST(loaded.discarded_reason() == "");
  BOOST_TEST(loaded.size() == files.size());
  for (std::uint64_t n = 0; n < files.size(); ++n) {
    auto hash = loaded.lookup(files[n]);
    BOOST_REQUIRE(hash);
    BOOST_TEST(hash->to_hex() == hash_number(n).to_hex());
  }
}

BOOST_AUTO_TEST_CASE(missing_file_is_empty_without_complaint) {
  test::TempDir dir;
  auto cache = HashCache::load(dir.path() / "none");
  BOOST_TEST(cache.size() == 0u);
  BOOST_TEST(cache.discarded_reason() == "");
}

BOOST_AUTO_TEST_CASE(any_flipped_byte_discards_the_cache) {
  test::TempDir dir;
  auto path = dir.path() / "hash-cache";
  auto bytes = saved_cache(path);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    auto damaged = bytes;
    damaged[i] = static_cast<char>(damaged[i] ^ (1 << (i % 8)));
    BOOST_REQUIRE(fs::write_file_atomically(path, damaged));
    auto cache = HashCache::load(path);
    BOOST_TEST(cache.size() == 0u, "byte " << i);
    BOOST_TEST(cache.discarded_reason().find(path.string()) != std::string::npos, "byte " << i);
  }
}

BOOST_AUTO_TEST_CASE(any_truncation_discards_the_cache) {
  test::TempDir dir;
  auto path = dir.path() / "hash-cache";
  auto bytes = saved_cache(path);
  for (std::size_t length = 0; length < bytes.size(); ++length) {
    BOOST_REQUIRE(fs::write_file_atomically(path, bytes.substr(0, length)));
    auto cache = HashCache::load(path);
    BOOST_TEST(cache.size() == 0u, "length " << length);
    BOOST_TEST(!cache.discarded_reason().empty(), "length " << length);
  }
  BOOST_REQUIRE(fs::write_file_atomically(path, bytes + "x"));
  BOOST_TEST(HashCache::load(path).size() == 0u);
}

BOOST_AUTO_TEST_CASE(foreign_and_other_version_files_are_discarded) {
  test::TempDir dir;
  auto path = dir.path() / "hash-cache";
  BOOST_REQUIRE(fs::write_file_atomically(path, "{\"some\": \"json from another program\"}"));
  auto foreign = HashCache::load(path);
  BOOST_TEST(foreign.size() == 0u);
  BOOST_TEST(foreign.discarded_reason().find("not an offsite hash cache") != std::string::npos);

  // A well-formed file of version 2, checksum and all.
  auto bytes = saved_cache(path).substr(0, saved_cache(path).size() - 16);
  bytes[8] = 2;
  Hash128 checksum = xxh3_128(std::string_view(bytes));
  for (std::uint64_t part : {checksum.high, checksum.low})
    for (int i = 0; i < 8; ++i)
      bytes.push_back(static_cast<char>(part >> (8 * i)));
  BOOST_REQUIRE(fs::write_file_atomically(path, bytes));
  auto other_version = HashCache::load(path);
  BOOST_TEST(other_version.size() == 0u);
  BOOST_TEST(other_version.discarded_reason().find("version 2") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(any_change_to_the_key_is_a_miss) {
  HashCache cache;
  auto file = file_named("PC-0001/Daily/a.img", 1);
  cache.store(file, hash_number(1));
  BOOST_TEST(cache.lookup(file).has_value());
  auto changed = file;
  changed.size += 1;
  BOOST_TEST(!cache.lookup(changed));
  changed = file;
  changed.mtime_ns += 1;
  BOOST_TEST(!cache.lookup(changed));
  changed = file;
  changed.inode += 1;
  BOOST_TEST(!cache.lookup(changed));
  changed = file;
  changed.ctime_ns += 1;
  BOOST_TEST(!cache.lookup(changed));
  changed = file;
  changed.path = "PC-0001/Daily/A.img";
  BOOST_TEST(!cache.lookup(changed));
  // A store replaces the entry for the path.
  changed = file;
  changed.mtime_ns += 5;
  cache.store(changed, hash_number(2));
  BOOST_TEST(cache.size() == 1u);
  BOOST_TEST(!cache.lookup(file));
  BOOST_TEST((cache.lookup(changed) == hash_number(2)));
}

BOOST_AUTO_TEST_CASE(retain_only_drops_paths_gone_or_changed) {
  HashCache cache;
  auto kept = file_named("kept", 1), gone = file_named("gone", 2), changed = file_named("changed", 3);
  cache.store(kept, hash_number(1));
  cache.store(gone, hash_number(2));
  cache.store(changed, hash_number(3));
  auto changed_now = changed;
  changed_now.mtime_ns += 1;
  cache.retain_only(view_of({kept, changed_now}));
  BOOST_TEST(cache.size() == 1u);
  BOOST_TEST((cache.lookup(kept) == hash_number(1)));
  BOOST_TEST(!cache.lookup(gone));
}

BOOST_AUTO_TEST_CASE(retain_only_keeps_only_what_the_predicate_approves_and_clear_forgets_all) {
  HashCache cache;
  auto approved = file_named("approved", 1), refused = file_named("refused", 2);
  cache.store(approved, hash_number(1));
  cache.store(refused, hash_number(2));
  std::vector<std::string> asked;
  cache.retain_only(view_of({approved, refused}), [&](const LocalFolder&, const LocalFile& file) {
    asked.push_back(file.path);
    return file.path == "approved";
  });
  BOOST_TEST(asked.size() == 2u);
  BOOST_TEST(cache.size() == 1u);
  BOOST_TEST((cache.lookup(approved) == hash_number(1)));
  BOOST_TEST(!cache.lookup(refused));
  cache.clear();
  BOOST_TEST(cache.size() == 0u);
  BOOST_TEST(!cache.lookup(approved));
  cache.store(refused, hash_number(3)); // still usable after clear()
  BOOST_TEST((cache.lookup(refused) == hash_number(3)));
}

// retain_only() compacts in place: the kept entries after dropped ones move forward, with their
// paths, and still hit, survive a save and load, and take new entries after them.
BOOST_AUTO_TEST_CASE(retain_only_keeps_later_entries_whole) {
  test::TempDir dir;
  HashCache cache;
  std::vector<LocalFile> files;
  for (std::uint64_t n = 0; n < 300; ++n) {
    files.push_back(file_named("PC-0001/Def/file-" + std::to_string(n) + std::string(n % 7, 'x'), n));
    cache.store(files.back(), hash_number(n));
  }
  auto kept = [](std::uint64_t n) { return n % 3 == 2; };
  std::vector<LocalFile> still;
  for (std::uint64_t n = 0; n < files.size(); ++n)
    if (kept(n)) still.push_back(files[n]);
  auto added = file_named("PC-0002/Def/new", 1000);
  still.push_back(added);
  cache.retain_only(view_of(still));
  BOOST_TEST(cache.size() == 100u);
  cache.store(added, hash_number(1000));
  for (std::uint64_t n = 0; n < files.size(); ++n)
    BOOST_TEST((cache.lookup(files[n]) == (kept(n) ? std::optional(hash_number(n)) : std::nullopt)));
  BOOST_REQUIRE(cache.save(dir.path() / "hash-cache"));
  auto loaded = HashCache::load(dir.path() / "hash-cache");
  BOOST_TEST(loaded.size() == 101u);
  BOOST_TEST((loaded.lookup(added) == hash_number(1000)));
  BOOST_TEST((loaded.lookup(files[299]) == hash_number(299)));
  BOOST_TEST(!loaded.lookup(files[298]));
}

BOOST_AUTO_TEST_CASE(save_failure_names_the_file) {
  test::TempDir dir;
  HashCache cache;
  auto saved = cache.save(dir.path() / "no-such-dir" / "hash-cache");
  BOOST_REQUIRE(!saved);
  BOOST_TEST(saved.error().message.find((dir.path() / "no-such-dir").string()) != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
