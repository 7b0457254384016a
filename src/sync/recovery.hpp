#pragma once
// Recovery (BRIEF §5.3): the first step of every sync, after the ID check and the lease. Brings the
// remote back to exactly its committed state, keeping the uploads that can be resumed.

#include <filesystem>
#include <map>
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

struct RecoveryReport {
  CommittedState committed;
  // Uploads of earlier, uncommitted transactions whose journal entry (path, size, mtime) still
  // matches the local file, by final path: the next transaction continues them.
  std::map<std::string, manifest::JournalEntry> resumable;
  // Transactions whose directories remain (they hold `resumable` uploads), to clean up once the
  // new transaction's journal names what it keeps.
  std::vector<std::string> old_transactions;
  std::vector<std::string> actions;  // what recovery did (or, dry run, would do), for the log
  std::vector<std::string> warnings; // records skipped, and why
};

// With `dry_run`, reads only and says in `actions` what a real run would do.
// With `cache`, the commit point's folder manifests may come from it (manifest_cache.hpp).
asio::awaitable<Result<RecoveryReport>> recover(target::Target& target, std::string repository_id,
                                                std::filesystem::path repository_root, bool dry_run,
                                                ManifestCache* cache = nullptr);

// The final paths a commit of `state.record` stopped naming, compared with its parent record.
asio::awaitable<Result<std::vector<std::string>>> deleted_by_record(target::Target& target, CommittedState state);

// Removes `dir` and everything below it (only ever used under .offsite/).
asio::awaitable<Result<void>> remove_tree(target::Target& target, std::string dir);

} // namespace offsite::sync
