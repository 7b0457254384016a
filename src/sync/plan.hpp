#pragma once
// What a sync will do, decided from the local view and the committed state before any byte is
// uploaded: the mass-change guards count it, `--dry-run` prints it.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "manifest/manifest.hpp"
#include "repo/hash_cache.hpp"
#include "repo/scanner.hpp"
#include "sync/committed_state.hpp"
#include "util/error.hpp"
#include "util/hash128.hpp"

namespace offsite::sync {

enum class FileChange {
  added,    // no committed entry
  modified, // the size differs: upload (the same read hashes it)
  touched,  // same size, new mtime: hash first, upload only if the bytes differ
  adopted,  // takeover: the mirror holds a file of this path and size; hash first, upload only if
            // it differs from `committed` (without a known hash, a seeded disk: adopt by size)
};

// Where a file's bytes go, chosen before the journal is written (sync.cpp); the paths themselves
// are derived when the file is uploaded (uploader.hpp, Destinations), so a plan of many files
// does not hold each one's staging path.
enum class Placement : std::uint8_t {
  staged,  // the transaction's staging, moved into place after the commit
  direct,  // straight to its final name (new there, on a target where that is safe)
  resumed, // an earlier run's upload of this same local file, finished where it is
};

struct PlannedFile {
  repo::LocalFile local;
  FileChange change;
  Placement placement = Placement::staged;
  // The entry it replaces, if any. Shared and immutable: a first sync of many files holds a
  // pointer per file, not an empty FileEntry.
  std::shared_ptr<const manifest::FileEntry> committed;
};

struct FolderPlan {
  std::string folder;
  std::vector<PlannedFile> to_read;           // new, modified and touched files
  std::vector<manifest::FileEntry> unchanged; // carried over as committed (mtime refreshed
                                              // where the hash cache proved the bytes equal)
  std::vector<manifest::FileEntry> to_delete; // committed files no longer in the repository
  bool metadata_changed = false;              // unchanged entries whose mtime was refreshed

  bool needs_commit() const { return !to_read.empty() || !to_delete.empty() || metadata_changed; }
};

struct SyncPlan {
  std::vector<FolderPlan> folders; // only folders that need a commit, sorted by path
  std::uint64_t committed_files = 0;
  std::uint64_t added_files = 0;
  std::uint64_t changed_files = 0; // size or mtime differs from the committed entry
  std::uint64_t deleted_files = 0;
  std::uint64_t bytes_to_read = 0;

  bool empty() const { return folders.empty(); }
};

// Size and mtime first; for a touched file, the hash cache may prove the bytes unchanged.
// Committed files the scanner skipped (symlinks, unreadable) keep their committed copies.
SyncPlan make_plan(const repo::LocalView& local, const CommittedState& committed, const repo::HashCache& hash_cache);

// BRIEF §3 guards: refuse (ErrorKind::refused, exit 5) a plan that deletes more than
// `max_delete_percent` or changes more than `max_change_percent` of the committed files; not
// applied while the committed state is empty, nor with 100 (off).
Result<void> check_mass_change(const SyncPlan& plan, int max_delete_percent, int max_change_percent);

} // namespace offsite::sync
