// Recovery: roll forward what was committed, roll back what was not, keep what can be resumed.
//
// A sync may die at any instant (SIGKILL, power cut, a lost connection that outlasts the retry
// budget). The next sync starts here, with the lease held, and needs nothing but the remote:
//
//  1. The committed state is the highest valid record (committed_state.cpp). Invalid records
//     above it are the remains of a commit that never happened: removed.
//  2. Roll forward. If the committed record's transaction directory still exists, its apply may
//     have been cut short: apply_commit() runs again (idempotent). The files it deletes are those
//     its parent record named and it does not.
//  3. Roll back. Every other transaction directory holds uncommitted work. Its journal says which
//     local file (path, size, mtime) each staged upload came from: an upload whose local file is
//     unchanged is kept, to be resumed by the next transaction (a 500 GiB first sync spans several
//     windows); everything else in staging is removed, and so are objects the journal says were
//     put straight at their final keys (S3) but were never committed.
//  4. Unfinished uploads (S3 multipart uploads, invisible but billed) that no kept journal entry
//     will resume are discarded, whoever left them: nothing of ours stays behind unseen.
//  5. Temporary names left by an interrupted write_new_file() are removed.
//
// The order matters: roll forward before roll back, so a committed staged file is never taken
// for uncommitted work.

#include "sync/recovery.hpp"

#include <optional>
#include <set>
#include <sys/stat.h>

#include <fmt/format.h>

#include "sync/lanes.hpp"
#include "sync/remote_layout.hpp"
#include "sync/transaction.hpp"
#include "target/target.hpp"
#include "util/failpoint.hpp"

namespace offsite::sync {
namespace {

constexpr std::uint64_t k_max_journal_size = 256ull << 20;

// Whether the local file still is what the journal entry uploaded.
bool local_file_matches(const std::filesystem::path& root, const manifest::JournalEntry& entry) {
  struct stat st {};
  auto path = root / entry.path;
  if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  std::int64_t mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  return static_cast<std::uint64_t>(st.st_size) == entry.size && mtime_ns == entry.mtime_ns;
}

asio::awaitable<Result<void>> remove_if_present(target::Target& target, std::string path) {
  auto removed = co_await target.remove(path);
  if (!removed && removed.error().kind != ErrorKind::not_found) co_return Unexpected(std::move(removed).error());
  co_return Result<void>{};
}

// Every unfinished upload but those kept to be resumed. A store without ListMultipartUploads gets a
// warning, not a failed sync.
asio::awaitable<Result<void>> discard_unfinished(target::Target& target, RecoveryReport& report, bool dry_run) {
  auto unfinished = co_await target.unfinished_uploads();
  if (!unfinished) {
    if (unfinished.error().kind == ErrorKind::transient) co_return Unexpected(std::move(unfinished).error());
    report.warnings.push_back("unfinished uploads could not be listed: " + unfinished.error().message);
    co_return Result<void>{};
  }
  std::set<std::string> kept;
  for (const auto& [path, entry] : report.resumable)
    kept.insert(entry.direct ? entry.path : layout::meta_path(entry.staged));
  for (const auto& path : *unfinished) {
    if (kept.count(path)) continue;
    report.actions.push_back(fmt::format("discard the unfinished upload of {}", path));
    if (dry_run) continue;
    if (auto discarded = co_await target.discard_unfinished_uploads(path); !discarded) co_return discarded;
  }
  co_return Result<void>{};
}

} // namespace

namespace {

// The entries of one directory that remove_tree removes, shared by its lanes.
struct TreeRemoval {
  const std::string& dir;
  const std::vector<target::RemoteEntry>& entries;
  std::size_t next = 0;
  std::optional<Error> failure;
};

asio::awaitable<void> remove_tree_lane(target::Target& target, TreeRemoval& work) {
  while (!work.failure && work.next < work.entries.size()) {
    const auto& entry = work.entries[work.next++];
    auto path = target::join_path(work.dir, entry.name);
    Result<void> removed;
    if (entry.is_directory)
      removed = co_await remove_tree(target, path);
    else
      removed = co_await remove_if_present(target, path);
    if (!removed && !work.failure) work.failure = std::move(removed).error();
  }
}

} // namespace

asio::awaitable<Result<void>> remove_tree(target::Target& target, std::string dir) {
  auto entries = co_await target.list(dir);
  if (!entries) {
    if (entries.error().kind == ErrorKind::not_found) co_return Result<void>{};
    co_return Unexpected(std::move(entries).error());
  }
  // Four entries at a time (lanes.hpp), and so on in each subdirectory: on a remote each removal
  // is a round trip or more, and a transaction's staging holds a directory per folder. A limited
  // target bounds what is in flight at once.
  TreeRemoval work{dir, *entries, 0, std::nullopt};
  auto lane = [&target, &work] { return remove_tree_lane(target, work); };
  co_await run_in_lanes(lane);
  if (work.failure) co_return Unexpected(std::move(*work.failure));
  // The directory itself may still hold a name the listing did not show yet (stores whose listings
  // lag): it is left for a later clean-up. Only its files matter, and they were removed above.
  auto removed = co_await target.remove_directory(dir);
  if (!removed && removed.error().kind == ErrorKind::transient) co_return removed;
  co_return Result<void>{};
}

asio::awaitable<Result<std::vector<std::string>>> deleted_by_record(target::Target& target, CommittedState state) {
  std::vector<std::string> deleted;
  if (!state.record || state.record->parent == 0) co_return deleted;
  auto parent = co_await read_commit_record(target, state.record->parent);
  if (!parent) {
    // The parent was cleaned up: its deletions were applied long ago (records are cleaned only
    // after their apply), so there is nothing left to delete.
    if (parent.error().kind == ErrorKind::not_found) co_return deleted;
    co_return Unexpected(std::move(parent).error());
  }
  auto parent_folders = co_await read_folder_manifests(target, *parent);
  if (!parent_folders) co_return Unexpected(std::move(parent_folders).error());
  for (const auto& [folder, manifest] : *parent_folders) {
    for (const auto& entry : manifest.files)
      if (!state.find(folder, entry.path)) deleted.push_back(entry.path);
  }
  co_return deleted;
}

asio::awaitable<Result<RecoveryReport>> recover(target::Target& target, std::string repository_id,
                                                std::filesystem::path repository_root, bool dry_run,
                                                ManifestCache* cache) {
  RecoveryReport report;
  auto scan = co_await scan_commits(target, repository_id, cache);
  if (!scan) co_return Unexpected(std::move(scan).error());
  report.committed = std::move(scan->committed);
  report.warnings = std::move(scan->warnings);

  // 1. Records above the commit point that are not valid were never committed.
  for (std::uint64_t generation : scan->invalid_above) {
    report.actions.push_back(fmt::format("remove invalid record {}", layout::commit_record(generation)));
    if (dry_run) continue;
    auto record = layout::commit_record(generation);
    if (auto removed = co_await remove_if_present(target, record); !removed)
      co_return Unexpected(std::move(removed).error());
  }

  // 2. Roll forward the committed record whose transaction did not finish.
  std::string committed_txid = report.committed.record ? report.committed.record->txid : "";
  if (!committed_txid.empty()) {
    auto tx_dir = layout::transaction_dir(committed_txid);
    auto open = co_await target.stat(tx_dir);
    if (!open && open.error().kind != ErrorKind::not_found) co_return Unexpected(std::move(open).error());
    if (open) {
      report.actions.push_back(fmt::format("finish applying generation {}", report.committed.generation()));
      if (!dry_run) {
        auto deleted = co_await deleted_by_record(target, report.committed);
        if (!deleted) co_return Unexpected(std::move(deleted).error());
        auto applied =
            co_await apply_commit(target, report.committed.record->pending, std::move(*deleted), report.committed);
        if (!applied) co_return Unexpected(applied.error().with_context("rolling forward"));
      }
    }
  }

  // 3. Roll back uncommitted transactions, keeping resumable uploads.
  std::string tx_root(layout::k_tx);
  auto transactions = co_await target.list(tx_root);
  if (!transactions && transactions.error().kind != ErrorKind::not_found)
    co_return Unexpected(std::move(transactions).error());
  if (transactions) {
    for (const auto& tx : *transactions) {
      // The committed transaction too: with per-folder commits, its uploads for folders it had not
      // committed yet are as resumable as any other transaction's.
      auto journal_path = layout::journal(tx.name);
      auto bytes = co_await target.read_file(journal_path, k_max_journal_size);
      std::optional<manifest::Journal> journal;
      if (bytes) {
        if (auto parsed = manifest::read_journal(*bytes, target.describe() + "/" + journal_path);
            parsed && parsed->repository_id == repository_id)
          journal = std::move(*parsed);
      } else if (bytes.error().kind == ErrorKind::transient) {
        co_return Unexpected(std::move(bytes).error());
      }
      bool keeps_something = false;
      if (journal) {
        for (const auto& entry : journal->entries) {
          // Committed by a record: it is the mirror now (moved into place by the roll forward above,
          // or uploaded straight to its final name, which only ever happens for a path that had no
          // committed file, so a committed entry there is this upload or a later one).
          const auto* committed = report.committed.find_any(entry.path);
          if (committed && (entry.direct || (committed->size == entry.size && committed->mtime_ns == entry.mtime_ns)))
            continue;
          if (local_file_matches(repository_root, entry) && !report.resumable.count(entry.path)) {
            report.resumable.emplace(entry.path, entry);
            keeps_something = true;
            continue;
          }
          report.actions.push_back(fmt::format("remove uncommitted upload of {}", entry.path));
          if (dry_run) continue;
          auto where = entry.direct ? entry.path : layout::meta_path(entry.staged);
          if (auto removed = co_await remove_if_present(target, where); !removed)
            co_return Unexpected(std::move(removed).error());
          failpoint("rollback");
        }
      }
      if (keeps_something) {
        report.old_transactions.push_back(tx.name);
        continue;
      }
      report.actions.push_back(fmt::format("remove uncommitted transaction {}", tx.name));
      if (dry_run) continue;
      auto tx_dir = layout::transaction_dir(tx.name);
      if (auto removed = co_await remove_tree(target, tx_dir); !removed)
        co_return Unexpected(std::move(removed).error());
    }
  }

  // 3b. Unfinished uploads nobody will continue (S3 multipart uploads cost storage while out of
  // sight), whatever left them: a run killed before its journal named them, a failed probe.
  if (auto discarded = co_await discard_unfinished(target, report, dry_run); !discarded)
    co_return Unexpected(std::move(discarded).error());

  // 5. Temporary names of interrupted small writes.
  // Not .offsite/lock/: other writers write there before they hold anything (lease.cpp).
  for (auto dir : {layout::k_commits, layout::k_meta}) {
    std::string dir_path(dir);
    auto entries = co_await target.list(dir_path);
    if (!entries) continue;
    for (const auto& entry : *entries) {
      if (entry.is_directory || !target::is_temporary_name(entry.name)) continue;
      if (dry_run) continue;
      auto path = target::join_path(dir, entry.name);
      if (auto removed = co_await remove_if_present(target, path); !removed)
        co_return Unexpected(std::move(removed).error());
    }
  }
  co_return report;
}

} // namespace offsite::sync
