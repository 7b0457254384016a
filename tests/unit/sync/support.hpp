#pragma once
// Helpers for the engine's tests: small real repositories on disk, a bench that runs run_sync()
// against the in-memory target, and comparisons of the remote with the repository.
//
//   Bench bench;                          // a temp repository, a temp state_dir, an empty store
//   bench.put("PC-1/Daily/a.img", 5000);  // deterministic bytes, fixed mtime
//   auto result = bench.sync();           // a fresh MemoryTarget over bench.store
//   BOOST_TEST(bench.mirror_difference() == "");

#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <asio/thread_pool.hpp>
#include <boost/test/unit_test.hpp>
#include <fmt/format.h>

#include "config/config.hpp"
#include "manifest/manifest.hpp"
#include "repo/repository_id.hpp"
#include "support/files.hpp"
#include "support/memory_target.hpp"
#include "support/run_coro.hpp"
#include "support/temp_dir.hpp"
#include "sync/committed_state.hpp"
#include "sync/progress.hpp"
#include "sync/remote_layout.hpp"
#include "sync/sync.hpp"
#include "util/hash128.hpp"
#include "util/log.hpp"
#include "util/stopper.hpp"

namespace offsite::test {

namespace stdfs = std::filesystem;

inline constexpr std::int64_t k_day1_s = 1'750'000'000; // mtimes of the first day's files
inline constexpr std::int64_t k_day2_s = 1'750'086'400;
inline constexpr std::int64_t k_minute_ns = 60'000'000'000;

// Crash loops make hundreds of failing runs; their warnings would bury a real failure's output.
inline void quiet_logs() { log::set_level(log::Level::error); }

// The error a sync ended with, or "" (so a failed check prints it).
inline std::string error_message(const sync::SyncResult& result) { return result.error ? result.error->message : ""; }

// `size` bytes that depend on `seed`: different seeds give different bytes of the same size.
inline std::string bytes_of(std::uint64_t seed, std::size_t size) {
  std::string out(size, '\0');
  std::uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
  for (std::size_t i = 0; i < size; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = static_cast<char>(x & 0xff);
  }
  return out;
}

inline void write_local(const stdfs::path& root, const std::string& relative, const std::string& content,
                        std::int64_t mtime_s) {
  auto file = root / relative;
  write_file(file, content);
  struct timespec times[2] = {{mtime_s, 0}, {mtime_s, 0}};
  BOOST_TEST_REQUIRE(::utimensat(AT_FDCWD, file.c_str(), times, 0) == 0);
}

struct FileFacts {
  std::uint64_t size = 0;
  std::string hash;
  friend bool operator==(const FileFacts&, const FileFacts&) = default;
};

// Every regular file of the repository but `.offsite/`: path → size and XXH3-128.
inline std::map<std::string, FileFacts> local_files(const stdfs::path& root) {
  std::map<std::string, FileFacts> files;
  for (auto it = stdfs::recursive_directory_iterator(root); it != stdfs::recursive_directory_iterator(); ++it) {
    auto relative = stdfs::relative(it->path(), root).generic_string();
    if (relative == ".offsite") {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file()) continue;
    std::ifstream in(it->path(), std::ios::binary);
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    files[relative] = FileFacts{content.size(), xxh3_128(content).to_hex()};
  }
  return files;
}

// Every file of the mirror (the store outside `.offsite/`).
inline std::map<std::string, FileFacts> mirror_files(const MemoryStore& store) {
  std::map<std::string, FileFacts> files;
  for (const auto& [path, node] : store.nodes) {
    if (node.is_directory || path == ".offsite" || path.starts_with(".offsite/")) continue;
    files[path] = FileFacts{node.content.size(), xxh3_128(node.content).to_hex()};
  }
  return files;
}

// "" when the mirror equals the repository; else one line per difference.
inline std::string difference(const std::map<std::string, FileFacts>& local,
                              const std::map<std::string, FileFacts>& mirror) {
  std::string out;
  for (const auto& [path, facts] : local) {
    auto found = mirror.find(path);
    if (found == mirror.end())
      out += fmt::format("missing in the mirror: {}\n", path);
    else if (!(found->second == facts))
      out += fmt::format("differs: {} ({} bytes {} locally, {} bytes {} in the mirror)\n", path, facts.size, facts.hash,
                         found->second.size, found->second.hash);
  }
  for (const auto& [path, facts] : mirror)
    if (!local.count(path)) out += fmt::format("only in the mirror: {}\n", path);
  return out;
}

// Files (not directories) of the store under `prefix`.
inline std::vector<std::string> files_under(const MemoryStore& store, const std::string& prefix) {
  std::vector<std::string> found;
  for (const auto& [path, node] : store.nodes)
    if (!node.is_directory && path.starts_with(prefix)) found.push_back(path);
  return found;
}

// path → content of every file of the store: "nothing was written" compares two of these.
inline std::map<std::string, std::string> store_files(const MemoryStore& store) {
  std::map<std::string, std::string> files;
  for (const auto& [path, node] : store.nodes)
    if (!node.is_directory) files[path] = node.content;
  return files;
}

// The committed state as a reader with no faults finds it (nullopt record: none).
inline sync::CommittedState committed_state(const std::shared_ptr<MemoryStore>& store, const std::string& id) {
  MemoryTarget reader(store);
  auto scan = [&]() { return sync::scan_commits(reader, id); };
  auto scanned = run_coro(scan);
  BOOST_TEST_REQUIRE(scanned.has_value());
  return std::move(scanned->committed);
}

// "" when every file the committed state names can be read back with its size and hash: at its
// final path, or (a pending entry not applied yet) at its staged path. Else what is missing.
inline std::string unreadable_committed_files(const MemoryStore& store, const sync::CommittedState& state) {
  std::map<std::string, std::string> staged_of;
  if (state.record)
    for (const auto& pending : state.record->pending)
      staged_of[pending.path] = sync::layout::meta_path(pending.staged);
  auto holds = [&](const std::string& path, const manifest::FileEntry& entry) {
    auto content = store.file(path);
    return content && content->size() == entry.size && xxh3_128(*content) == entry.xxh3_128;
  };
  std::string out;
  for (const auto& [folder, manifest] : state.folders) {
    for (const auto& entry : manifest.files) {
      if (holds(entry.path, entry)) continue;
      auto staged = staged_of.find(entry.path);
      if (staged != staged_of.end() && holds(staged->second, entry)) continue;
      out += fmt::format("generation {}: {} cannot be read back\n", state.generation(), entry.path);
    }
  }
  return out;
}

// A Target that forwards to another and records each call (operation and path), with a hook that
// runs after each call returns: a second writer acting between two steps of a sync.
class RecordingTarget final : public target::Target {
public:
  struct Call {
    Op op;
    std::string path;
  };
  explicit RecordingTarget(target::Target& inner) : m_inner(inner) {}

  std::vector<Call> calls;
  std::function<void(Op, const std::string&)> after; // may be empty

  std::vector<std::string> paths(Op op) const {
    std::vector<std::string> out;
    for (const auto& call : calls)
      if (call.op == op) out.push_back(call.path);
    return out;
  }

  target::Capabilities capabilities() const override { return m_inner.capabilities(); }
  std::string describe() const override { return m_inner.describe(); }
  asio::awaitable<Result<void>> connect() override {
    auto r = co_await m_inner.connect();
    note(Op::connect, "");
    co_return r;
  }
  asio::awaitable<Result<target::RemoteEntry>> stat(std::string path) override {
    auto r = co_await m_inner.stat(path);
    note(Op::stat, path);
    co_return r;
  }
  asio::awaitable<Result<std::vector<target::RemoteEntry>>> list(std::string dir) override {
    auto r = co_await m_inner.list(dir);
    note(Op::list, dir);
    co_return r;
  }
  asio::awaitable<Result<void>> make_directory(std::string path) override {
    auto r = co_await m_inner.make_directory(path);
    note(Op::make_directory, path);
    co_return r;
  }
  asio::awaitable<Result<std::unique_ptr<target::Upload>>> start_upload(std::string path,
                                                                        target::UploadOptions options) override {
    auto r = co_await m_inner.start_upload(path, options);
    note(Op::start_upload, path);
    co_return r;
  }
  asio::awaitable<Result<std::uint64_t>> uploaded_size(std::string path, std::string resume_token) override {
    auto r = co_await m_inner.uploaded_size(path, resume_token);
    note(Op::uploaded_size, path);
    co_return r;
  }
  asio::awaitable<Result<std::string>> read_file(std::string path, std::uint64_t max_size) override {
    auto r = co_await m_inner.read_file(path, max_size);
    note(Op::read_file, path);
    co_return r;
  }
  asio::awaitable<Result<void>> write_new_file(std::string path, target::FileBytes bytes) override {
    auto r = co_await m_inner.write_new_file(path, bytes);
    note(Op::write_new_file, path);
    co_return r;
  }
  asio::awaitable<Result<std::unique_ptr<target::Download>>> open_download(std::string path,
                                                                           std::uint64_t offset) override {
    auto r = co_await m_inner.open_download(path, offset);
    note(Op::open_download, path);
    co_return r;
  }
  asio::awaitable<Result<void>> rename_to_new(std::string from, std::string to) override {
    auto r = co_await m_inner.rename_to_new(from, to);
    note(Op::rename_to_new, to);
    co_return r;
  }
  asio::awaitable<Result<void>> remove(std::string path) override {
    auto r = co_await m_inner.remove(path);
    note(Op::remove, path);
    co_return r;
  }
  asio::awaitable<Result<void>> remove_directory(std::string path) override {
    auto r = co_await m_inner.remove_directory(path);
    note(Op::remove_directory, path);
    co_return r;
  }
  asio::awaitable<Result<void>> copy(std::string from, std::string to) override {
    auto r = co_await m_inner.copy(from, to);
    note(Op::copy, to);
    co_return r;
  }
  asio::awaitable<Result<void>> make_durable() override {
    auto r = co_await m_inner.make_durable();
    note(Op::make_durable, "");
    co_return r;
  }
  asio::awaitable<Result<std::optional<std::uint64_t>>> free_space() override {
    auto r = co_await m_inner.free_space();
    note(Op::free_space, "");
    co_return r;
  }

private:
  void note(Op op, const std::string& path) {
    calls.push_back({op, path});
    if (after) after(op, path);
  }

  target::Target& m_inner;
};

// One repository synced to one in-memory store.
class Bench {
public:
  Bench() : store(std::make_shared<MemoryStore>()) {
    quiet_logs();
    repository.name = "Test";
    repository.path = m_repository_dir.path();
    repository.folder = "offsite";
    repository.folder_depth = 2;
    repository.chunk_size = 64 * 1024;
    repository.concurrency = 2;
    service.state_dir = m_state_dir.path();
  }

  const stdfs::path& root() const { return m_repository_dir.path(); }

  void put(const std::string& relative, std::size_t size, std::uint64_t seed = 0, std::int64_t mtime_s = k_day1_s) {
    write_local(root(), relative, bytes_of(seed ? seed : std::hash<std::string>{}(relative), size), mtime_s);
  }
  void put_text(const std::string& relative, const std::string& content, std::int64_t mtime_s = k_day1_s) {
    write_local(root(), relative, content, mtime_s);
  }
  void remove(const std::string& relative) { stdfs::remove(root() / relative); }
  void touch(const std::string& relative, std::int64_t mtime_s) {
    struct timespec times[2] = {{mtime_s, 0}, {mtime_s, 0}};
    BOOST_TEST_REQUIRE(::utimensat(AT_FDCWD, (root() / relative).c_str(), times, 0) == 0);
  }

  // The repository's own ID (created on first use, as the sync does).
  std::string repository_id() {
    auto id = repo::load_or_create_repository_id(root());
    BOOST_TEST_REQUIRE(id.has_value());
    return *id;
  }

  // One run_sync() on `target`.
  sync::SyncResult sync(target::Target& target, sync::SyncRequest request = {}) {
    Stopper stopper;
    return sync(target, request, stopper);
  }
  // The same with the caller's Stopper (a test that stops the sync midway).
  sync::SyncResult sync(target::Target& target, sync::SyncRequest request, Stopper& stopper) {
    request.group_commits = request.group_commits && group_commits;
    sync::SyncProgress progress;
    sync::SyncContext context{target, pool, stopper, progress, nullptr};
    auto run = [&]() { return sync::run_sync(context, repository, service, request); };
    auto result = run_coro(run);
    last_bytes_sent = progress.transfer.bytes_sent;
    last_bytes_to_read = progress.bytes_total;
    last_bytes_read = progress.transfer.bytes_read;
    return result;
  }
  // One run_sync() on a fresh, fault-free target over the store: the next run.
  sync::SyncResult sync(sync::SyncRequest request = {}) {
    MemoryTarget target(store, options);
    return sync(target, request);
  }
  // Time passes between runs: a killed run's lease (of this still-running test process) expires.
  void later() { store->clock_ns += 10 * k_minute_ns; }

  std::string mirror_difference() const { return difference(local_files(root()), mirror_files(*store)); }
  std::vector<std::string> transaction_leftovers() const { return files_under(*store, ".offsite/tx/"); }

  std::shared_ptr<MemoryStore> store;
  bool group_commits = true; // off: one record per folder, the same sequence every run
  MemoryOptions options;
  config::Repository repository;
  config::Service service;
  asio::thread_pool pool{2};
  std::uint64_t last_bytes_sent = 0;    // TransferCounters::bytes_sent of the last sync()
  std::uint64_t last_bytes_to_read = 0; // the last sync()'s plan: bytes of the files it reads
  std::uint64_t last_bytes_read = 0;    // TransferCounters::bytes_read of the last sync()

private:
  TempDir m_repository_dir;
  TempDir m_state_dir;
};

// The small repository the run and crash suites use: five folders at depth 2 (one of them the
// root folder "", one a first-level folder), files from a few bytes to `big` bytes.
inline void build_small_repository(Bench& bench, std::size_t big = 200 * 1024) {
  bench.put("PC-1/Daily/full.img", big);
  bench.put("PC-1/Daily/sub/inc-1.img", 5 * 1024);
  bench.put("PC-1/Weekly/w.img", 70 * 1024);
  bench.put("PC-2/Daily/d.img", 3 * 1024);
  bench.put("PC-2/notes.txt", 17);
  bench.put("top.txt", 5);
}
inline constexpr std::size_t k_small_folders = 5; // PC-1/Daily PC-1/Weekly PC-2/Daily PC-2 ""
inline constexpr std::size_t k_small_files = 6;

// The next day's changes on top of build_small_repository(): one new file, one deleted, one
// rewritten with the same size, one touched with the same bytes.
inline void next_day_changes(Bench& bench) {
  bench.put("PC-1/Daily/sub/inc-2.img", 9 * 1024, 0, k_day2_s);
  bench.remove("PC-2/Daily/d.img");
  bench.put("PC-1/Weekly/w.img", 70 * 1024, 4242, k_day2_s);
  bench.touch("PC-2/notes.txt", k_day2_s);
}

} // namespace offsite::test
