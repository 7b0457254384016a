#include "sync/manifest_cache.hpp"

#include <set>
#include <system_error>

#include "util/fs.hpp"
#include "util/offload.hpp"

namespace offsite::sync {
namespace {

constexpr std::string_view k_suffix = ".json";

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

asio::awaitable<void> ManifestCache::put(std::string name, std::string bytes) {
  auto work = [dir = m_dir, path = file_of(name), bytes = std::move(bytes)] {
    if (fs::create_directories(dir, 0750)) (void)fs::write_file_unsynced(path, bytes, 0640);
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
