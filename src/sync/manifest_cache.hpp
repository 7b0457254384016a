#pragma once
// Folder manifests kept in `state_dir`, so a sync need not read them from the target again.
//
// A no-change sync reads nothing of the mirror but the commit point: the newest record and the
// folder manifests it names. Over SFTP or S3 each manifest is a few round trips, and they were
// most of a no-change sync's time (40 folders: about 60 ms of a 170 ms run over loopback SFTP).
// Manifests are immutable and named once (`.offsite/folders/<txid>/...`), and the record that
// names one also holds its size and XXH3-128, so a cached copy is used only when it has exactly
// that size and hash: the bytes are then the committed bytes, whatever happened to the cache
// (a torn write, an edit, another repository's manifest of the same name). Anything else is read
// from the target as before, and cached.
//
// The cache trusts the target to keep what it committed, as the rest of a no-change sync does
// (it does not stat the mirror's files either); `verify` reads every manifest from the target.
// Files are written without fsync: a copy lost or torn in a crash only fails its hash check.
// After a scan settles on the commit point, copies its record does not name are removed.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/thread_pool.hpp>

#include "util/hash128.hpp"

namespace offsite::sync {

class ManifestCache {
public:
  ManifestCache(std::filesystem::path dir, asio::thread_pool& pool) : m_dir(std::move(dir)), m_pool(pool) {}

  // The cached bytes of manifest `name` if they are `size` bytes whose XXH3-128 is `hash`.
  asio::awaitable<std::optional<std::string>> get(std::string name, std::uint64_t size, Hash128 hash);
  // Keeps a copy of manifest `name` (best effort: a failure only costs a later read).
  asio::awaitable<void> put(std::string name, std::string bytes);
  // Removes the copies of manifests not in `names` (best effort).
  asio::awaitable<void> keep_only(std::vector<std::string> names);

private:
  std::filesystem::path file_of(const std::string& name) const;

  std::filesystem::path m_dir;
  asio::thread_pool& m_pool;
};

} // namespace offsite::sync
