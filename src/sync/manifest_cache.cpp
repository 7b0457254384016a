#include "sync/manifest_cache.hpp"

#include <set>
#include <system_error>
#include <utility>

#include <asio/experimental/awaitable_operators.hpp>

#include "sync/committed_state.hpp"
#include "util/fs.hpp"
#include "util/offload.hpp"

namespace offsite::sync {
namespace {

constexpr std::string_view k_suffix = ".json";
// A copy larger than this is no manifest of ours (records refuse larger ones too).
constexpr std::uint64_t k_max_copy_size = 256ull << 20;
constexpr std::size_t k_prefetch_lanes = 4; // prefetch() awaits exactly four shares

using namespace asio::experimental::awaitable_operators;

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

void ManifestCache::prefetch(asio::any_io_executor executor) {
  // A share of the copies each, k_prefetch_lanes at once: cold, each copy is an open and a read
  // that wait for the disk, and the recovery that follows the connect waits for them all.
  auto list = [dir = m_dir] {
    std::vector<std::filesystem::path> files;
    std::error_code error;
    for (std::filesystem::directory_iterator it(dir, error), end; !error && it != end; it.increment(error))
      files.push_back(it->path());
    return files;
  };
  auto parse_share = [](std::shared_ptr<const std::vector<std::filesystem::path>> files, std::size_t first) {
    std::map<std::string, Prefetched> parsed;
    for (std::size_t i = first; i < files->size(); i += k_prefetch_lanes) {
      const auto& path = (*files)[i];
      auto bytes = fs::read_file(path, k_max_copy_size);
      if (!bytes) continue;
      // Errors name the copy; a copy that does not parse is left to get(), whose bytes the
      // caller parses again and reports against the target's name.
      auto manifest = parse_sorted_folder_manifest(*bytes, path.string());
      if (!manifest) continue;
      parsed.emplace(path.filename().string(), Prefetched{bytes->size(), xxh3_128(*bytes), std::move(*manifest)});
    }
    return parsed;
  };
  // Shared with the task, which may end after this cache (its pool work cannot be cancelled).
  auto into = m_prefetched = std::make_shared<std::map<std::string, Prefetched>>();
  auto task = [&pool = m_pool, into, list = std::move(list), parse_share]() -> asio::awaitable<void> {
    auto listing = offload(pool, list);
    auto listed = co_await std::move(listing); // a plain initialiser (GCC 12)
    auto files = std::make_shared<const std::vector<std::filesystem::path>>(std::move(listed));
    auto share = [&](std::size_t first) { return offload(pool, [=] { return parse_share(files, first); }); };
    auto first = share(0); // named, not temporaries of the co_await (GCC 12)
    auto second = share(1);
    auto third = share(2);
    auto fourth = share(3);
    auto [a, b, c, d] = co_await (std::move(first) && std::move(second) && std::move(third) && std::move(fourth));
    for (auto* part : {&a, &b, &c, &d})
      into->merge(*part);
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
