#pragma once
// The commit protocol: one committer writes records one at a time, each a new name, then applies
// them (docs/sync.md tells the whole story, crash point by crash point).

#include <optional>
#include <string>
#include <vector>

#include <asio/awaitable.hpp>

#include "manifest/manifest.hpp"
#include "sync/committed_state.hpp"
#include "util/error.hpp"

namespace offsite::target {
class Target;
}

namespace offsite::sync {

class ManifestCache;

// One folder's new state, ready to commit: its complete new file list (nullopt: the folder is
// gone), the files that sit in staging until the apply moves them, and the committed files the
// new state no longer names.
struct FolderCommit {
  std::string folder;
  std::optional<manifest::FolderManifest> manifest;
  std::vector<manifest::PendingEntry> pending;
  std::vector<std::string> deleted; // final paths to remove after the commit
};

class Committer {
public:
  // `state` is the committed state this transaction starts from; commit() advances it.
  // With `cache`, the folder manifests it writes are kept there too (manifest_cache.hpp).
  Committer(target::Target& target, std::string repository_id, std::string txid, CommittedState& state,
            ManifestCache* cache = nullptr);

  // Makes `folders` part of the committed state in one atomic step, a new record, then applies
  // it: staged files into place, deleted files removed. Before the record, the sizes of the staged
  // files and folder manifests are read back from the remote (BRIEF §5.2). Fails without
  // applying (ErrorKind::permanent, naming the record) if another writer's record appeared: the
  // fence of BRIEF §5.1. Returns the new generation.
  asio::awaitable<Result<std::uint64_t>> commit(std::vector<FolderCommit> folders);

  // Rewrites `.offsite/manifest.json` as a copy of the last record this committer wrote (for
  // people and tools; nothing reads it back). Once per sync, after the last commit, not after
  // each folder's. Failures are only logged.
  asio::awaitable<void> publish_manifest_copy();

private:
  asio::awaitable<Result<manifest::FolderRef>> write_folder_manifest(const manifest::FolderManifest& folder);
  asio::awaitable<Result<void>> check_staged_sizes(const std::vector<FolderCommit>& folders);
  asio::awaitable<Result<std::uint64_t>> next_generation();
  asio::awaitable<Result<void>> write_record(const manifest::CommitRecord& record);

  target::Target& m_target;
  std::string m_repository_id;
  std::string m_txid;
  CommittedState& m_state;
  ManifestCache* m_cache;
  std::string m_last_record; // the bytes of the last record written, for publish_manifest_copy()
};

// Moves a committed record's pending files into place and removes the files it deleted
// (`deleted`); idempotent, so recovery re-runs it after a crash at any point (roll forward).
// `state` is the committed state the record made: it gives each pending file's size, to
// recognise an entry that was applied already.
// `pending` and `state` are read by reference (a sync of many files would copy hundreds of
// thousands of entries otherwise): the caller keeps both alive until it completes.
asio::awaitable<Result<void>> apply_commit(target::Target& target, const std::vector<manifest::PendingEntry>& pending,
                                           std::vector<std::string> deleted, const CommittedState& state);

} // namespace offsite::sync
