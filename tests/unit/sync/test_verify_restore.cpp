// verify and restore against real sync results, and the connection probe: on the in-memory target (damage is easy to
// make there, and an apply can be left pending) and end to end on the local target.

#include "sync/probe.hpp"
#include "sync/restore.hpp"
#include "sync/verify.hpp"

#include <sys/stat.h>

#include <algorithm>

#include <boost/test/unit_test.hpp>

#include "support.hpp"
#include "target/factory.hpp"
#include "util/uuid.hpp"

using namespace offsite;
using namespace offsite::test;

namespace {

const std::string k_latin1_name = "PC-1/Daily/caf\xe9.img"; // not UTF-8

void build_repository(Bench& bench) {
  build_small_repository(bench);
  bench.put(k_latin1_name, 1000);
}
constexpr std::uint64_t k_files = k_small_files + 1;

Result<sync::VerifyReport> verify(target::Target& target, std::string local_id, bool deep = false) {
  auto run = [&]() -> asio::awaitable<Result<sync::VerifyReport>> {
    if (auto connected = co_await target.connect(); !connected) co_return Unexpected(connected.error());
    sync::VerifyRequest request{local_id, "Test", deep};
    co_return co_await sync::verify_remote(target, request);
  };
  return run_coro(run);
}

Result<sync::RestoreReport> restore(target::Target& target, asio::thread_pool& pool, stdfs::path to,
                                    std::optional<std::string> folder = std::nullopt) {
  auto run = [&]() -> asio::awaitable<Result<sync::RestoreReport>> {
    if (auto connected = co_await target.connect(); !connected) co_return Unexpected(connected.error());
    sync::RestoreRequest request{to, folder};
    co_return co_await sync::restore_committed(target, pool, request);
  };
  return run_coro(run);
}

bool any_contains(const std::vector<std::string>& lines, std::string_view part) {
  return std::any_of(lines.begin(), lines.end(), [&](const std::string& line) { return line.find(part) != line.npos; });
}

std::vector<std::string> problem_paths(const sync::VerifyReport& report) {
  std::vector<std::string> paths;
  for (const auto& problem : report.problems)
    paths.push_back(problem.path);
  return paths;
}

std::int64_t mtime_ns(const stdfs::path& file) {
  struct stat info {};
  BOOST_TEST_REQUIRE(::lstat(file.c_str(), &info) == 0);
  return static_cast<std::int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 + info.st_mtim.tv_nsec;
}

// A synced bench: the repository of build_repository() committed to the in-memory store.
struct Synced {
  Bench bench;
  std::string id;
  TempDir out;
  Synced() {
    build_repository(bench);
    auto result = bench.sync();
    BOOST_TEST_REQUIRE((result.outcome == sync::Outcome::success));
    id = bench.repository_id();
  }
  Result<sync::VerifyReport> verify(bool deep = false) {
    MemoryTarget reader(bench.store);
    return ::verify(reader, id, deep);
  }
  Result<sync::RestoreReport> restore(stdfs::path to, std::optional<std::string> folder = std::nullopt) {
    MemoryTarget reader(bench.store);
    return ::restore(reader, bench.pool, to, folder);
  }
  std::string& content(const std::string& path) {
    auto node = bench.store->nodes.find(path);
    BOOST_TEST_REQUIRE((node != bench.store->nodes.end()));
    return node->second.content;
  }
};

} // namespace

BOOST_AUTO_TEST_SUITE(sync_verify_restore)

BOOST_AUTO_TEST_CASE(verify_passes_after_a_sync) {
  Synced synced;
  auto plain = synced.verify();
  BOOST_TEST_REQUIRE(plain.has_value(), (plain ? "" : plain.error().message));
  BOOST_TEST(plain->ok());
  BOOST_TEST(plain->files_checked == k_files);
  BOOST_TEST(plain->warnings.empty());
  BOOST_TEST(plain->remote_id == synced.id);
  auto deep = synced.verify(true);
  BOOST_TEST_REQUIRE(deep.has_value());
  BOOST_TEST(deep->ok());
  BOOST_TEST(deep->bytes_read == deep->bytes_checked);
}

BOOST_AUTO_TEST_CASE(a_missing_file_fails_verify_naming_it) {
  Synced synced;
  synced.bench.store->nodes.erase("PC-1/Weekly/w.img");
  auto report = synced.verify();
  BOOST_TEST_REQUIRE(report.has_value());
  BOOST_TEST(!report->ok());
  BOOST_TEST(problem_paths(*report) == std::vector<std::string>{"PC-1/Weekly/w.img"});
  BOOST_TEST(report->problems[0].remote.find("PC-1/Weekly/w.img") != std::string::npos);
  BOOST_TEST(report->problems[0].reason == "missing");
}

BOOST_AUTO_TEST_CASE(a_same_size_corruption_passes_plain_verify_and_fails_deep) {
  Synced synced;
  synced.content(k_latin1_name)[10] ^= 0x01;
  auto plain = synced.verify();
  BOOST_TEST_REQUIRE(plain.has_value());
  BOOST_TEST(plain->ok());
  auto deep = synced.verify(true);
  BOOST_TEST_REQUIRE(deep.has_value());
  BOOST_TEST(problem_paths(*deep) == std::vector<std::string>{k_latin1_name});
  BOOST_TEST(deep->problems[0].reason.find("content differs") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_size_change_fails_plain_verify) {
  Synced synced;
  synced.content("top.txt") += "more";
  auto report = synced.verify();
  BOOST_TEST_REQUIRE(report.has_value());
  BOOST_TEST(problem_paths(*report) == std::vector<std::string>{"top.txt"});
}

BOOST_AUTO_TEST_CASE(a_file_no_manifest_names_is_a_warning) {
  Synced synced;
  synced.bench.store->put_file("PC-2/stray.bin", "stray");
  auto report = synced.verify();
  BOOST_TEST_REQUIRE(report.has_value());
  BOOST_TEST(report->ok());
  BOOST_TEST_REQUIRE(report->warnings.size() == 1u);
  BOOST_TEST(any_contains(report->warnings, "PC-2/stray.bin"));
}

BOOST_AUTO_TEST_CASE(verify_refuses_another_repositorys_folder_and_a_folder_never_synced) {
  Synced synced;
  MemoryTarget reader(synced.bench.store);
  auto foreign = verify(reader, generate_uuid());
  BOOST_TEST_REQUIRE(!foreign.has_value());
  BOOST_TEST((foreign.error().kind == ErrorKind::id_mismatch));
  auto without_id = verify(reader, "");
  BOOST_TEST_REQUIRE(!without_id.has_value());
  BOOST_TEST((without_id.error().kind == ErrorKind::id_mismatch));

  MemoryTarget empty(std::make_shared<MemoryStore>());
  auto never = verify(empty, synced.id);
  BOOST_TEST_REQUIRE(!never.has_value());
  BOOST_TEST((never.error().kind == ErrorKind::not_found));
  BOOST_TEST(never.error().message.find("never synced") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(restore_reproduces_every_file_byte_for_byte) {
  Synced synced;
  auto to = synced.out.path() / "restored"; // does not exist yet
  auto report = synced.restore(to);
  BOOST_TEST_REQUIRE(report.has_value(), (report ? "" : report.error().message));
  BOOST_TEST(report->ok());
  BOOST_TEST(report->files_restored == k_files);
  BOOST_TEST(difference(local_files(synced.bench.root()), local_files(to)) == "");
  BOOST_TEST(stdfs::exists(to / k_latin1_name));
  BOOST_TEST(mtime_ns(to / "PC-1/Weekly/w.img") == k_day1_s * 1'000'000'000);
  BOOST_TEST(mtime_ns(to / k_latin1_name) == mtime_ns(synced.bench.root() / k_latin1_name));
}

BOOST_AUTO_TEST_CASE(restore_refuses_a_directory_that_is_not_empty) {
  Synced synced;
  write_local(synced.out.path(), "keep.txt", "mine", k_day1_s);
  auto report = synced.restore(synced.out.path());
  BOOST_TEST_REQUIRE(!report.has_value());
  BOOST_TEST(report.error().message.find("not empty") != std::string::npos);
  BOOST_TEST(local_files(synced.out.path()).size() == 1u);
}

BOOST_AUTO_TEST_CASE(restore_of_one_folder) {
  Synced synced;
  auto to = synced.out.path() / "weekly";
  auto report = synced.restore(to, std::string("PC-1/Weekly"));
  BOOST_TEST_REQUIRE(report.has_value());
  BOOST_TEST(report->files_restored == 1u);
  auto restored = local_files(to);
  BOOST_TEST_REQUIRE(restored.size() == 1u);
  BOOST_TEST(restored.begin()->first == "PC-1/Weekly/w.img");

  auto root = synced.restore(synced.out.path() / "root", std::string(""));
  BOOST_TEST_REQUIRE(root.has_value());
  BOOST_TEST(local_files(synced.out.path() / "root").count("top.txt") == 1u);
  BOOST_TEST(local_files(synced.out.path() / "root").size() == 1u);

  auto unknown = synced.restore(synced.out.path() / "unknown", std::string("PC-9"));
  BOOST_TEST_REQUIRE(!unknown.has_value());
  BOOST_TEST((unknown.error().kind == ErrorKind::config));
  BOOST_TEST(unknown.error().message.find("\"PC-1/Weekly\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(restore_works_with_the_local_repository_deleted) {
  Synced synced;
  auto expected = local_files(synced.bench.root());
  stdfs::remove_all(synced.bench.root());
  auto to = synced.out.path() / "restored";
  auto report = synced.restore(to);
  BOOST_TEST_REQUIRE(report.has_value());
  BOOST_TEST(report->ok());
  BOOST_TEST(difference(expected, local_files(to)) == "");
}

BOOST_AUTO_TEST_CASE(restore_reports_a_corrupt_file_and_never_writes_it) {
  Synced synced;
  synced.content("PC-1/Daily/full.img")[5] ^= 0x20;
  auto to = synced.out.path() / "restored";
  auto report = synced.restore(to);
  BOOST_TEST_REQUIRE(report.has_value());
  BOOST_TEST_REQUIRE(report->failures.size() == 1u);
  BOOST_TEST(report->failures[0].path == "PC-1/Daily/full.img");
  BOOST_TEST(report->files_restored == k_files - 1);
  auto restored = local_files(to); // no temporary file left either
  BOOST_TEST(restored.size() == k_files - 1);
  BOOST_TEST(restored.count("PC-1/Daily/full.img") == 0u);
}

// Files are restored four at a time and finish in any order; the report lists failures by path,
// so the same damage reads the same on every run (the root folder's file comes first otherwise).
BOOST_AUTO_TEST_CASE(restore_lists_its_failures_by_path) {
  Synced synced;
  for (const char* path : {"top.txt", "PC-2/Daily/d.img", "PC-1/Daily/full.img"})
    synced.content(path)[0] ^= 0x20;
  auto report = synced.restore(synced.out.path() / "restored");
  BOOST_TEST_REQUIRE(report.has_value());
  std::vector<std::string> failed;
  for (const auto& failure : report->failures)
    failed.push_back(failure.path);
  std::vector<std::string> expected{"PC-1/Daily/full.img", "PC-2/Daily/d.img", "top.txt"};
  BOOST_TEST(failed == expected, boost::test_tools::per_element());
  BOOST_TEST(report->files_restored == k_files - 3);
}

BOOST_AUTO_TEST_CASE(a_pending_apply_is_a_warning_and_restores_from_staging) {
  Bench bench;
  build_repository(bench);
  auto expected = local_files(bench.root());
  {
    MemoryTarget failing(bench.store);
    failing.fail_path(Op::rename_to_new, "full.img", ErrorKind::permanent);
    auto result = bench.sync(failing);
    BOOST_TEST_REQUIRE((result.outcome == sync::Outcome::failed));
  }
  auto id = bench.repository_id();
  auto state = committed_state(bench.store, id);
  BOOST_TEST_REQUIRE(state.record.has_value());
  BOOST_TEST_REQUIRE(!bench.store->exists("PC-1/Daily/full.img")); // still in staging

  MemoryTarget reader(bench.store);
  auto report = verify(reader, id, true);
  BOOST_TEST_REQUIRE(report.has_value());
  BOOST_TEST(report->ok());
  BOOST_TEST(any_contains(report->warnings, "PC-1/Daily/full.img: apply pending"));

  TempDir out;
  auto restored = restore(reader, bench.pool, out.path() / "restored");
  BOOST_TEST_REQUIRE(restored.has_value());
  BOOST_TEST(restored->ok());
  auto files = local_files(out.path() / "restored");
  BOOST_TEST_REQUIRE(files.count("PC-1/Daily/full.img") == 1u);
  BOOST_TEST((files["PC-1/Daily/full.img"] == expected["PC-1/Daily/full.img"]));
}

BOOST_AUTO_TEST_CASE(local_target_end_to_end) {
  Bench bench;
  build_repository(bench);
  TempDir disk;
  bench.repository.target.type = "local";
  bench.repository.target.settings = config::LocalTarget{disk.path()};
  auto state = sync::repository_state_dir(bench.service.state_dir, bench.repository.name);
  auto make = [&] {
    auto built = target::make_target(bench.repository, bench.pool, state);
    BOOST_TEST_REQUIRE(built.has_value());
    return std::move(built->target);
  };
  auto writer = make();
  BOOST_TEST_REQUIRE((bench.sync(*writer).outcome == sync::Outcome::success));
  auto id = bench.repository_id();

  auto reader = make();
  auto report = verify(*reader, id, true);
  BOOST_TEST_REQUIRE(report.has_value());
  BOOST_TEST(report->ok());
  BOOST_TEST(report->files_checked == k_files);

  TempDir out;
  auto restored = restore(*reader, bench.pool, out.path());
  BOOST_TEST_REQUIRE(restored.has_value());
  BOOST_TEST(restored->ok());
  BOOST_TEST(difference(local_files(bench.root()), local_files(out.path())) == "");

  // A damaged mirror file on disk: found by --deep only, and restore refuses to hand it over.
  auto damaged = disk.path() / bench.repository.folder / k_latin1_name;
  {
    std::fstream file(damaged, std::ios::in | std::ios::out | std::ios::binary);
    file.seekg(3);
    char byte = static_cast<char>(file.get());
    file.seekp(3);
    file.put(static_cast<char>(byte ^ 0x01));
  }
  auto plain = verify(*reader, id);
  BOOST_TEST_REQUIRE(plain.has_value());
  BOOST_TEST(plain->ok());
  auto deep = verify(*reader, id, true);
  BOOST_TEST_REQUIRE(deep.has_value());
  BOOST_TEST(problem_paths(*deep) == std::vector<std::string>{k_latin1_name});
}

sync::ProbeReport probe(target::Target& target, std::optional<std::string> local_id) {
  auto run = [&]() { return sync::probe_target(target, local_id); };
  return run_coro(run);
}

const sync::ProbeStep* find_step(const sync::ProbeReport& report, std::string_view name) {
  for (const auto& step : report.steps)
    if (step.name == name) return &step;
  return nullptr;
}

BOOST_AUTO_TEST_CASE(probe_passes_and_leaves_nothing_behind) {
  auto store = std::make_shared<MemoryStore>();
  MemoryOptions options;
  options.capabilities.server_side_copy = true;
  options.capabilities.reports_free_space = true;
  MemoryTarget target(store, options);
  auto report = probe(target, std::nullopt);
  BOOST_TEST(report.steps_ok());
  BOOST_TEST(!report.foreign());
  BOOST_TEST_REQUIRE(find_step(report, "copy") != nullptr);
  BOOST_TEST((find_step(report, "copy")->status == sync::StepStatus::ok));
  BOOST_TEST(report.free_space.has_value());
  BOOST_TEST_REQUIRE(report.remote_id.has_value());
  BOOST_TEST((report.remote_id->state == sync::RemoteIdState::none));
  BOOST_TEST(!store->exists(".offsite")); // made by the probe, so removed with it
}

BOOST_AUTO_TEST_CASE(probe_names_the_failing_step_and_still_cleans_up) {
  Synced synced; // a folder with our ID, so .offsite/ existed before the probe
  MemoryTarget target(synced.bench.store);
  target.fail_path(Op::rename_to_new, "probe-", ErrorKind::permanent);
  auto report = probe(target, synced.id);
  BOOST_TEST(!report.steps_ok());
  const auto* rename = find_step(report, "rename");
  BOOST_TEST_REQUIRE(rename != nullptr);
  BOOST_TEST((rename->status == sync::StepStatus::failed));
  BOOST_TEST(rename->remote.find(".offsite/probe-") != std::string::npos);
  BOOST_TEST(!rename->error.empty());
  BOOST_TEST((find_step(report, "delete")->status == sync::StepStatus::ok));
  for (const auto& [path, node] : synced.bench.store->nodes)
    BOOST_TEST(!path.starts_with(".offsite/probe-"), path << " is left behind");
  BOOST_TEST((report.remote_id->state == sync::RemoteIdState::ours));

  auto foreign = probe(target, generate_uuid());
  BOOST_TEST(foreign.foreign());
}

BOOST_AUTO_TEST_SUITE_END()
