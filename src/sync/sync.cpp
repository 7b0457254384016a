// A sync, step by step. Each step says why it comes where it does; docs/sync.md tells the whole
// transaction crash point by crash point.

#include "sync/sync.hpp"

#include <chrono>
#include <memory>
#include <optional>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/co_spawn.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <fmt/format.h>

#include "manifest/manifest.hpp"
#include "repo/hash_cache.hpp"
#include "repo/repository_id.hpp"
#include "repo/scanner.hpp"
#include "sync/backup_gate.hpp"
#include "sync/cleanup.hpp"
#include "sync/lease.hpp"
#include "sync/manifest_cache.hpp"
#include "sync/plan.hpp"
#include "sync/recovery.hpp"
#include "sync/remote_id.hpp"
#include "sync/remote_layout.hpp"
#include "sync/transaction.hpp"
#include "sync/transfer.hpp"
#include "target/target.hpp"
#include "util/background_task.hpp"
#include "util/failpoint.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/offload.hpp"
#include "util/uuid.hpp"

namespace offsite::sync {
namespace {

std::string now_timestamp() { return manifest::format_timestamp(std::chrono::system_clock::now()); }

// Renews the lease every minute until cancelled.
asio::awaitable<void> keep_lease(std::shared_ptr<RemoteLease> lease) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    timer.expires_after(k_lease_renewal);
    co_await timer.async_wait(asio::use_awaitable);
    if (auto renewed = co_await lease->renew(); !renewed)
      log::warning("lease.renew_failed", {{"error", renewed.error().message}});
  }
}

// Where each file's bytes go: a resumable upload of an earlier run, straight to its final name
// where the target makes that safe and the name is new, else the transaction's staging.
asio::awaitable<Result<void>> choose_placements(target::Target& target, SyncPlan& plan,
                                                const std::map<std::string, manifest::JournalEntry>& resumable) {
  bool direct_allowed = target.capabilities().direct_upload_safe;
  for (auto& folder : plan.folders) {
    for (auto& file : folder.to_read) {
      auto kept = resumable.find(file.local.path);
      if (kept != resumable.end() && kept->second.size == file.local.size &&
          kept->second.mtime_ns == file.local.mtime_ns) {
        file.placement = Placement::resumed;
      } else if (direct_allowed && !file.committed) {
        auto existing = co_await target.stat(file.local.path);
        if (!existing && existing.error().kind != ErrorKind::not_found)
          co_return Unexpected(std::move(existing).error());
        file.placement = existing ? Placement::staged : Placement::direct;
      } else {
        file.placement = Placement::staged;
      }
    }
  }
  co_return Result<void>{};
}

// The journal's bytes, written straight from the plan: for a first sync of many files it is the
// largest single allocation, so no Journal structure is built beside it.
std::string journal_bytes(const std::string& repository_id, std::uint64_t base, const SyncPlan& plan,
                          const Destinations& destinations) {
  manifest::Journal journal;
  journal.repository_id = repository_id;
  journal.txid = destinations.txid();
  journal.created_at = now_timestamp();
  journal.base_generation = base;
  // Reserved at about its size: the bytes of a first sync of many files are held beside the
  // plan, the moment such a sync's memory peaks, and a guess that falls short doubles them.
  // {"path":"…","size":N,"mtime_ns":N} and a comma, plus ,"direct":true where it is so; escapes
  // and names written in hex (rare) take their share of the slack.
  auto digits = [](auto n) { return fmt::formatted_size("{}", n); };
  std::size_t expected = 0;
  for (const auto& folder : plan.folders)
    for (const auto& file : folder.to_read)
      expected += 32 + file.local.path.size() + digits(file.local.size) + digits(file.local.mtime_ns) +
                  (file.placement == Placement::direct ? 14 : 0);
  expected += expected / 64 + 512;
  manifest::JournalWriter writer(journal, expected);
  for (const auto& folder : plan.folders) {
    for (const auto& file : folder.to_read) {
      // A resumed upload stays named by the journal of the transaction that started it (a
      // journal names only its own staging), which is kept until the clean-up after the commit.
      if (file.placement == Placement::resumed) continue;
      auto destination = destinations.of(file);
      writer.add({file.local.path, file.local.size, file.local.mtime_ns,
                  destination.direct ? file.local.path : destination.staged, destination.direct, ""});
    }
  }
  return std::move(writer).finish();
}

void describe_plan(SyncResult& result, const SyncPlan& plan) {
  // A dry run prints what it would do, every path of it.
  result.files_uploaded = PathList(SIZE_MAX);
  result.files_deleted = PathList(SIZE_MAX);
  for (const auto& folder : plan.folders) {
    for (const auto& file : folder.to_read)
      result.files_uploaded.add(file.local.path);
    for (const auto& entry : folder.to_delete)
      result.files_deleted.add(entry.path);
  }
  result.bytes_uploaded = plan.bytes_to_read;
}

class SyncRun {
public:
  SyncRun(SyncContext& context, const config::Repository& repository, const config::Service& service,
          SyncRequest request)
      : m_context(context), m_target(context.target), m_repository(repository), m_service(service), m_request(request),
        m_state_dir(repository_state_dir(service.state_dir, repository.name)),
        m_manifest_cache(m_state_dir / "manifests", context.pool), m_gate(repository.path) {
    m_result.repository = repository.name;
    m_result.started = now_timestamp();
    m_result.dry_run = request.dry_run;
  }

  asio::awaitable<SyncResult> run() {
    auto outcome = co_await steps();
    co_await m_manifest_cache.end_prefetch();
    m_gate.open();
    co_await m_lease_keeper.stop();
    if (m_lease) co_await m_lease->release();
    finish(outcome);
    co_return std::move(m_result);
  }

private:
  void phase(const char* name) {
    m_context.progress.phase = name;
    log::debug("sync.phase", {{"repository", m_repository.name}, {"phase", name}});
  }

  void finish(const Result<void>& outcome) {
    m_result.finished = now_timestamp();
    if (!outcome) {
      m_result.error = outcome.error();
      m_result.outcome = outcome.error().kind == ErrorKind::cancelled ? Outcome::incomplete : Outcome::failed;
      if (m_abandoned) m_result.outcome = Outcome::abandoned;
      return;
    }
    std::size_t unreadable = 0;
    for (const auto& skipped : m_result.files_skipped)
      unreadable += skipped.is_error ? 1 : 0;
    if (unreadable > 0) {
      m_result.outcome = Outcome::failed;
      m_result.error =
          Error{ErrorKind::permanent, fmt::format("{} file(s) could not be copied (their committed copies stay): {}",
                                                  unreadable, m_result.files_skipped.front().path)};
    }
  }

  asio::awaitable<Result<void>> steps() {
    // Connect first: nothing local is touched for a target that cannot be reached. Meanwhile the
    // manifest copies in state_dir are read (ours: the sync lock is held).
    auto executor = co_await asio::this_coro::executor;
    if (!m_request.dry_run) m_manifest_cache.prefetch(executor);
    phase("connecting");
    if (auto connected = co_await m_target.connect(); !connected) co_return connected;
    if (!m_request.dry_run) {
      if (auto made = co_await m_target.make_directory(""); !made) co_return made;
    }

    // The remote ID before anything is written: a folder of another repository is never touched.
    auto local_id = co_await local_repository_id();
    if (!local_id) co_return Unexpected(std::move(local_id).error());
    m_repository_id = *local_id;
    if (m_request.dry_run) {
      auto remote = co_await read_remote_id(m_target, m_repository_id);
      if (!remote) co_return Unexpected(std::move(remote).error());
      if (remote->state == RemoteIdState::foreign && !m_request.take_over)
        co_return Unexpected(id_mismatch_error(m_target, m_repository.name));
      if (remote->state == RemoteIdState::none)
        m_result.warnings.push_back("the remote folder has no ID yet: a sync would claim it");
    } else {
      auto claimed =
          co_await claim_or_check_remote_id(m_target, m_repository_id, m_repository.name, m_request.take_over);
      if (!claimed) co_return Unexpected(std::move(claimed).error());
      // The lease next: recovery and everything after it assume no other writer.
      if (auto leased = co_await take_lease(); !leased) co_return leased;
    }

    // Recover before reading the local repository, so a sync that cannot reach a consistent
    // remote holds no backup off.
    phase("recovering");
    auto recovered = co_await recover(m_target, m_repository_id, m_repository.path, m_request.dry_run,
                                      m_request.dry_run ? nullptr : &m_manifest_cache); // a dry run writes nothing
    if (!recovered) co_return Unexpected(std::move(recovered).error());
    for (const auto& action : recovered->actions) {
      if (m_request.dry_run)
        m_result.warnings.push_back("recovery pending: " + action);
      else
        log::info("sync.recovered", {{"repository", m_repository.name}, {"action", action}});
    }
    for (const auto& warning : recovered->warnings)
      m_result.warnings.push_back(warning);
    m_committed = std::move(recovered->committed);
    co_await m_manifest_cache.end_prefetch(); // copies the commit point does not name
    m_result.generation = m_committed.generation();
    failpoint("recovered");
    if (auto detected = co_await detect_takeover(); !detected) co_return detected;

    // Take the repository: no new backup starts, running ones end; the view is consistent.
    if (!m_request.dry_run) {
      phase("waiting for backups");
      bool allow = m_repository.allow_backups_during_sync;
      auto deadline = m_request.start_by;
      auto close_gate = [this, allow, deadline] { return m_gate.close(allow, deadline); };
      auto closed = co_await run_stoppable(m_context.stopper, close_gate);
      if (!closed && !m_context.stopper.requested() && m_request.start_by) {
        m_abandoned = true;
        co_return make_error(ErrorKind::cancelled, "the window ended before the running backups finished; the sync "
                                                   "was abandoned until the next window");
      }
      if (!closed) co_return closed;
    }

    phase("scanning");
    auto plan = co_await make_sync_plan();
    if (!plan) co_return Unexpected(std::move(plan).error());
    if (m_takeover) {
      if (auto adopted = co_await mark_adoptable(*plan); !adopted) co_return adopted;
    }
    set_aside_unholdable(*plan);
    if (m_request.dry_run) {
      describe_plan(m_result, *plan);
      co_return Result<void>{};
    }
    if (plan->empty()) {
      // No change writes no record; only leftovers of earlier runs are cleaned. A cache that lost
      // entries is saved (an older version's held every file), else it is left as it is.
      m_gate.open();
      if (m_hash_cache_pruned) co_await save_hash_cache();
      if (auto cleaned = co_await cleanup_transactions(m_target, recovered->old_transactions, ""); !cleaned)
        m_result.warnings.push_back("clean-up incomplete (the next sync finishes it): " + cleaned.error().message);
      co_return Result<void>{};
    }
    co_return co_await upload_and_commit(*plan, recovered->resumable, recovered->old_transactions);
  }

  asio::awaitable<Result<std::string>> local_repository_id() {
    auto root = m_repository.path;
    if (m_request.dry_run) {
      auto reader = [root] { return repo::read_repository_id(root); };
      auto existing = co_await offload(m_context.pool, std::move(reader));
      if (!existing) co_return Unexpected(std::move(existing).error());
      co_return existing->value_or("(none yet)");
    }
    auto creator = [root] { return repo::load_or_create_repository_id(root); };
    co_return co_await offload(m_context.pool, std::move(creator));
  }

  asio::awaitable<Result<void>> take_lease() {
    m_lease = std::make_shared<RemoteLease>(m_target, m_repository_id, m_context.process);
    if (auto acquired = co_await m_lease->acquire(); !acquired) {
      m_lease.reset();
      co_return acquired;
    }
    auto executor = co_await asio::this_coro::executor;
    auto renew = [lease = m_lease] { return keep_lease(lease); };
    m_lease_keeper.start(executor, std::move(renew));
    co_return Result<void>{};
  }

  // A takeover is a folder with no committed state of ours that holds something: the previous
  // owner's records or files (after `reinitialize`), or a disk seeded by hand (--adopt-existing).
  asio::awaitable<Result<void>> detect_takeover() {
    if (m_committed.record) co_return Result<void>{};
    auto previous = co_await scan_previous_owner(m_target, m_repository_id);
    if (!previous) co_return Unexpected(std::move(previous).error());
    m_hint = std::move(*previous);
    m_adopt_existing = std::filesystem::exists(m_state_dir / "adopt-existing");
    if (m_hint.record) {
      m_takeover = true;
    } else {
      auto existing = co_await foreign_entries(m_target, 1);
      if (!existing) co_return Unexpected(std::move(existing).error());
      m_takeover = !existing->empty();
    }
    if (m_takeover)
      log::info("sync.takeover", {{"repository", m_repository.name},
                                  {"previous_generation", m_hint.generation()},
                                  {"adopt_existing", m_adopt_existing ? "yes" : "no"}});
    co_return Result<void>{};
  }

  // Files the mirror already holds at the same path and size are hashed, not uploaded: matched by
  // hash against the previous owner's manifest, or, with --adopt-existing, adopted by size.
  asio::awaitable<Result<void>> mark_adoptable(SyncPlan& plan) {
    for (auto& folder : plan.folders) {
      for (auto& file : folder.to_read) {
        if (file.change != FileChange::added) continue;
        if (const auto* hinted = m_hint.find_any(file.local.path); hinted && hinted->size == file.local.size) {
          file.change = FileChange::adopted;
          file.committed = std::make_shared<const manifest::FileEntry>(*hinted);
          continue;
        }
        if (!m_adopt_existing) continue;
        auto existing = co_await m_target.stat(file.local.path);
        if (!existing) {
          if (existing.error().kind == ErrorKind::not_found) continue;
          co_return Unexpected(std::move(existing).error());
        }
        if (!existing->is_directory && existing->size == file.local.size) file.change = FileChange::adopted;
      }
    }
    co_return Result<void>{};
  }

  // Files the target cannot hold (larger than its file-size limit, as on FAT32) are reported at
  // plan time, never silently lost: their committed copies stay, and the outcome is failed once
  // everything else is committed (BRIEF §4, §5.10).
  void set_aside_unholdable(SyncPlan& plan) {
    std::uint64_t limit = m_target.capabilities().max_file_size;
    if (limit == 0) return;
    for (auto& folder : plan.folders) {
      std::erase_if(folder.to_read, [&](const PlannedFile& file) {
        if (file.local.size <= limit) return false;
        m_result.files_skipped.push_back(
            {file.local.path,
             fmt::format("{} bytes: larger than the target can hold ({} bytes at most)", file.local.size, limit),
             true});
        plan.bytes_to_read -= file.local.size;
        if (file.committed) folder.unchanged.push_back(*file.committed);
        return true;
      });
      std::sort(folder.unchanged.begin(), folder.unchanged.end(),
                [](const manifest::FileEntry& a, const manifest::FileEntry& b) { return a.path < b.path; });
    }
    std::erase_if(plan.folders, [](const FolderPlan& folder) { return !folder.needs_commit(); });
  }

  asio::awaitable<Result<SyncPlan>> make_sync_plan() {
    repo::ScanOptions options{m_repository.folder_depth, m_repository.exclude};
    auto scanner = [root = m_repository.path, options] { return repo::scan_repository(root, options); };
    auto view = co_await offload(m_context.pool, std::move(scanner));
    if (!view) co_return Unexpected(std::move(view).error());
    for (const auto& skipped : view->skipped)
      m_result.files_skipped.push_back({skipped.path, skipped.reason, skipped.is_error});
    auto cache_file = m_state_dir / "hash-cache";
    auto loader = [cache_file] { return repo::HashCache::load(cache_file); };
    m_hash_cache = co_await offload(m_context.pool, std::move(loader));
    if (!m_hash_cache.discarded_reason().empty())
      log::warning("hash_cache.discarded",
                   {{"file", cache_file.string()}, {"reason", m_hash_cache.discarded_reason()}});
    auto plan = sync::make_plan(*view, m_committed, m_hash_cache);
    // The plan asks the cache only about touched files (hash_cache.hpp): only their entries can
    // ever hit, and even they become the committed state's to hold once this sync commits them.
    auto touched = [this](const repo::LocalFolder& folder, const repo::LocalFile& file) {
      const auto* entry = m_committed.find(folder.path, file.path);
      return entry && entry->size == file.size && entry->mtime_ns != file.mtime_ns;
    };
    auto cached = m_hash_cache.size();
    m_hash_cache.retain_only(*view, touched);
    m_hash_cache_pruned = m_hash_cache.size() != cached;
    m_context.progress.bytes_total = plan.bytes_to_read;
    for (const auto& folder : plan.folders)
      m_context.progress.files_total += folder.to_read.size();
    log::info("sync.planned", {{"repository", m_repository.name},
                               {"added", plan.added_files},
                               {"changed", plan.changed_files},
                               {"deleted", plan.deleted_files},
                               {"bytes", plan.bytes_to_read}});
    if (!m_request.allow_mass_change) {
      auto guarded = check_mass_change(plan, m_repository.max_delete_percent, m_repository.max_change_percent);
      if (!guarded) co_return Unexpected(std::move(guarded).error());
    }
    co_return plan;
  }

  asio::awaitable<Result<void>> upload_and_commit(SyncPlan& plan,
                                                  const std::map<std::string, manifest::JournalEntry>& resumable,
                                                  const std::vector<std::string>& old_transactions) {
    std::string txid = generate_uuid();
    if (auto placed = co_await choose_placements(m_target, plan, resumable); !placed) co_return placed;
    Destinations destinations(txid, resumable);

    // The journal is written once, before the first upload: recovery must know what every byte
    // in staging belongs to, whatever instant the sync dies at.
    if (auto written = co_await write_journal(plan, destinations); !written) co_return written;
    failpoint("journal");

    Committer committer(m_target, m_repository_id, txid, m_committed, &m_manifest_cache);
    UploadSettings upload{m_repository.path, m_repository.chunk_size, m_context.retry_policy};
    TransferSettings settings{m_repository.concurrency, m_repository.per_folder_upload, m_request.group_commits,
                              upload};
    if (m_request.files_awaiting_commit_limit > 0)
      settings.max_files_awaiting_commit = m_request.files_awaiting_commit_limit;
    // Per-file transfer state (outcomes) goes as soon as the transfer ends, before
    // the clean-up reads records back: the peak memory of a sync of many files is here.
    auto transfer = std::make_unique<Transfer>(m_target, m_context.pool, m_context.stopper, committer, settings,
                                               m_context.progress, m_result, m_hash_cache);
    std::function<void()> on_last_read = [this] { m_gate.open(); };
    auto transferred = co_await transfer->run(plan, destinations, std::move(on_last_read));
    transfer.reset();
    co_await committer.publish_manifest_copy();
    co_await save_hash_cache();
    if (!transferred) co_return transferred;

    if (m_takeover) {
      // The first complete commit of a takeover: what the new state does not name goes (§5.8).
      auto removed = co_await remove_unnamed_files(m_target, m_committed);
      if (!removed) co_return Unexpected(std::move(removed).error());
      for (auto& path : *removed)
        m_result.files_deleted.add(std::move(path));
      std::error_code ignored;
      std::filesystem::remove(m_state_dir / "adopt-existing", ignored);
    }
    // Committed and applied: a failed clean-up leaves only garbage the next sync removes.
    phase("cleaning");
    if (auto cleaned = co_await cleanup_after_commit(m_target, m_committed, old_transactions, txid); !cleaned)
      m_result.warnings.push_back("clean-up incomplete (the next sync finishes it): " + cleaned.error().message);
    co_return Result<void>{};
  }

  // A coroutine of its own, so the journal's bytes (about 80 per file) are freed before the
  // first upload instead of living through the whole transfer.
  asio::awaitable<Result<void>> write_journal(const SyncPlan& plan, const Destinations& destinations) {
    auto bytes = journal_bytes(m_repository_id, m_committed.generation(), plan, destinations);
    auto path = layout::journal(destinations.txid());
    co_return co_await m_target.write_new_file(std::move(path), std::move(bytes));
  }

  asio::awaitable<void> save_hash_cache() {
    auto cache_file = m_state_dir / "hash-cache";
    auto saver = [this, cache_file]() -> Result<void> {
      if (auto made = fs::create_directories(m_state_dir, 0750); !made) return made;
      return m_hash_cache.save(cache_file);
    };
    auto saved = co_await offload(m_context.pool, std::move(saver));
    if (!saved) log::warning("hash_cache.save_failed", {{"error", saved.error().message}});
  }

  SyncContext& m_context;
  target::Target& m_target;
  const config::Repository& m_repository;
  const config::Service& m_service;
  SyncRequest m_request;
  std::filesystem::path m_state_dir;
  ManifestCache m_manifest_cache; // folder manifests of the commit point, kept locally
  SyncResult m_result;
  BackupGate m_gate;
  std::string m_repository_id;
  CommittedState m_committed;
  repo::HashCache m_hash_cache;
  bool m_hash_cache_pruned = false; // retain_only() dropped entries: the file is worth rewriting
  std::shared_ptr<RemoteLease> m_lease;
  CommittedState m_hint; // a previous owner's last valid state, during a takeover
  bool m_takeover = false;
  bool m_abandoned = false;
  bool m_adopt_existing = false;
  BackgroundTask m_lease_keeper;
};

} // namespace

asio::awaitable<SyncResult> run_sync(SyncContext context, const config::Repository& repository,
                                     const config::Service& service, SyncRequest request) {
  SyncRun run(context, repository, service, request);
  co_return co_await run.run();
}

} // namespace offsite::sync
