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
// A commit removes the copy of the manifest it replaces, and after a scan settles on the commit
// point, copies its record does not name are removed (what a failed or foreign commit left).
//
// Prefetch. Which manifests the commit point names is known only once the target has answered,
// but the copies can be read and parsed before: prefetch() does it on the pool while the sync
// connects (over SFTP the handshake is mostly waiting for the server), and take_parsed() then
// hands over a parsed copy if its bytes had the recorded size and hash. A no-change sync of
// 20,000 files over loopback SFTP spent 24 ms of its 130 ms on the copies after the connect.
// On the local target the connect is quick and the copies are the wait: they are read four at a
// time, and there is one per folder, not two (the commit drops the copy it replaces). Cold next
// day of the bench repository (strace timelines): recovery began 59-67 ms into the process, now
// 36-46 ms.

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/thread_pool.hpp>

#include "manifest/manifest.hpp"
#include "util/background_task.hpp"
#include "util/hash128.hpp"

namespace offsite::sync {

class ManifestCache {
public:
  ManifestCache(std::filesystem::path dir, asio::thread_pool& pool) : m_dir(std::move(dir)), m_pool(pool) {}

  // The cached bytes of manifest `name` if they are `size` bytes whose XXH3-128 is `hash`.
  asio::awaitable<std::optional<std::string>> get(std::string name, std::uint64_t size, Hash128 hash);
  // Keeps a copy of manifest `name` (best effort: a failure only costs a later read), and drops
  // the copy of manifest `replaces`, the folder's previous one, which the new commit point will
  // no longer name: the next sync's prefetch then reads only copies it can use.
  asio::awaitable<void> put(std::string name, std::string bytes, std::string replaces = {});
  // Removes the copies of manifests not in `names` (best effort).
  asio::awaitable<void> keep_only(std::vector<std::string> names);

  // Starts reading and parsing every copy on the pool, beside what the caller does meanwhile.
  void prefetch(asio::any_io_executor executor);
  // After prefetch(): waits for it, and hands over manifest `name` parsed (its files sorted by
  // path) if its copy was `size` bytes whose XXH3-128 is `hash`. Otherwise nullopt.
  asio::awaitable<std::optional<manifest::FolderManifest>> take_parsed(const std::string& name, std::uint64_t size,
                                                                       Hash128 hash);
  // Waits for a prefetch still running and forgets what was not taken.
  asio::awaitable<void> end_prefetch();

  struct Prefetched {
    std::uint64_t size = 0;
    Hash128 hash;
    manifest::FolderManifest manifest;
  };

private:
  std::filesystem::path file_of(const std::string& name) const;

  std::filesystem::path m_dir;
  asio::thread_pool& m_pool;
  BackgroundTask m_prefetch;
  std::shared_ptr<std::map<std::string, Prefetched>> m_prefetched; // by file name in m_dir
};

} // namespace offsite::sync
