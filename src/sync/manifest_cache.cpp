#include "sync/manifest_cache.hpp"

#include <optional>
#include <set>
#include <system_error>
#include <utility>

#include "sync/committed_state.hpp"
#include "sync/lanes.hpp"
#include "util/fs.hpp"
#include "util/offload.hpp"

namespace offsite::sync {
namespace {

constexpr std::string_view k_suffix = ".json";
// A copy larger than this is no manifest of ours (records refuse larger ones too).
constexpr std::uint64_t k_max_copy_size = 256ull << 20;

} // namespace

// A manifest's name comes from a record on the remote, which we do not trust to be a safe file
// name: the cache file is named by the name's hash instead.
std::filesystem::path ManifestCache::file_of(const std::string& name) const {
  return m_dir / (xxh3_128(name).to_hex() + std::string(k_suffix));
}

asio::awaitable<std::optional<std::string>> ManifestCache::get(std::string name, std::uint64_t size, Hash128 hash) {
  auto work = [path = file_of(name), size, hash]() -> std::optional<std::string> {
    auto bytes = fs::read_file(path, size); // a larger copy is refused unread
    if (!bytes || bytes->size() != size || xxh3_128(*bytes) != hash) return std::nullopt;
    return std::move(*bytes);
  };
  co_return co_await offload(m_pool, std::move(work));
}

namespace {

// The copies prefetch() reads, shared by its lanes.
struct CopiesToRead {
  asio::thread_pool& pool;
  std::vector<std::filesystem::path> files;
  std::size_t next = 0;
  std::map<std::string, ManifestCache::Prefetched>& into;
};

// Takes the next copy not yet taken until none is left: read and parsed on the pool, kept here
// (on the event loop, so the lanes never touch `into` at once).
asio::awaitable<void> read_copies_lane(CopiesToRead& work) {
  while (work.next < work.files.size()) {
    const auto& path = work.files[work.next++];
    auto read = [&path]() -> std::optional<std::pair<std::string, ManifestCache::Prefetched>> {
      auto bytes = fs::read_file(path, k_max_copy_size);
      if (!bytes) return std::nullopt;
      // Errors name the copy; a copy that does not parse is left to get(), whose bytes the
      // caller parses again and reports against the target's name.
      auto manifest = parse_sorted_folder_manifest(*bytes, path.string());
      if (!manifest) return std::nullopt;
      return std::pair{path.filename().string(),
                       ManifestCache::Prefetched{bytes->size(), xxh3_128(*bytes), std::move(*manifest)}};
    };
    auto pending = offload(work.pool, std::move(read));
    auto parsed = co_await std::move(pending);
    if (parsed) work.into.insert(std::move(*parsed));
  }
}

} // namespace

void ManifestCache::prefetch(asio::any_io_executor executor) {
  auto list = [dir = m_dir] {
    std::vector<std::filesystem::path> files;
    std::error_code error;
    for (std::filesystem::directory_iterator it(dir, error), end; !error && it != end; it.increment(error))
      files.push_back(it->path());
    return files;
  };
  // Shared with the task, which may end after this cache (its pool work cannot be cancelled).
  auto into = m_prefetched = std::make_shared<std::map<std::string, Prefetched>>();
  auto task = [&pool = m_pool, into, list = std::move(list)]() -> asio::awaitable<void> {
    auto listing = offload(pool, list);
    auto listed = co_await std::move(listing); // a plain initialiser (GCC 12)
    // Four copies at a time (lanes.hpp): cold, each is an open and a read that wait for the disk,
    // and the recovery that follows the connect waits for them all.
    CopiesToRead work{pool, std::move(listed), 0, *into};
    auto lane = [&work] { return read_copies_lane(work); };
    co_await run_in_lanes(lane);
  };
  m_prefetch.start(std::move(executor), std::move(task));
}

asio::awaitable<std::optional<manifest::FolderManifest>> ManifestCache::take_parsed(const std::string& name,
                                                                                    std::uint64_t size, Hash128 hash) {
  co_await m_prefetch.wait();
  if (!m_prefetched) co_return std::nullopt;
  auto found = m_prefetched->find(file_of(name).filename().string());
  if (found == m_prefetched->end()) co_return std::nullopt;
  auto prefetched = std::move(found->second);
  m_prefetched->erase(found);
  if (prefetched.size != size || prefetched.hash != hash) co_return std::nullopt;
  co_return std::move(prefetched.manifest);
}

asio::awaitable<void> ManifestCache::end_prefetch() {
  co_await m_prefetch.wait();
  m_prefetched.reset(); // frees what was not taken
}

asio::awaitable<void> ManifestCache::put(std::string name, std::string bytes, std::string replaces) {
  std::filesystem::path stale;
  if (!replaces.empty() && replaces != name) stale = file_of(replaces);
  auto work = [dir = m_dir, path = file_of(name), bytes = std::move(bytes), stale = std::move(stale)] {
    if (fs::create_directories(dir, 0750)) (void)fs::write_file_unsynced(path, bytes, 0640);
    std::error_code ignored;
    if (!stale.empty()) std::filesystem::remove(stale, ignored);
  };
  co_await offload(m_pool, std::move(work));
}

asio::awaitable<void> ManifestCache::keep_only(std::vector<std::string> names) {
  std::set<std::string> kept;
  for (const auto& name : names)
    kept.insert(file_of(name).filename().string());
  auto work = [dir = m_dir, kept = std::move(kept)] {
    std::error_code error;
    std::vector<std::filesystem::path> stale;
    for (std::filesystem::directory_iterator it(dir, error), end; !error && it != end; it.increment(error))
      if (!kept.count(it->path().filename().string())) stale.push_back(it->path());
    for (const auto& path : stale)
      std::filesystem::remove(path, error);
  };
  co_await offload(m_pool, std::move(work));
}

} // namespace offsite::sync
