// Finding the commit point.
//
// The committed state is the valid commit record with the highest generation (BRIEF §5.1). A
// record is valid when its bytes pass the self-checksum (a torn or edited record never is), its
// name's generation matches its content, it belongs to this repository (records with a foreign
// repository_id are ignored), and every folder manifest it names has the recorded size and hash.
//
// Listings may lag on some stores (S3-compatible ones especially): a record written by the last
// sync may be missing from the listing for a while. Taking the highest *listed* record would then
// silently roll back a commit. So after listing, the next few generations are also asked for by
// name; a record that exists is found either way.
//
// Records are tried from the highest down. Anything invalid above the committed one is garbage
// of an interrupted commit (never committed, by definition) and is reported in `invalid_above`
// for recovery to remove.

#include "sync/committed_state.hpp"

#include <algorithm>
#include <optional>
#include <set>

#include <asio/experimental/awaitable_operators.hpp>
#include <fmt/format.h>

#include "manifest/remote_path.hpp"

#include "sync/lanes.hpp"
#include "sync/manifest_cache.hpp"
#include "sync/remote_layout.hpp"
#include "target/target.hpp"
#include "util/hash128.hpp"

namespace offsite::sync {
namespace {

using namespace asio::experimental::awaitable_operators;

constexpr std::uint64_t k_max_record_size = 256ull << 20;
constexpr std::uint64_t k_probe_ahead = 3; // generations asked for by name past the listing

} // namespace

std::uint64_t CommittedState::file_count() const {
  std::uint64_t count = 0;
  for (const auto& [path, folder] : folders)
    count += folder.files.size();
  return count;
}

const manifest::FileEntry* CommittedState::find(const std::string& folder, const std::string& path) const {
  auto it = folders.find(folder);
  if (it == folders.end()) return nullptr;
  auto entry = std::lower_bound(it->second.files.begin(), it->second.files.end(), path,
                                [](const manifest::FileEntry& e, const std::string& p) { return e.path < p; });
  return entry != it->second.files.end() && entry->path == path ? &*entry : nullptr;
}

const manifest::FileEntry* CommittedState::find_any(const std::string& path) const {
  for (const auto& [folder, manifest] : folders) {
    if (!manifest::is_within(folder, path)) continue;
    if (const auto* entry = find(folder, path)) return entry;
  }
  return nullptr;
}

namespace {

// A record's bytes checked as record `generation`.
Result<manifest::CommitRecord> parse_commit_record(const target::Target& target, std::uint64_t generation,
                                                   const std::string& bytes) {
  auto name = layout::commit_record(generation);
  auto record = manifest::read_commit_record(bytes, target.describe() + "/" + name);
  if (!record) return Unexpected(std::move(record).error());
  if (record->generation != generation)
    return make_error(ErrorKind::permanent,
                      fmt::format("{}/{}: holds generation {}", target.describe(), name, record->generation));
  return std::move(*record);
}

// Reading the folder manifests a record names. On a no-change sync they are most of what is read
// from the target, so they are read in lanes (lanes.hpp), four at once: one round trip (or disk
// seek) each, overlapped. Each lane takes the next manifest not yet taken; results land in the slot of
// their manifest, and the first failure stops the lanes at their next manifest.
struct ManifestReads {
  const manifest::CommitRecord& record;
  ManifestCache* cache;                                      // null: every manifest from the target
  std::vector<std::optional<manifest::FolderManifest>> read; // by index in record.folders
  std::size_t next = 0;
  std::optional<Error> failure;
  bool unreadable = false; // the failure is the target's (other than a missing manifest)
};

// Reads and checks one manifest: `ref` of record `record`.
asio::awaitable<Result<manifest::FolderManifest>> read_manifest(target::Target& target, ManifestCache* cache,
                                                                const manifest::CommitRecord& record,
                                                                const manifest::FolderRef& ref, bool& unreadable) {
  auto name = layout::meta_path(ref.manifest);
  auto where = target.describe() + "/" + name;
  // A copy from the cache has the recorded size and hash already (ManifestCache checks): parsed
  // during the connect (prefetch), else read now.
  std::optional<manifest::FolderManifest> parsed;
  std::optional<std::string> bytes;
  if (cache) {
    parsed = co_await cache->take_parsed(ref.manifest, ref.manifest_size, ref.manifest_xxh3_128);
    if (!parsed) bytes = co_await cache->get(ref.manifest, ref.manifest_size, ref.manifest_xxh3_128);
  }
  bool from_target = !parsed && !bytes;
  if (from_target) {
    auto read = co_await target.read_file(name, k_max_record_size);
    if (!read) {
      unreadable = read.error().kind != ErrorKind::not_found;
      co_return Unexpected(read.error().with_context(fmt::format("folder manifest of {}", ref.path)));
    }
    if (read->size() != ref.manifest_size || xxh3_128(*read) != ref.manifest_xxh3_128)
      co_return make_error(
          ErrorKind::permanent,
          fmt::format("{}: size or hash differs from what commit record {} recorded", where, record.generation));
    bytes = std::move(*read);
  }
  if (!parsed) {
    auto read = parse_sorted_folder_manifest(*bytes, where);
    if (!read) co_return Unexpected(std::move(read).error());
    parsed = std::move(*read);
  }
  if (parsed->folder != ref.path)
    co_return make_error(ErrorKind::permanent,
                         fmt::format("{}: describes folder '{}', not '{}'", where, parsed->folder, ref.path));
  if (cache && from_target) co_await cache->put(ref.manifest, std::move(*bytes));
  co_return std::move(*parsed);
}

asio::awaitable<void> manifest_lane(target::Target& target, ManifestReads& reads) {
  while (!reads.failure && reads.next < reads.record.folders.size()) {
    std::size_t index = reads.next++;
    bool unreadable = false;
    auto manifest = co_await read_manifest(target, reads.cache, reads.record, reads.record.folders[index], unreadable);
    if (!manifest) {
      if (!reads.failure) {
        reads.failure = std::move(manifest).error();
        reads.unreadable = unreadable;
      }
      co_return;
    }
    reads.read[index] = std::move(*manifest);
  }
}

// read_folder_manifests(); `unreadable` tells a manifest the target could not read (other than
// missing) from one that was read and is wrong.
asio::awaitable<Result<std::map<std::string, manifest::FolderManifest>>>
read_manifests(target::Target& target, manifest::CommitRecord record, bool& unreadable, ManifestCache* cache) {
  ManifestReads reads{record, cache, {}, 0, {}, false};
  reads.read.resize(record.folders.size());
  auto lane = [&target, &reads] { return manifest_lane(target, reads); };
  co_await run_in_lanes(lane);
  unreadable = reads.unreadable;
  if (reads.failure) co_return Unexpected(std::move(*reads.failure));
  std::map<std::string, manifest::FolderManifest> folders;
  for (std::size_t i = 0; i < record.folders.size(); ++i)
    folders.emplace(record.folders[i].path, std::move(*reads.read[i]));
  co_return folders;
}

} // namespace

Result<manifest::FolderManifest> parse_sorted_folder_manifest(std::string_view bytes, std::string_view where) {
  auto parsed = manifest::read_folder_manifest(bytes, where);
  if (!parsed) return parsed;
  std::sort(parsed->files.begin(), parsed->files.end(),
            [](const manifest::FileEntry& a, const manifest::FileEntry& b) { return a.path < b.path; });
  return parsed;
}

asio::awaitable<Result<manifest::CommitRecord>> read_commit_record(target::Target& target, std::uint64_t generation) {
  auto name = layout::commit_record(generation);
  auto bytes = co_await target.read_file(name, k_max_record_size);
  if (!bytes) co_return Unexpected(std::move(bytes).error());
  co_return parse_commit_record(target, generation, *bytes);
}

asio::awaitable<Result<std::map<std::string, manifest::FolderManifest>>>
read_folder_manifests(target::Target& target, manifest::CommitRecord record) {
  bool unreadable = false;
  co_return co_await read_manifests(target, std::move(record), unreadable, nullptr);
}

namespace {

// Which records a scan accepts as the commit point.
struct Owner {
  std::string repository_id;
  bool any_but = false; // true: any repository except `repository_id`
  bool accepts(const std::string& id) const { return any_but ? id != repository_id : id == repository_id; }
};

asio::awaitable<Result<CommitScan>> scan_for(target::Target& target, Owner owner, ManifestCache* cache);

} // namespace

asio::awaitable<Result<CommitScan>> scan_commits(target::Target& target, std::string repository_id,
                                                 ManifestCache* cache) {
  Owner owner{std::move(repository_id), false};
  co_return co_await scan_for(target, std::move(owner), cache);
}

asio::awaitable<Result<CommittedState>> scan_previous_owner(target::Target& target, std::string repository_id) {
  Owner owner{std::move(repository_id), true};
  auto scan = co_await scan_for(target, std::move(owner), nullptr);
  if (!scan) co_return Unexpected(std::move(scan).error());
  co_return std::move(scan->committed);
}

namespace {

asio::awaitable<Result<CommitScan>> scan_for(target::Target& target, Owner owner, ManifestCache* cache) {
  CommitScan scan;
  std::set<std::uint64_t, std::greater<>> generations;
  std::string commits_dir(layout::k_commits);
  auto listed = co_await target.list(commits_dir);
  if (!listed && listed.error().kind != ErrorKind::not_found) co_return Unexpected(std::move(listed).error());
  if (listed) {
    for (const auto& entry : *listed)
      if (auto generation = layout::parse_commit_record_name(entry.name)) generations.insert(*generation);
  }
  // Past the listing, ask by name until k_probe_ahead generations in a row are missing: a lagging
  // listing may hide any number of records that one sync wrote (one per folder).
  std::uint64_t listed_top = generations.empty() ? 0 : *generations.begin();
  for (std::uint64_t next = listed_top + 1, missing = 0; missing < k_probe_ahead; ++next) {
    auto name = layout::commit_record(next);
    auto probe = co_await target.stat(name);
    if (probe) {
      generations.insert(next);
      missing = 0;
    } else if (probe.error().kind == ErrorKind::not_found) {
      ++missing;
    } else {
      co_return Unexpected(std::move(probe).error());
    }
  }
  scan.highest_name = generations.empty() ? 0 : *generations.begin();

  for (std::uint64_t generation : generations) {
    // A record the target fails to read is not an invalid one: stop rather than take an older
    // record for the commit point (recovery would remove this one).
    auto bytes = co_await target.read_file(layout::commit_record(generation), k_max_record_size);
    if (!bytes) {
      if (bytes.error().kind == ErrorKind::not_found) continue; // removed since the listing
      co_return Unexpected(std::move(bytes).error());
    }
    auto record = parse_commit_record(target, generation, *bytes);
    if (!record) {
      scan.warnings.push_back(record.error().message);
      scan.invalid_above.push_back(generation);
      continue;
    }
    if (!owner.accepts(record->repository_id)) {
      scan.warnings.push_back(fmt::format("{}: belongs to repository {}, ignored", layout::commit_record(generation),
                                          record->repository_id));
      continue; // foreign: ignored, and not ours to remove
    }
    bool unreadable = false;
    auto folders = co_await read_manifests(target, *record, unreadable, cache);
    if (!folders) {
      if (unreadable) co_return Unexpected(std::move(folders).error());
      scan.warnings.push_back(folders.error().message);
      scan.invalid_above.push_back(generation);
      continue;
    }
    if (cache) {
      std::vector<std::string> named;
      for (const auto& ref : record->folders)
        named.push_back(ref.manifest);
      co_await cache->keep_only(std::move(named));
    }
    scan.committed.record = std::move(*record);
    scan.committed.folders = std::move(*folders);
    break;
  }
  co_return scan;
}

} // namespace

} // namespace offsite::sync
