// The commit protocol (BRIEF §4–§5; docs/sync.md is the long form).
//
// Not every target can replace a file atomically (SFTP with libssh2 1.10, SMB, many FTP servers),
// but every target can bring a *new* name into being whole: write it under a temporary name, then
// rename it to a name that does not exist yet (on S3, a PUT). So the committed state is never a
// file that gets rewritten; it is the valid commit record with the highest generation, and a
// commit is the creation of one new record name. Everything a record references (folder
// manifests, mirror files, staged files listed as `pending`) is in place and read back before the
// record is written, so a crash at any instant leaves either the old commit point or the new one.
//
// After the record exists, the *apply* step moves staged files to their final paths and removes
// the files the new state no longer names. Apply is idempotent and needs nothing but the remote,
// so recovery simply runs it again after a crash (roll forward).
//
// One committer: records are written one at a time, each naming its `parent`; a record's
// generation is one more than every record name present. If the committer finds a newer record
// of this repository that it did not write, or its generation taken, another writer is at work on
// the same folder (a cloned machine, a restored server): it stops without applying. The remote
// lease usually catches this earlier; this fence is what makes interleaving impossible.

#include "sync/transaction.hpp"

#include <algorithm>
#include <chrono>
#include <optional>

#include <fmt/format.h>

#include "sync/lanes.hpp"
#include "sync/manifest_cache.hpp"
#include "sync/remote_layout.hpp"
#include "target/target.hpp"
#include "util/failpoint.hpp"
#include "util/log.hpp"

namespace offsite::sync {
namespace {

constexpr std::uint64_t k_max_record_size = 256ull << 20;

Error fence_error(const target::Target& target, std::uint64_t generation, std::string_view what) {
  return Error{ErrorKind::permanent,
               fmt::format("{}/{}: {}; another writer is syncing to this folder (a second machine with a copy of "
                           "this repository?), so this sync stopped without applying its changes",
                           target.describe(), layout::commit_record(generation), what)};
}

} // namespace

Committer::Committer(target::Target& target, std::string repository_id, std::string txid, CommittedState& state,
                     ManifestCache* cache)
    : m_target(target), m_repository_id(std::move(repository_id)), m_txid(std::move(txid)), m_state(state),
      m_cache(cache) {}

asio::awaitable<Result<manifest::FolderRef>> Committer::write_folder_manifest(const manifest::FolderManifest& folder) {
  manifest::FolderRef ref;
  ref.path = folder.folder;
  ref.manifest = layout::folder_manifest(m_txid, folder.folder);
  std::string bytes = manifest::write_folder_manifest(folder);
  ref.manifest_size = bytes.size();
  ref.manifest_xxh3_128 = manifest::manifest_hash(bytes);
  ref.files = folder.files.size();
  for (const auto& file : folder.files)
    ref.bytes += file.size;

  auto path = layout::meta_path(ref.manifest);
  // Durable with the record that references it, which is written next.
  auto written = co_await m_target.write_new_file_deferred(path, bytes);
  if (!written && written.error().kind == ErrorKind::already_exists) {
    // Written by an earlier commit attempt of this transaction: fine if it is the same list.
    auto existing = co_await m_target.read_file(path, k_max_record_size);
    if (!existing) co_return Unexpected(std::move(existing).error());
    if (*existing != bytes)
      co_return make_error(ErrorKind::permanent,
                           fmt::format("{}/{}: exists with other content", m_target.describe(), path));
  } else if (!written) {
    co_return Unexpected(std::move(written).error());
  }
  auto check = co_await m_target.stat(path);
  if (!check) co_return Unexpected(std::move(check).error());
  if (check->size != ref.manifest_size)
    co_return make_error(ErrorKind::transient, fmt::format("{}/{}: the server holds {} bytes, {} were written",
                                                           m_target.describe(), path, check->size, ref.manifest_size));
  if (m_cache) {
    std::string replaced; // the folder's manifest in the state this commit builds on
    if (m_state.record)
      for (const auto& old : m_state.record->folders)
        if (old.path == folder.folder) replaced = old.manifest;
    co_await m_cache->put(ref.manifest, std::move(bytes), std::move(replaced));
  }
  co_return ref;
}

asio::awaitable<Result<void>> Committer::check_staged_sizes(const std::vector<FolderCommit>& folders) {
  for (const auto& folder : folders) {
    if (!folder.manifest) continue;
    for (const auto& pending : folder.pending) {
      auto entry = std::lower_bound(folder.manifest->files.begin(), folder.manifest->files.end(), pending.path,
                                    [](const manifest::FileEntry& e, const std::string& p) { return e.path < p; });
      if (entry == folder.manifest->files.end() || entry->path != pending.path)
        co_return make_error(ErrorKind::permanent, fmt::format("internal: pending file {} is not in the manifest of "
                                                               "folder '{}'",
                                                               pending.path, folder.folder));
      auto staged_path = layout::meta_path(pending.staged);
      auto staged = co_await m_target.stat(staged_path);
      if (!staged) co_return Unexpected(staged.error().with_context("reading back a staged upload before the commit"));
      if (staged->size != entry->size)
        co_return make_error(ErrorKind::permanent,
                             fmt::format("{}/{}: holds {} bytes, {} were uploaded; not committed", m_target.describe(),
                                         layout::meta_path(pending.staged), staged->size, entry->size));
    }
  }
  co_return Result<void>{};
}

asio::awaitable<Result<std::uint64_t>> Committer::next_generation() {
  std::uint64_t parent = m_state.generation();
  std::uint64_t highest = parent;
  std::string commits_dir(layout::k_commits);
  auto listed = co_await m_target.list(commits_dir);
  if (!listed && listed.error().kind != ErrorKind::not_found) co_return Unexpected(std::move(listed).error());
  std::vector<std::uint64_t> above;
  if (listed) {
    for (const auto& entry : *listed) {
      auto generation = layout::parse_commit_record_name(entry.name);
      if (generation && *generation > parent) above.push_back(*generation);
    }
  }
  // A lagging listing must not hide the record right above ours.
  auto next_name = layout::commit_record(parent + 1);
  if (auto probe = co_await m_target.stat(next_name); probe) above.push_back(parent + 1);
  std::sort(above.begin(), above.end());
  above.erase(std::unique(above.begin(), above.end()), above.end());
  for (std::uint64_t generation : above) {
    auto record = co_await read_commit_record(m_target, generation);
    if (!record && record.error().kind == ErrorKind::transient) co_return Unexpected(std::move(record).error());
    if (record && record->repository_id != m_repository_id) {
      highest = std::max(highest, generation); // a foreign record: ignored, but its name is taken
      continue;
    }
    co_return Unexpected(fence_error(
        m_target, generation, record ? "a record this sync did not write appeared" : "an invalid record appeared"));
  }
  co_return std::max(highest, parent) + 1;
}

asio::awaitable<Result<void>> Committer::write_record(const manifest::CommitRecord& record) {
  std::string bytes = manifest::write_commit_record(record);
  auto path = layout::commit_record(record.generation);
  auto written = co_await m_target.write_new_file(path, bytes);
  if (!written && written.error().kind == ErrorKind::already_exists)
    co_return Unexpected(fence_error(m_target, record.generation, "the generation is taken"));
  if (!written) co_return Unexpected(std::move(written).error());
  // Where renames cannot be exclusive, a second writer could have replaced the name: read back.
  auto back = co_await m_target.read_file(path, k_max_record_size);
  if (!back) co_return Unexpected(std::move(back).error());
  if (*back != bytes) co_return Unexpected(fence_error(m_target, record.generation, "holds another writer's record"));
  m_last_record = std::move(bytes);
  co_return Result<void>{};
}

asio::awaitable<void> Committer::publish_manifest_copy() {
  if (m_last_record.empty()) co_return;
  // For people and tools only; nothing reads it back, so a failure here is a warning.
  auto path = std::string(layout::k_manifest_copy);
  auto removed = co_await m_target.remove(path);
  if (!removed && removed.error().kind != ErrorKind::not_found) {
    log::warning("manifest_copy.failed", {{"error", removed.error().message}});
    co_return;
  }
  auto written = co_await m_target.write_new_file(path, m_last_record);
  if (!written) log::warning("manifest_copy.failed", {{"error", written.error().message}});
}

asio::awaitable<Result<std::uint64_t>> Committer::commit(std::vector<FolderCommit> folders) {
  std::vector<manifest::FolderRef> refs;
  for (auto& folder : folders) {
    if (!folder.manifest) continue;
    folder.manifest->txid = m_txid; // a folder manifest is named by the transaction that wrote it
    auto ref = co_await write_folder_manifest(*folder.manifest);
    if (!ref) co_return Unexpected(std::move(ref).error());
    failpoint("folder_manifest");
    refs.push_back(std::move(*ref));
  }
  if (auto checked = co_await check_staged_sizes(folders); !checked) co_return Unexpected(std::move(checked).error());
  auto generation = co_await next_generation();
  if (!generation) co_return Unexpected(std::move(generation).error());

  manifest::CommitRecord record;
  record.repository_id = m_repository_id;
  record.generation = *generation;
  record.parent = m_state.generation();
  record.txid = m_txid;
  record.committed_at = manifest::format_timestamp(std::chrono::system_clock::now());
  if (m_state.record) record.folders = m_state.record->folders;
  std::vector<std::string> deleted;
  for (const auto& folder : folders) {
    std::erase_if(record.folders, [&](const manifest::FolderRef& ref) { return ref.path == folder.folder; });
    record.pending.insert(record.pending.end(), folder.pending.begin(), folder.pending.end());
    deleted.insert(deleted.end(), folder.deleted.begin(), folder.deleted.end());
  }
  for (auto& ref : refs) {
    ref.generation = record.generation;
    record.folders.push_back(std::move(ref));
  }
  std::sort(record.folders.begin(), record.folders.end(),
            [](const manifest::FolderRef& a, const manifest::FolderRef& b) { return a.path < b.path; });
  std::sort(record.pending.begin(), record.pending.end(),
            [](const manifest::PendingEntry& a, const manifest::PendingEntry& b) { return a.path < b.path; });

  if (auto written = co_await write_record(record); !written) co_return Unexpected(std::move(written).error());
  failpoint("record");

  // Committed: from here on, the new state is the one recovery rolls forward to.
  for (auto& folder : folders) {
    if (folder.manifest)
      m_state.folders[folder.folder] = std::move(*folder.manifest);
    else
      m_state.folders.erase(folder.folder);
  }
  m_state.record = record;
  auto applied = co_await apply_commit(m_target, record.pending, std::move(deleted), m_state);
  if (!applied) co_return Unexpected(std::move(applied).error());
  co_return record.generation;
}

namespace {

// The apply removes first, then moves into place: on a target that ignores case (FAT32), a
// removed `A.img` must be gone before `a.img` arrives, and a removed file `F/a` before `F/a/b`
// needs its name for a directory. Within each phase the steps run four at a time (lanes.hpp):
// no two touch the same path and each is idempotent, so their order does not matter, after a
// crash either. On a remote each step costs round trips; on a local disk, removing a large file
// can take tens of milliseconds (freeing its blocks, a discard where the file system is mounted
// with it); the lanes overlap them.
struct ApplyWork {
  const std::vector<manifest::PendingEntry>& pending;
  const std::vector<std::string>& deleted;
  const CommittedState& state;
  bool move_replaces;
  bool moving = false;  // the phase: removals, then moves
  std::size_t next = 0; // the next step of the phase
  std::optional<Error> failure;
};

// Removes `dir` and the empty directories below it; a file anywhere below is left where it is,
// and the error names it: nothing the state does not name is removed silently.
asio::awaitable<Result<void>> remove_empty_tree(target::Target& target, std::string dir) {
  auto entries = co_await target.list(dir);
  if (!entries) co_return Unexpected(std::move(entries).error());
  for (const auto& entry : *entries) {
    auto path = dir + "/" + entry.name;
    if (!entry.is_directory)
      co_return make_error(ErrorKind::permanent,
                           fmt::format("{}/{}: a file the committed state does not name, where the state has a "
                                       "file of the name {}; move it away, then sync again",
                                       target.describe(), path, dir));
    if (auto removed = co_await remove_empty_tree(target, path); !removed) co_return removed;
  }
  co_return co_await target.remove_directory(dir);
}

// The final path of a file holds a directory (a directory of the repository became a file): its
// files were removed by the apply's first phase, since the state cannot name a file and a path
// below it at once, so what is left are empty directories.
asio::awaitable<Result<void>> clear_final_path(target::Target& target, const std::string& path) {
  auto removed = co_await target.remove(path);
  if (removed || removed.error().kind == ErrorKind::not_found) co_return Result<void>{};
  auto existing = co_await target.stat(path);
  if (!existing || !existing->is_directory) co_return Unexpected(std::move(removed).error());
  co_return co_await remove_empty_tree(target, path);
}

asio::awaitable<Result<void>> move_into_place(target::Target& target, const manifest::PendingEntry& entry,
                                              const CommittedState& state, bool move_replaces) {
  auto staged_path = layout::meta_path(entry.staged);
  auto staged = co_await target.stat(staged_path);
  if (!staged && staged.error().kind != ErrorKind::not_found) co_return Unexpected(std::move(staged).error());
  if (!staged) {
    // Moved already (a crash after the rename)? Then the final file has the committed size.
    const auto* committed = state.find_any(entry.path);
    auto final_file = co_await target.stat(entry.path);
    if (committed && final_file && final_file->size == committed->size) co_return Result<void>{};
    co_return make_error(ErrorKind::permanent,
                         fmt::format("{}/{}: committed file is neither staged ({}) nor in place with its committed "
                                     "size; the remote was changed by something else",
                                     target.describe(), entry.path, staged_path));
  }
  if (!move_replaces) {
    if (auto cleared = co_await clear_final_path(target, entry.path); !cleared) co_return cleared;
  }
  failpoint("apply_removed");
  auto moved = co_await target.rename_to_new(staged_path, entry.path);
  if (!moved) co_return Unexpected(moved.error().with_context(fmt::format("moving {} into place", entry.path)));
  failpoint("apply");
  co_return Result<void>{};
}

asio::awaitable<Result<void>> remove_deleted(target::Target& target, const std::string& path,
                                             const CommittedState& state) {
  if (state.find_any(path)) co_return Result<void>{}; // named again by the committed state: keep
  auto removed = co_await target.remove(path);
  if (!removed && removed.error().kind != ErrorKind::not_found) co_return Unexpected(std::move(removed).error());
  failpoint("delete");
  co_return Result<void>{};
}

// Takes the phase's next step until none is left or one failed (the others then take no more).
asio::awaitable<void> apply_lane(target::Target& target, ApplyWork& work) {
  while (!work.failure) {
    std::size_t index = work.next++;
    Result<void> done;
    if (!work.moving && index < work.deleted.size())
      done = co_await remove_deleted(target, work.deleted[index], work.state);
    else if (work.moving && index < work.pending.size())
      done = co_await move_into_place(target, work.pending[index], work.state, work.move_replaces);
    else
      break;
    if (!done && !work.failure) work.failure = std::move(done).error();
  }
}

} // namespace

asio::awaitable<Result<void>> apply_commit(target::Target& target, const std::vector<manifest::PendingEntry>& pending,
                                           std::vector<std::string> deleted, const CommittedState& state) {
  // Where a move replaces the final name atomically (S3: a server-side copy over the key), the old
  // version stays readable until the new one is in place; elsewhere it is removed first, since an
  // exclusive move refuses an existing name and a non-atomic one is no better than a removal.
  auto capabilities = target.capabilities();
  bool move_replaces = capabilities.replace_is_atomic && !capabilities.exclusive_rename;
  ApplyWork work{pending, deleted, state, move_replaces, false, 0, std::nullopt};
  auto lane = [&target, &work] { return apply_lane(target, work); };
  co_await run_in_lanes(lane); // removals
  if (work.failure) co_return Unexpected(std::move(*work.failure));
  work.moving = true;
  work.next = 0;
  co_await run_in_lanes(lane); // moves into place
  if (work.failure) co_return Unexpected(std::move(*work.failure));
  // Removing the transaction directory ends this roll-forward: before anything may, every move
  // and removal above must survive a power cut (on the local target, one batch of fsyncs).
  co_return co_await target.make_durable();
}

} // namespace offsite::sync
