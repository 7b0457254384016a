#include "target/local.hpp"
#include "target/local_owed_syncs.hpp"
#include "target/local_platform.hpp"
#include "target/registry.hpp"

#include <asio/thread_pool.hpp>
#include <boost/test/unit_test.hpp>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <sys/mount.h>
#include <sys/resource.h>

#include "support/page_cache.hpp"
#include "support/run_coro.hpp"
#include "support/temp_dir.hpp"
#include "util/fs.hpp"

using namespace offsite;
using namespace offsite::target;

namespace {

struct LocalFixture {
  test::TempDir dir;
  asio::thread_pool pool{2};
  std::filesystem::path target_path = dir.path() / "target";
  std::filesystem::path state_dir = dir.path() / "state";

  LocalFixture() { std::filesystem::create_directories(target_path); }

  std::unique_ptr<LocalTarget> make(std::filesystem::path path = {}) {
    return std::make_unique<LocalTarget>(path.empty() ? target_path : path, "SiteManager1", pool, state_dir);
  }

  template <class Make> auto run(Make make_awaitable) { return test::run_coro(std::move(make_awaitable)); }
};

// A small tmpfs mounted over a directory for the test's life; empty if mounting is not allowed.
class TmpfsMount {
public:
  TmpfsMount(const std::filesystem::path& where, const char* options) : m_where(where) {
    std::filesystem::create_directories(where);
    m_mounted = ::mount("tmpfs", where.c_str(), "tmpfs", 0, options) == 0;
    if (!m_mounted) m_why = std::string("cannot mount a tmpfs: ") + std::strerror(errno);
  }
  ~TmpfsMount() {
    if (m_mounted) ::umount2(m_where.c_str(), MNT_DETACH);
  }
  bool mounted() const { return m_mounted; }
  const std::string& why() const { return m_why; }
  bool make_read_only() { return ::mount(nullptr, m_where.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr) == 0; }

private:
  std::filesystem::path m_where;
  bool m_mounted = false;
  std::string m_why;
};

void skip(std::string_view why) {
  std::cerr << "SKIP " << boost::unit_test::framework::current_test_case().p_name.get() << ": " << why << "\n";
}

std::span<const std::byte> bytes_of(const std::string& text) {
  return std::as_bytes(std::span(text.data(), text.size()));
}

asio::awaitable<Result<std::uint64_t>> upload(Target& target, std::string path, std::string content) {
  auto options = UploadOptions{0, content.size(), {}};
  auto started = co_await target.start_upload(path, options);
  if (!started) co_return Unexpected(started.error());
  auto written = co_await (*started)->write(bytes_of(content));
  if (!written) co_return Unexpected(written.error());
  co_return co_await (*started)->finish();
}

} // namespace

BOOST_AUTO_TEST_SUITE(target_local_fs)

BOOST_FIXTURE_TEST_CASE(directory_syncs_are_batched_until_a_commit_point_or_make_durable, LocalFixture) {
  // Uploads, moves, folder manifests and removals owe their directories' fsyncs; a commit point
  // (write_new_file) pays them all first, make_durable() pays them (local_owed_syncs.hpp).
  auto target = make();
  auto steps = [&]() -> asio::awaitable<std::vector<std::size_t>> {
    std::vector<std::size_t> owed;
    BOOST_TEST_REQUIRE((co_await target->connect()).has_value());
    BOOST_TEST_REQUIRE((co_await target->make_directory("")).has_value());
    owed.push_back(target->owed_directory_syncs()); // 0: the folder (target path owed)
    BOOST_TEST_REQUIRE((co_await upload(*target, "tx/1/files/a/one.img", "one")).has_value());
    BOOST_TEST_REQUIRE((co_await upload(*target, "tx/1/files/a/two.img", "two")).has_value());
    owed.push_back(target->owed_directory_syncs()); // 1: new directories and the staging dir
    BOOST_TEST_REQUIRE((co_await target->write_new_file_deferred("folders/a.json", "{}")).has_value());
    owed.push_back(target->owed_directory_syncs()); // 2: more
    BOOST_TEST_REQUIRE((co_await target->write_new_file("commits/1.json", "{}")).has_value());
    owed.push_back(target->owed_directory_syncs()); // 3: nothing
    BOOST_TEST_REQUIRE((co_await target->rename_to_new("tx/1/files/a/one.img", "a/one.img")).has_value());
    BOOST_TEST_REQUIRE((co_await target->rename_to_new("tx/1/files/a/two.img", "a/two.img")).has_value());
    owed.push_back(target->owed_directory_syncs()); // 4: the folder (a/ is new), a/, the staging dir
    BOOST_TEST_REQUIRE((co_await target->remove("commits/1.json")).has_value());
    owed.push_back(target->owed_directory_syncs()); // 5: and commits/, for the removal
    BOOST_TEST_REQUIRE((co_await target->remove_directory("tx/1/files/a")).has_value());
    BOOST_TEST_REQUIRE((co_await target->remove_directory("tx/1/files")).has_value());
    owed.push_back(target->owed_directory_syncs()); // 6: the same count: the staging dir gone, tx/1 owed
    BOOST_TEST_REQUIRE((co_await target->make_durable()).has_value());
    owed.push_back(target->owed_directory_syncs()); // 7: paid
    co_return owed;
  };
  auto owed = run(steps);
  BOOST_TEST(owed[0] == 1u);
  BOOST_TEST(owed[1] > owed[0]);
  BOOST_TEST(owed[2] > owed[1]);
  BOOST_TEST(owed[3] == 0u);
  BOOST_TEST(owed[4] == 3u); // once each, for two moves
  BOOST_TEST(owed[5] == 4u);
  BOOST_TEST(owed[6] == 4u);
  BOOST_TEST(owed[7] == 0u);
  BOOST_TEST(std::filesystem::exists(target_path / "SiteManager1/a/two.img"));
  BOOST_TEST(std::filesystem::exists(target_path / "SiteManager1/folders/a.json"));
  target.reset(); // pays what is owed
}

BOOST_FIXTURE_TEST_CASE(removals_pay_nothing_until_make_durable, LocalFixture) {
  // Removing a tree of directories makes no fsync of its own: what the apply did before is made
  // durable by its make_durable(), and the removals by the next flush (local_owed_syncs.hpp).
  // Before, every directory removal paid everything owed, the parents of the removals before it.
  auto target = make();
  auto steps = [&]() -> asio::awaitable<std::vector<std::size_t>> {
    std::vector<std::size_t> syncs;
    BOOST_TEST_REQUIRE((co_await target->connect()).has_value());
    BOOST_TEST_REQUIRE((co_await target->make_directory("")).has_value());
    BOOST_TEST_REQUIRE((co_await upload(*target, "tx/1/files/a/b/c/one.img", "one")).has_value());
    BOOST_TEST_REQUIRE((co_await upload(*target, "tx/1/files/x/y/two.img", "two")).has_value());
    BOOST_TEST_REQUIRE((co_await target->write_new_file("commits/1.json", "{}")).has_value());
    BOOST_TEST_REQUIRE((co_await target->rename_to_new("tx/1/files/a/b/c/one.img", "a/one.img")).has_value());
    BOOST_TEST_REQUIRE((co_await target->rename_to_new("tx/1/files/x/y/two.img", "x/two.img")).has_value());
    BOOST_TEST_REQUIRE((co_await target->make_durable()).has_value()); // the apply's end
    syncs.push_back(target->directory_syncs_made());                   // 0: the moves paid for
    syncs.push_back(target->owed_directory_syncs());                   // 1: nothing owed
    // Interleaved, as the clean-up's lanes remove sibling trees.
    for (const char* dir :
         {"tx/1/files/a/b/c", "tx/1/files/x/y", "tx/1/files/a/b", "tx/1/files/x", "tx/1/files/a", "tx/1/files", "tx/1"})
      BOOST_TEST_REQUIRE((co_await target->remove_directory(dir)).has_value());
    syncs.push_back(target->directory_syncs_made()); // 2: no more
    syncs.push_back(target->owed_directory_syncs()); // 3: tx/, the parent of the last removed
    BOOST_TEST_REQUIRE((co_await target->make_durable()).has_value());
    syncs.push_back(target->directory_syncs_made()); // 4: tx/ paid
    syncs.push_back(target->owed_directory_syncs()); // 5: nothing owed
    co_return syncs;
  };
  auto syncs = run(steps);
  BOOST_TEST(syncs[1] == 0u);
  BOOST_TEST(syncs[2] == syncs[0]);
  BOOST_TEST(syncs[3] == 1u);
  BOOST_TEST(syncs[4] == syncs[0] + 1);
  BOOST_TEST(syncs[5] == 0u);
  BOOST_TEST(!std::filesystem::exists(target_path / "SiteManager1/tx/1"));
  BOOST_TEST(std::filesystem::exists(target_path / "SiteManager1/a/one.img"));
}

BOOST_FIXTURE_TEST_CASE(make_durable_reaches_the_local_target_through_the_decorators, LocalFixture) {
  // The apply's make_durable() is the only barrier before its transaction directory may go: a
  // decorator that answered it itself would leave the batch unpaid.
  auto owned = make();
  auto* local = owned.get();
  auto target = wrap_target(std::move(owned), WrapOptions{});
  auto steps = [&]() -> asio::awaitable<std::vector<std::size_t>> {
    std::vector<std::size_t> owed;
    BOOST_TEST_REQUIRE((co_await target->connect()).has_value());
    BOOST_TEST_REQUIRE((co_await target->make_directory("")).has_value());
    BOOST_TEST_REQUIRE((co_await upload(*target, "tx/1/files/a/one.img", "one")).has_value());
    owed.push_back(local->owed_file_syncs() + local->owed_directory_syncs()); // 0: some
    BOOST_TEST_REQUIRE((co_await target->make_durable()).has_value());
    owed.push_back(local->owed_file_syncs() + local->owed_directory_syncs()); // 1: none
    co_return owed;
  };
  auto owed = run(steps);
  BOOST_TEST(owed[0] > 0u);
  BOOST_TEST(owed[1] == 0u);
}

BOOST_FIXTURE_TEST_CASE(file_syncs_wait_for_a_commit_point_or_the_limit, LocalFixture) {
  // A finished upload owes its fsync until the next commit point (local_owed_syncs.hpp), so its
  // slot can read the next file; the upload that reaches the limit pays for every owed file.
  auto target = make();
  const auto limit = LocalOwedSyncs::kMaxOwedFiles;
  auto steps = [&]() -> asio::awaitable<std::vector<std::size_t>> {
    std::vector<std::size_t> owed;
    BOOST_TEST_REQUIRE((co_await target->connect()).has_value());
    BOOST_TEST_REQUIRE((co_await target->make_directory("")).has_value());
    BOOST_TEST_REQUIRE((co_await upload(*target, "tx/1/files/a/one.img", "one")).has_value());
    BOOST_TEST_REQUIRE((co_await upload(*target, "tx/1/files/a/two.img", "two")).has_value());
    owed.push_back(target->owed_file_syncs()); // 0: both
    BOOST_TEST_REQUIRE((co_await target->rename_to_new("tx/1/files/a/one.img", "tx/1/files/a/uno.img")).has_value());
    BOOST_TEST_REQUIRE((co_await target->remove("tx/1/files/a/two.img")).has_value());
    owed.push_back(target->owed_file_syncs()); // 1: the moved one still, the removed one not
    BOOST_TEST_REQUIRE((co_await target->write_new_file_deferred("folders/a.json", "{}")).has_value());
    owed.push_back(target->owed_file_syncs()); // 2: and the manifest's own, not a commit point
    BOOST_TEST_REQUIRE((co_await target->write_new_file("commits/1.json", "{}")).has_value());
    owed.push_back(target->owed_file_syncs()); // 3: paid
    // Paid before the commit point's name appears: a commit point whose name is taken fails,
    // and what it would have referenced is durable all the same.
    BOOST_TEST_REQUIRE((co_await upload(*target, "tx/1/files/a/three.img", "three")).has_value());
    auto taken = co_await target->write_new_file("commits/1.json", "{}");
    BOOST_TEST_REQUIRE(!taken.has_value());
    BOOST_TEST(taken.error().kind == ErrorKind::already_exists);
    owed.push_back(target->owed_file_syncs()); // 4: paid, though the name was taken
    for (std::size_t i = 0; i + 1 < limit; ++i) {
      auto path = "tx/2/files/b/" + std::to_string(i) + ".img";
      BOOST_TEST_REQUIRE((co_await upload(*target, path, "x")).has_value());
    }
    owed.push_back(target->owed_file_syncs()); // 5: one short of the limit
    BOOST_TEST_REQUIRE((co_await upload(*target, "tx/2/files/b/last.img", "y")).has_value());
    owed.push_back(target->owed_file_syncs()); // 6: the limit reached, all paid
    BOOST_TEST_REQUIRE((co_await upload(*target, "tx/2/files/b/after.img", "z")).has_value());
    owed.push_back(target->owed_file_syncs()); // 7: owed again
    co_return owed;
  };
  auto owed = run(steps);
  BOOST_TEST(owed[0] == 2u);
  BOOST_TEST(owed[1] == 1u);
  BOOST_TEST(owed[2] == 2u);
  BOOST_TEST(owed[3] == 0u);
  BOOST_TEST(owed[4] == 0u);
  BOOST_TEST(owed[5] == limit - 1);
  BOOST_TEST(owed[6] == 0u);
  BOOST_TEST(owed[7] == 1u);
  BOOST_TEST(fs::read_file(target_path / "SiteManager1/tx/1/files/a/uno.img").value() == "one");
  BOOST_TEST(fs::read_file(target_path / "SiteManager1/tx/2/files/b/after.img").value() == "z");
  target.reset(); // pays what is owed
}

BOOST_AUTO_TEST_CASE(a_lost_file_fails_every_later_flush) {
  // A file whose fsync fails is removed, and the flush that met it fails. That flush may be
  // another caller's (an upload at kMaxOwedFiles took a folder manifest with it): the commit
  // point that needed the file then finds nothing left to sync, and must fail all the same.
  // fsync of a /proc file fails (EINVAL), and removing it fails too: nothing real is lost.
  auto file = std::make_shared<platform::File>();
  BOOST_TEST_REQUIRE(file->open_write("/proc/self/comm") == 0);
  LocalOwedSyncs owed;
  owed.defer_file("/proc/self/comm", std::move(file));
  auto met = owed.flush_files();
  BOOST_TEST_REQUIRE(!met.has_value());
  BOOST_TEST(met.error().message.find("/proc/self/comm") != std::string::npos);
  BOOST_TEST(owed.owed_files() == 0u);
  auto later = owed.flush_files(); // nothing owed now
  BOOST_TEST_REQUIRE(!later.has_value());
  BOOST_TEST(later.error().message == met.error().message);
  BOOST_TEST(!owed.flush().has_value());
}

BOOST_FIXTURE_TEST_CASE(a_synced_upload_leaves_the_page_cache, LocalFixture) {
  // Drop behind (local_owed_syncs.hpp): once fsync'd at a commit point, an upload's pages go.
  if (!test::page_cache_drops(dir.path() / "probe")) {
    skip("this file system keeps every page (tmpfs?): nothing to observe here");
    return;
  }
  auto target = make();
  const std::string content(1 << 20, 'u');
  auto steps = [&]() -> asio::awaitable<std::size_t> {
    BOOST_TEST_REQUIRE((co_await target->connect()).has_value());
    BOOST_TEST_REQUIRE((co_await target->make_directory("")).has_value());
    BOOST_TEST_REQUIRE((co_await upload(*target, "tx/1/files/a/one.img", content)).has_value());
    auto before = test::resident_pages(target_path / "SiteManager1/tx/1/files/a/one.img", content.size());
    BOOST_TEST_REQUIRE((co_await target->write_new_file("commits/1.json", "{}")).has_value());
    BOOST_TEST(before > 0u); // written, not yet synced: still cached
    co_return test::resident_pages(target_path / "SiteManager1/tx/1/files/a/one.img", content.size());
  };
  BOOST_TEST(run(steps) == 0u);
  BOOST_TEST(fs::read_file(target_path / "SiteManager1/tx/1/files/a/one.img").value() == content);
}

BOOST_FIXTURE_TEST_CASE(the_rename_probe_is_cached_and_reused, LocalFixture) {
  auto target = make();
  auto connect = [&]() -> asio::awaitable<Result<void>> { co_return co_await target->connect(); };
  BOOST_TEST_REQUIRE(run(connect).has_value());
  BOOST_TEST(to_string(target->rename_method()) == "renameat2"); // ext4 or tmpfs under the tests
  auto root = target_path / "SiteManager1";
  auto cached = fs::read_file(probe_cache_file(state_dir, root));
  BOOST_TEST_REQUIRE(cached.has_value());
  BOOST_TEST(*cached == "renameat2\n" + root.string() + "\n");
  // Connecting probed in the target path (the folder is not made yet) and left nothing behind.
  BOOST_TEST(std::filesystem::is_empty(target_path));

  // A later run takes the cached answer instead of probing.
  BOOST_TEST_REQUIRE(write_probe_cache(state_dir, root, RenameMethod::exclusive_create).has_value());
  auto later = make();
  auto connect_later = [&]() -> asio::awaitable<Result<void>> { co_return co_await later->connect(); };
  BOOST_TEST_REQUIRE(run(connect_later).has_value());
  BOOST_TEST(to_string(later->rename_method()) == "exclusive_create");
  BOOST_TEST(later->capabilities().exclusive_rename);
}

BOOST_FIXTURE_TEST_CASE(a_missing_or_wrong_target_path_is_named, LocalFixture) {
  auto missing = make(dir.path() / "unplugged-disk");
  auto connect = [&]() -> asio::awaitable<Result<void>> { co_return co_await missing->connect(); };
  auto connected = run(connect);
  BOOST_TEST_REQUIRE(!connected.has_value());
  BOOST_TEST(connected.error().kind == ErrorKind::permanent);
  BOOST_TEST(connected.error().message ==
             (dir.path() / "unplugged-disk").string() + ": the target path does not exist");
  BOOST_TEST(!std::filesystem::exists(dir.path() / "unplugged-disk"));

  BOOST_TEST_REQUIRE(fs::write_file_atomically(target_path / "SiteManager1", "a file").has_value());
  auto over_file = make();
  auto connect_file = [&]() -> asio::awaitable<Result<void>> { co_return co_await over_file->connect(); };
  auto refused = run(connect_file);
  BOOST_TEST_REQUIRE(!refused.has_value());
  BOOST_TEST(refused.error().message.find("is not a directory") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(the_folder_is_created_under_the_target_path_only, LocalFixture) {
  auto target = std::make_unique<LocalTarget>(target_path, "a/b", pool, state_dir);
  auto body = [&]() -> asio::awaitable<void> {
    auto connected = co_await target->connect();
    BOOST_TEST_REQUIRE(connected.has_value());
    auto made = co_await target->make_directory("");
    BOOST_TEST_REQUIRE(made.has_value());
    auto written = co_await target->write_new_file(".offsite/repository-id", "id\n");
    BOOST_TEST_REQUIRE(written.has_value());
  };
  run(body);
  BOOST_TEST(fs::read_file(target_path / "a/b/.offsite/repository-id").value() == "id\n");
  auto escaping = std::make_unique<LocalTarget>(target_path, "../outside", pool, state_dir);
  auto connect = [&]() -> asio::awaitable<Result<void>> { co_return co_await escaping->connect(); };
  auto refused = run(connect);
  BOOST_TEST_REQUIRE(!refused.has_value());
  BOOST_TEST(refused.error().kind == ErrorKind::config);
}

BOOST_FIXTURE_TEST_CASE(a_full_filesystem_is_a_permanent_error_naming_the_path, LocalFixture) {
  TmpfsMount tmpfs(target_path, "size=1m");
  if (!tmpfs.mounted()) return skip(tmpfs.why());
  auto target = make();
  auto body = [&]() -> asio::awaitable<Result<std::uint64_t>> {
    auto connected = co_await target->connect();
    BOOST_TEST_REQUIRE(connected.has_value());
    co_return co_await upload(*target, "PC-0001/full.img", std::string(2 << 20, 'x'));
  };
  auto uploaded = run(body);
  BOOST_TEST_REQUIRE(!uploaded.has_value());
  BOOST_TEST(uploaded.error().kind == ErrorKind::permanent);
  auto& message = uploaded.error().message;
  BOOST_TEST(message.find((target_path / "SiteManager1/PC-0001/full.img").string()) != std::string::npos, message);
  BOOST_TEST(message.find("No space left on device") != std::string::npos, message);
}

BOOST_FIXTURE_TEST_CASE(a_read_only_filesystem_is_a_permanent_error_naming_the_path, LocalFixture) {
  TmpfsMount tmpfs(target_path, "size=1m");
  if (!tmpfs.mounted()) return skip(tmpfs.why());
  std::filesystem::create_directories(target_path / "SiteManager1/.offsite/commits");
  if (!tmpfs.make_read_only()) return skip("cannot remount the tmpfs read-only");
  auto target = make();
  auto body = [&]() -> asio::awaitable<void> {
    auto connected = co_await target->connect(); // read-only targets can still be verified
    BOOST_TEST_REQUIRE(connected.has_value());
    auto written = co_await target->write_new_file(".offsite/commits/2.json", "{}");
    BOOST_TEST_REQUIRE(!written.has_value());
    BOOST_TEST(written.error().kind == ErrorKind::permanent);
    BOOST_TEST(written.error().message.find((target_path / "SiteManager1/.offsite/commits").string()) !=
                   std::string::npos,
               written.error().message);
    BOOST_TEST(written.error().message.find("Read-only file system") != std::string::npos);
    auto listed = co_await target->list(".offsite");
    BOOST_TEST(listed.has_value());
  };
  run(body);
}

BOOST_FIXTURE_TEST_CASE(a_file_too_large_for_the_filesystem_is_named, LocalFixture) {
  // RLIMIT_FSIZE makes write(2) fail with EFBIG beyond the limit, as FAT32 does at 4 GiB.
  struct rlimit saved {};
  BOOST_TEST_REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
  auto previous = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit limited = saved;
  limited.rlim_cur = 1 << 20;
  BOOST_TEST_REQUIRE(::setrlimit(RLIMIT_FSIZE, &limited) == 0);
  auto target = make();
  auto body = [&]() -> asio::awaitable<Result<std::uint64_t>> {
    auto connected = co_await target->connect();
    BOOST_TEST_REQUIRE(connected.has_value());
    co_return co_await upload(*target, "huge.img", std::string(2 << 20, 'x'));
  };
  auto uploaded = run(body);
  ::setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, previous);
  BOOST_TEST_REQUIRE(!uploaded.has_value());
  BOOST_TEST(uploaded.error().kind == ErrorKind::permanent);
  BOOST_TEST(uploaded.error().message.find((target_path / "SiteManager1/huge.img").string()) != std::string::npos);
  BOOST_TEST(uploaded.error().message.find("file too large for the target filesystem") != std::string::npos,
             uploaded.error().message);
}

BOOST_AUTO_TEST_SUITE_END()
