#pragma once
// The committed state (BRIEF §5.1): the valid commit record with the highest generation and the
// folder manifests it names, each checked against its recorded size and hash.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <asio/awaitable.hpp>

#include "manifest/manifest.hpp"
#include "util/error.hpp"

namespace offsite::target {
class Target;
}

namespace offsite::sync {

class ManifestCache;

struct CommittedState {
  std::optional<manifest::CommitRecord> record;            // nullopt: nothing committed yet
  std::map<std::string, manifest::FolderManifest> folders; // by folder path

  std::uint64_t generation() const { return record ? record->generation : 0; }
  std::uint64_t file_count() const;
  // The committed entry for `path` in `folder`, or nullptr.
  const manifest::FileEntry* find(const std::string& folder, const std::string& path) const;
  // The committed entry for `path` in whichever folder holds it, or nullptr.
  const manifest::FileEntry* find_any(const std::string& path) const;
};

// What reading `.offsite/commits/` found: the committed state, and the names around it that
// recovery and the next commit need.
struct CommitScan {
  CommittedState committed;
  std::uint64_t highest_name = 0;           // the highest generation any record name claims
  std::vector<std::uint64_t> invalid_above; // torn or foreign-free garbage above the committed one
  std::vector<std::string> warnings;        // records skipped, and why
};

// Reads the committed state of `repository_id` (BRIEF §5.1): lists the records, also asks for
// the next few generations by name (a lagging listing must not hide a commit), and takes the
// highest record that parses, checks, belongs to this repository and whose folder manifests
// match their recorded size and hash.
// With `cache`, folder manifests are taken from it when they match their record (manifest_cache.hpp).
asio::awaitable<Result<CommitScan>> scan_commits(target::Target& target, std::string repository_id,
                                                 ManifestCache* cache = nullptr);

// The last valid record of any repository other than `repository_id` (a previous owner's, after a
// takeover), with its manifests: a hint of what the mirror already holds. Empty state if none.
asio::awaitable<Result<CommittedState>> scan_previous_owner(target::Target& target, std::string repository_id);

// Reads one record's folder manifests (each checked against its size and hash).
asio::awaitable<Result<std::map<std::string, manifest::FolderManifest>>>
read_folder_manifests(target::Target& target, manifest::CommitRecord record);

// A folder manifest parsed (errors name `where`), its files sorted by path: lookups bisect, and the
// plan merges them with the scan's sorted files, whatever order the writer used.
Result<manifest::FolderManifest> parse_sorted_folder_manifest(std::string_view bytes, std::string_view where);

// Reads and checks record `generation`; not_found if it does not exist.
asio::awaitable<Result<manifest::CommitRecord>> read_commit_record(target::Target& target, std::uint64_t generation);

} // namespace offsite::sync
