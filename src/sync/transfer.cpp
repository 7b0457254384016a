#include "sync/transfer.hpp"

#include <algorithm>
#include <iterator>
#include <utility>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/co_spawn.hpp>
#include <asio/post.hpp>
#include <asio/this_coro.hpp>
#include <fmt/format.h>

#include "repo/file_reader.hpp"
#include "target/target.hpp"
#include "util/failpoint.hpp"
#include "util/log.hpp"

namespace offsite::sync {

Transfer::Transfer(target::Target& target, asio::thread_pool& pool, Stopper& stopper, Committer& committer,
                   TransferSettings settings, SyncProgress& progress, SyncResult& result, repo::HashCache& hash_cache)
    : m_target(target), m_pool(pool), m_stopper(stopper), m_committer(committer), m_settings(std::move(settings)),
      m_progress(progress), m_result(result), m_hash_cache(hash_cache),
      m_chunk_budget(static_cast<std::size_t>(2 * std::max(m_settings.concurrency, 1))),
      m_chunk_buffers(static_cast<std::size_t>(m_settings.upload.chunk_size)) {
  m_settings.upload.chunk_budget = &m_chunk_budget;
  m_settings.upload.buffers = &m_chunk_buffers;
}

Transfer::~Transfer() {
  if (m_forward_slot.is_connected()) m_forward_slot.clear();
}

void Transfer::wake_committer() {
  if (m_wakeup) m_wakeup->cancel();
}

void Transfer::record(const Job& job, const PlannedFile& file, const FileOutcome& outcome) {
  auto& folder = m_folders[job.folder];
  switch (outcome.kind) {
  case FileOutcome::Kind::uploaded: {
    folder.entries.push_back(outcome.entry);
    if (auto destination = m_destinations->of(file); !destination.direct)
      folder.pending.push_back({file.local.path, std::move(destination.staged)});
    m_result.files_uploaded.add(file.local.path);
    m_result.bytes_uploaded += outcome.bytes_sent;
    break;
  }
  case FileOutcome::Kind::same_bytes:
    folder.entries.push_back(outcome.entry);
    folder.same_bytes.emplace_back(job.file, outcome.entry.xxh3_128);
    break;
  case FileOutcome::Kind::changed_while_read:
  case FileOutcome::Kind::unreadable:
    // Its committed version (if any) stays; the next sync tries again.
    if (file.committed) folder.entries.push_back(*file.committed);
    bool is_error = outcome.kind == FileOutcome::Kind::unreadable;
    m_result.files_skipped.push_back(
        {file.local.path, is_error ? outcome.reason : "changed while it was read; picked up by the next sync",
         is_error});
    break;
  }
}

void Transfer::folder_done(std::size_t folder_index) {
  auto& folder = m_folders[folder_index];
  if (folder.queued) return;
  folder.queued = true;
  folder.awaiting_commit = folder.entries.size();
  m_files_awaiting_commit += folder.awaiting_commit;
  m_ready.push_back(folder_index);
  wake_committer();
}

// Backpressure (k_max_files_awaiting_commit). Only files of finished folders count, so a folder
// larger than the limit still completes; a stop or a failed commit cancels the wait.
asio::awaitable<void> Transfer::wait_for_commits() {
  while (m_settings.per_folder_commit && m_files_awaiting_commit >= m_settings.max_files_awaiting_commit && !m_fatal &&
         !m_workers_stop.requested()) {
    auto [ec] = co_await m_room->async_wait(target::use_nothrow);
    (void)ec; // woken by cancel(): look again
  }
}

// Each worker reads one file at a time, and a cold file's first read waits for the disk: with
// `concurrency` workers, at most that many reads are ever queued, and a disk that serves more at
// once sits partly idle between files (a cold first sync of the bench repository read its
// folders of 2-3 MiB files at about 550 MB/s, where `cat` of four at a time reads 1 GB/s). So a
// worker that starts job i asks the kernel to start reading the file that will start
// `concurrency` jobs later: its first chunk at most, into the page cache (no memory of ours), on
// the pool, not waited for. Files under k_read_ahead_min are not worth the open it takes (files-20k,
// 6 KiB a file, went 10% slower with hints for every file). Measured on the bench repository,
// cold first sync, 12 rounds of the three builds in rotating order: 4% less time than without
// the hints, 10% less than before uploads stopped waiting for their own fsync (local_owed_syncs.hpp).
void Transfer::read_ahead(std::size_t index) {
  if (index >= m_jobs.size()) return;
  const PlannedFile& file = m_folders[m_jobs[index].folder].plan->to_read[m_jobs[index].file];
  if (file.local.size < k_read_ahead_min) return;
  auto length = std::min<std::uint64_t>(file.local.size, m_settings.upload.chunk_size);
  asio::post(m_pool, [root = m_settings.upload.repository_root, relative = file.local.path, length] {
    if (auto reader = repo::FileReader::open_beneath(root, relative)) reader->advise_will_need(length);
  });
}

asio::awaitable<void> Transfer::worker() {
  while (!m_fatal && !m_workers_stop.requested() && m_next_job < m_jobs.size()) {
    co_await wait_for_commits();
    if (m_fatal || m_workers_stop.requested() || m_next_job >= m_jobs.size()) break;
    Job job = m_jobs[m_next_job++];
    const PlannedFile& file = m_folders[job.folder].plan->to_read[job.file];
    read_ahead(m_next_job - 1 + static_cast<std::size_t>(std::max(m_settings.concurrency, 1)));
    // The file's own two buffers; they are only ever short while another file borrows (parts in
    // flight), and that file gives them back at its next part.
    auto first_buffer = co_await m_chunk_budget.acquire();
    if (!first_buffer) break;
    auto second_buffer = co_await m_chunk_budget.acquire();
    if (!second_buffer) break;
    ++m_progress.transfer.files_in_flight;
    auto destination = m_destinations->of(file); // not a temporary in the co_await (GCC 12)
    auto outcome =
        co_await upload_file(m_target, m_pool, file, std::move(destination), m_settings.upload, m_progress.transfer);
    --m_progress.transfer.files_in_flight;
    ++m_progress.files_done;
    if (!outcome) {
      if (!m_fatal) m_fatal = outcome.error().with_context(fmt::format("uploading {}", file.local.path));
      break;
    }
    failpoint("upload");
    record(job, file, *outcome);
    if (--m_folders[job.folder].remaining == 0) folder_done(job.folder);
  }
}

FolderCommit Transfer::make_commit(FolderState& folder) {
  const FolderPlan& plan = *folder.plan;
  FolderCommit commit;
  commit.folder = plan.folder;
  // The folder's uploaded entries and staged names move into the commit: once it is written they
  // live only in the committed state, not twice (a folder is committed once).
  // (std::exchange, not `= {}`: assigning an empty list keeps the vector's buffer.)
  auto uploaded = std::exchange(folder.entries, {});
  std::vector<manifest::FileEntry> entries;
  entries.reserve(plan.unchanged.size() + uploaded.size());
  entries.insert(entries.end(), plan.unchanged.begin(), plan.unchanged.end());
  std::move(uploaded.begin(), uploaded.end(), std::back_inserter(entries));
  std::sort(entries.begin(), entries.end(),
            [](const manifest::FileEntry& a, const manifest::FileEntry& b) { return a.path < b.path; });
  if (!entries.empty()) commit.manifest = manifest::FolderManifest{plan.folder, "", std::move(entries)};
  commit.pending = std::exchange(folder.pending, {});
  for (const auto& entry : plan.to_delete)
    commit.deleted.push_back(entry.path);
  return commit;
}

void Transfer::release(const std::vector<std::size_t>& indices, bool committed) {
  for (auto index : indices) {
    auto& folder = m_folders[index];
    m_files_awaiting_commit -= std::exchange(folder.awaiting_commit, 0);
    if (!committed) continue;
    folder.committed = true;
    *folder.plan = FolderPlan{}; // its plan is not needed again
    std::exchange(folder.same_bytes, {});
  }
  m_room->cancel(); // the uploads waiting for room look again
}

asio::awaitable<Result<void>> Transfer::commit(std::vector<std::size_t> indices) {
  std::vector<FolderCommit> commits;
  for (auto index : indices) {
    auto commit = make_commit(m_folders[index]);
    // A folder that is new and whose every file failed has nothing to commit.
    if (!commit.manifest && commit.deleted.empty()) continue;
    commits.push_back(std::move(commit));
  }
  if (commits.empty()) {
    release(indices, true);
    co_return Result<void>{};
  }
  m_progress.phase = "committing";
  std::vector<std::string> deleted; // for the result, once the commit succeeded
  std::size_t folders = commits.size();
  for (const auto& commit : commits)
    deleted.insert(deleted.end(), commit.deleted.begin(), commit.deleted.end());
  auto generation = co_await m_committer.commit(std::move(commits));
  release(indices, generation.has_value());
  if (!generation) co_return Unexpected(std::move(generation).error());
  failpoint("commit");
  m_result.generation = *generation;
  m_result.folders_committed += folders;
  for (auto& path : deleted)
    m_result.files_deleted.add(std::move(path));
  log::info("sync.committed", {{"repository", m_result.repository},
                               {"generation", *generation},
                               {"folders", static_cast<std::uint64_t>(folders)}});
  m_progress.phase = "uploading";
  co_return Result<void>{};
}

asio::awaitable<Result<void>> Transfer::committer() {
  std::vector<std::size_t> all_done;
  for (;;) {
    while (!m_ready.empty() && !m_fatal && !m_stopper.requested()) {
      if (!m_settings.per_folder_commit) {
        all_done.insert(all_done.end(), m_ready.begin(), m_ready.end());
        m_ready.clear();
        continue;
      }
      // Group commit: every folder that finished while the previous record was being written goes
      // into the next record together. Each folder still commits as soon as the committer is free,
      // but a day of many small folders costs a few records instead of one per folder.
      // A group stays under k_group_pending_files staged files (one folder may exceed it alone), so
      // a first sync of many small files does not hold one huge record in memory.
      std::vector<std::size_t> ready;
      std::size_t pending_files = 0;
      while (!m_ready.empty()) {
        std::size_t next = m_folders[m_ready.front()].pending.size();
        if (!ready.empty() && (!m_settings.group_commits || pending_files + next > k_group_pending_files)) break;
        ready.push_back(m_ready.front());
        m_ready.erase(m_ready.begin());
        pending_files += next;
      }
      auto committed = co_await commit(std::move(ready));
      if (!committed) {
        // Stop the uploads in flight and wait for them below: they use this object.
        if (!m_fatal) m_fatal = committed.error();
        m_workers_stop.request();
      }
    }
    if (m_workers_running == 0 && (m_ready.empty() || m_fatal || m_stopper.requested())) break;
    m_wakeup->expires_at(asio::steady_timer::time_point::max());
    co_await m_wakeup->async_wait(target::use_nothrow); // woken by cancel()
  }
  if (m_fatal) co_return Unexpected(*m_fatal);
  if (m_stopper.requested())
    co_return make_error(ErrorKind::cancelled, "stopped; what was committed stays, the rest resumes next time");
  if (!m_settings.per_folder_commit && all_done.size() == m_folders.size()) co_return co_await commit(all_done);
  co_return Result<void>{};
}

asio::awaitable<Result<void>> Transfer::run(SyncPlan& plan, const Destinations& destinations,
                                            std::function<void()> on_last_read) {
  m_destinations = &destinations;
  m_wakeup.emplace(co_await asio::this_coro::executor);
  m_room.emplace(co_await asio::this_coro::executor, asio::steady_timer::time_point::max());
  m_folders.resize(plan.folders.size());
  for (std::size_t i = 0; i < plan.folders.size(); ++i) {
    m_folders[i].plan = &plan.folders[i];
    m_folders[i].remaining = plan.folders[i].to_read.size();
    for (std::size_t f = 0; f < plan.folders[i].to_read.size(); ++f)
      m_jobs.push_back({i, f});
  }
  for (std::size_t i = 0; i < m_folders.size(); ++i)
    if (m_folders[i].remaining == 0) folder_done(i); // deletions or metadata only

  // The sync's stop request reaches the workers through their own stopper.
  m_forward_slot = m_stopper.new_slot();
  m_forward_slot.assign([this](asio::cancellation_type type) { m_workers_stop.request(type); });
  auto executor = co_await asio::this_coro::executor;
  int workers = std::max(1, std::min<int>(m_settings.concurrency, static_cast<int>(m_jobs.size())));
  if (m_jobs.empty()) workers = 0;
  m_workers_running = workers;
  for (int i = 0; i < workers; ++i) {
    auto body = [this]() { return worker(); };
    auto done = [this, on_last_read](std::exception_ptr failure) {
      if (failure && !m_workers_stop.requested() && !m_fatal) {
        try {
          std::rethrow_exception(failure);
        } catch (const std::exception& e) {
          m_fatal = Error{ErrorKind::permanent, fmt::format("internal error in an upload: {}", e.what())};
        }
      }
      if (--m_workers_running == 0 && on_last_read) on_last_read();
      wake_committer();
      // A worker that ended on a failure set m_fatal, and the committer commits nothing more: the
      // workers waiting for room must look again, or they would wait for a commit that never comes.
      m_room->cancel();
    };
    asio::co_spawn(executor, std::move(body), asio::bind_cancellation_slot(m_workers_stop.new_slot(), std::move(done)));
  }
  if (workers == 0 && on_last_read) on_last_read();
  m_progress.phase = "uploading";
  auto committed = co_await committer();
  update_hash_cache();
  co_return committed;
}

void Transfer::update_hash_cache() {
  // What the plan kept of the cache are touched files it proved equal (repo/hash_cache.hpp); a
  // committed folder's entries say as much, so a transfer that committed every folder leaves
  // nothing for the cache to say.
  if (std::all_of(m_folders.begin(), m_folders.end(), [](const FolderState& f) { return f.committed; })) {
    m_hash_cache.clear();
    return;
  }
  for (auto& folder : m_folders) {
    if (folder.committed) continue;
    for (const auto& [index, hash] : folder.same_bytes)
      m_hash_cache.store(folder.plan->to_read[index].local, hash);
  }
}

} // namespace offsite::sync
