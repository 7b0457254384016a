#pragma once
// The upload-and-commit phase of a sync: `concurrency` workers read and upload files folder by
// folder; one committer commits each folder as soon as its last file is in (per_folder_upload),
// or all of them at the end. Uploads of several folders overlap; commits never do.

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>
#include <asio/thread_pool.hpp>

#include "repo/hash_cache.hpp"
#include "sync/chunk_buffers.hpp"
#include "sync/plan.hpp"
#include "sync/progress.hpp"
#include "sync/result.hpp"
#include "sync/transaction.hpp"
#include "sync/uploader.hpp"
#include "target/async_semaphore.hpp"
#include "util/hash128.hpp"
#include "util/stopper.hpp"

namespace offsite::target {
class Target;
}

namespace offsite::sync {

// The most staged files one group commit takes (more only when a single folder has more).
inline constexpr std::size_t k_group_pending_files = 4096;
// Uploads wait while this many files of finished folders wait for their commit (per-folder
// commits only): two groups, so the committer always has the next one ready, while a first sync
// of many small files, whose uploads outrun commit and apply, holds a bounded backlog in memory.
inline constexpr std::size_t k_max_files_awaiting_commit = 2 * k_group_pending_files;

// Files smaller than this get no read-ahead hint (Transfer::read_ahead).
inline constexpr std::uint64_t k_read_ahead_min = 1 << 20;

struct TransferSettings {
  int concurrency = 4;
  bool per_folder_commit = true;
  bool group_commits = true; // per_folder_commit: folders ready together share a record
  UploadSettings upload;
  std::size_t max_files_awaiting_commit = k_max_files_awaiting_commit;
};

class Transfer {
public:
  Transfer(target::Target& target, asio::thread_pool& pool, Stopper& stopper, Committer& committer,
           TransferSettings settings, SyncProgress& progress, SyncResult& result, repo::HashCache& hash_cache);
  ~Transfer();
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;

  // Runs the phase for `plan`, each file going to destinations.of(file). `on_last_read` runs once no
  // local byte is left to read (the backups may resume). Returns the first error that stopped
  // it; files that could not be read are in the result, not errors. Each folder's part of `plan`
  // is emptied once the folder is committed (the plan of many files is not held twice).
  asio::awaitable<Result<void>> run(SyncPlan& plan, const Destinations& destinations,
                                    std::function<void()> on_last_read);

private:
  struct FolderState {
    FolderPlan* plan = nullptr;
    std::size_t remaining = 0;
    std::vector<manifest::FileEntry> entries; // the new file list, built as files finish
    std::vector<manifest::PendingEntry> pending;
    std::size_t awaiting_commit = 0; // entries counted in m_files_awaiting_commit
    bool queued = false;
    bool committed = false;
    // Touched files whose bytes proved equal to the committed ones: (index in plan->to_read, hash).
    // Should the folder not commit, the hash cache keeps them, so the next sync need not read
    // them again; once it commits, its committed entries say as much.
    std::vector<std::pair<std::size_t, Hash128>> same_bytes;
  };
  struct Job {
    std::size_t folder;
    std::size_t file;
  };

  // Starts the kernel reading the first chunk of job `index`, due to start soon.
  void read_ahead(std::size_t index);
  asio::awaitable<void> worker();
  asio::awaitable<void> wait_for_commits();
  asio::awaitable<Result<void>> committer();
  void record(const Job& job, const PlannedFile& file, const FileOutcome& outcome);
  // After the transfer: the hash cache keeps only what folders that did not commit proved.
  void update_hash_cache();
  void folder_done(std::size_t folder);
  FolderCommit make_commit(FolderState& folder);
  // After the commit of `indices` (failed or not): their files no longer wait; a committed
  // folder's plan is emptied.
  void release(const std::vector<std::size_t>& indices, bool committed);
  asio::awaitable<Result<void>> commit(std::vector<std::size_t> folders);
  void wake_committer();

  target::Target& m_target;
  asio::thread_pool& m_pool;
  Stopper& m_stopper;
  Committer& m_committer;
  TransferSettings m_settings;
  SyncProgress& m_progress;
  SyncResult& m_result;
  repo::HashCache& m_hash_cache;

  // Chunk buffers for all files together (uploader.hpp, UploadSettings::chunk_budget).
  target::AsyncSemaphore m_chunk_budget;
  ChunkBufferPool m_chunk_buffers; // what the budget counts, kept from file to file
  std::vector<FolderState> m_folders;
  std::vector<Job> m_jobs;
  std::size_t m_next_job = 0;
  int m_workers_running = 0;
  std::vector<std::size_t> m_ready; // folders whose files are all done, in completion order
  std::optional<Error> m_fatal;
  const Destinations* m_destinations = nullptr;
  std::optional<asio::steady_timer> m_wakeup;
  std::size_t m_files_awaiting_commit = 0;
  std::optional<asio::steady_timer> m_room; // never expires: workers wait, commits cancel()
  // The workers' own stop: the sync's stop request is forwarded to it, and a failed commit uses
  // it to end the uploads still in flight before run() returns (they use this object).
  Stopper m_workers_stop;
  asio::cancellation_slot m_forward_slot;
};

} // namespace offsite::sync
