// Verifying the remote against its own committed state.
//
// What verify trusts, and why. It trusts the committed state as the sync engine defines it
// (BRIEF §5.1): the highest valid commit record of the folder's owner, whose bytes check their
// own checksum, and the folder manifests it names, each matching the size and hash the record
// gives. Those files cannot be torn or silently edited without failing those checks, so they are
// the one thing on the remote that says what the mirror must hold. It trusts nothing else: not
// the local repository (verify runs when it is gone), not `manifest.json` (a copy for people),
// and not a listing to prove a file absent (listings may lag): every committed file is asked for
// by name.
//
// The plain check trusts the target's reported size; a file damaged without changing its size
// passes it. `--deep` downloads every file and compares its XXH3-128 with the manifest's, which
// is what "the mirror equals the repository" means in BRIEF §5.4.
//
// Verify writes nothing: no lease, no recovery, no claim. So it may meet a sync that was
// interrupted after its commit: the record's `pending` entries then still sit in staging. The
// next sync's recovery rolls them forward (BRIEF §5.3), so a staged copy with the committed size
// counts as present and is reported as a warning, not a failure. Uncommitted staging under
// `.offsite/tx/` is not part of the committed state and is not looked at.
//
// Files in the mirror that no manifest names are warnings (BRIEF §5.8): another tool's files or
// an old repository's data are never deleted silently, and a person should hear of them. Finding
// them is the one place verify lists the mirror tree; `.offsite/` is skipped.

#include "sync/verify.hpp"

#include <memory>
#include <set>
#include <vector>

#include <fmt/format.h>

#include "sync/remote_id.hpp"
#include "sync/remote_layout.hpp"
#include "target/target.hpp"
#include "util/offload.hpp"

namespace offsite::sync {
namespace {

constexpr std::size_t k_download_chunk = 1 << 20;

std::string where(const target::Target& target, const std::string& path) {
  return path.empty() ? target.describe() : target.describe() + "/" + path;
}

// Errors that mean the check itself cannot go on, rather than that one file is bad.
bool aborts_check(const Error& error) {
  return error.kind == ErrorKind::transient || error.kind == ErrorKind::cancelled;
}

// Every file below `dir` in the mirror (recursively), skipping `.offsite/` at the top.
asio::awaitable<Result<void>> list_mirror(target::Target& target, std::string dir, std::vector<std::string>& files) {
  auto entries = co_await target.list(dir);
  if (!entries) {
    if (entries.error().kind == ErrorKind::not_found) co_return Result<void>{};
    co_return Unexpected(std::move(entries).error());
  }
  for (const auto& entry : *entries) {
    if (dir.empty() && entry.name == layout::k_meta) continue;
    auto path = target::join_path(dir, entry.name);
    if (entry.is_directory) {
      if (auto listed = co_await list_mirror(target, path, files); !listed) co_return listed;
    } else {
      files.push_back(std::move(path));
    }
  }
  co_return Result<void>{};
}

// Checks one committed file: present with its size (and, deep, its hash).
asio::awaitable<Result<void>> check_file(target::Target& target, manifest::FileEntry entry,
                                         std::optional<std::string> staged, bool deep, VerifyReport& report) {
  report.files_checked += 1;
  report.bytes_checked += entry.size;
  auto copy = co_await locate_committed_copy(target, entry, staged);
  if (!copy) {
    if (aborts_check(copy.error())) co_return Unexpected(std::move(copy).error());
    report.problems.push_back({entry.path, where(target, entry.path), copy.error().message});
    co_return Result<void>{};
  }
  if (copy->apply_pending)
    report.warnings.push_back(fmt::format("{}: apply pending (committed bytes at {}); the next sync finishes it",
                                          entry.path, where(target, copy->remote_path)));
  if (!deep) co_return Result<void>{};
  auto hashed = co_await hash_remote_file(target, copy->remote_path);
  if (!hashed) {
    if (aborts_check(hashed.error())) co_return Unexpected(std::move(hashed).error());
    report.problems.push_back({entry.path, where(target, copy->remote_path), hashed.error().message});
    co_return Result<void>{};
  }
  report.bytes_read += hashed->size;
  if (hashed->size != entry.size)
    report.problems.push_back({entry.path, where(target, copy->remote_path),
                               fmt::format("read {} bytes, committed {}", hashed->size, entry.size)});
  else if (hashed->hash != entry.xxh3_128)
    report.problems.push_back(
        {entry.path, where(target, copy->remote_path),
         fmt::format("content differs: XXH3-128 {}, committed {}", hashed->hash.to_hex(), entry.xxh3_128.to_hex())});
  co_return Result<void>{};
}

} // namespace

std::map<std::string, std::string> pending_by_path(const CommittedState& state) {
  std::map<std::string, std::string> pending;
  if (state.record)
    for (const auto& entry : state.record->pending)
      pending.emplace(entry.path, entry.staged);
  return pending;
}

asio::awaitable<Result<CommittedCopy>> locate_committed_copy(target::Target& target, manifest::FileEntry entry,
                                                             std::optional<std::string> staged) {
  if (staged) {
    auto staged_path = layout::meta_path(*staged);
    auto at_staged = co_await target.stat(staged_path);
    if (at_staged && !at_staged->is_directory && at_staged->size == entry.size)
      co_return CommittedCopy{staged_path, true};
    if (!at_staged && at_staged.error().kind != ErrorKind::not_found)
      co_return Unexpected(std::move(at_staged).error());
  }
  auto at_final = co_await target.stat(entry.path);
  if (!at_final) {
    if (at_final.error().kind == ErrorKind::not_found) co_return make_error(ErrorKind::not_found, "missing");
    co_return Unexpected(std::move(at_final).error());
  }
  if (at_final->is_directory) co_return make_error(ErrorKind::permanent, "a directory stands at its path");
  if (at_final->size != entry.size)
    co_return make_error(ErrorKind::permanent, fmt::format("size {}, committed {}", at_final->size, entry.size));
  co_return CommittedCopy{entry.path, false};
}

asio::awaitable<Result<RemoteHash>> hash_remote_file(target::Target& target, std::string remote_path,
                                                     asio::thread_pool* pool, ChunkSink sink, std::uint64_t limit) {
  auto download = co_await target.open_download(remote_path, 0);
  if (!download) co_return Unexpected(std::move(download).error());
  // Not zero-filled: each read overwrites what it returns. Zeroing 1 MiB per file cost a restore
  // of files-20k (20,000 files of 6 KiB) 1.1 s of its 2.5 s of user CPU.
  auto buffer = std::make_unique_for_overwrite<std::byte[]>(k_download_chunk);
  Xxh3Hasher hasher;
  std::uint64_t size = 0;
  while (size < limit) {
    auto want = static_cast<std::size_t>(std::min<std::uint64_t>(k_download_chunk, limit - size));
    std::span<std::byte> into(buffer.get(), want);
    auto got = co_await (*download)->read(into);
    if (!got) co_return Unexpected(std::move(got).error());
    if (*got == 0) break;
    std::span<const std::byte> chunk(buffer.get(), *got);
    hasher.update(chunk);
    size += *got;
    if (!sink) continue;
    auto writer = [&sink, chunk] { return sink(chunk); };
    if (auto written = co_await offload(*pool, std::move(writer)); !written) co_return Unexpected(written.error());
  }
  co_return RemoteHash{hasher.digest(), size};
}

asio::awaitable<Result<OwnedState>> read_owned_state(target::Target& target, std::optional<std::string> local_id,
                                                     std::string repository_name) {
  auto compare_with = local_id.value_or(""); // named: no temporary inside a co_await (GCC 12)
  auto remote = co_await read_remote_id(target, compare_with);
  if (!remote) co_return Unexpected(std::move(remote).error());
  if (remote->state == RemoteIdState::none)
    co_return make_error(ErrorKind::not_found,
                         fmt::format("{}: no repository ID: this folder was never synced", where(target, "")));
  if (local_id && remote->state == RemoteIdState::foreign)
    co_return Unexpected(id_mismatch_error(target, repository_name));
  auto scan = co_await scan_commits(target, remote->id);
  if (!scan) co_return Unexpected(std::move(scan).error());
  co_return OwnedState{remote->id, std::move(*scan)};
}

asio::awaitable<Result<VerifyReport>> verify_remote(target::Target& target, VerifyRequest request) {
  VerifyReport report;
  std::optional<std::string> expected_id(request.local_id);
  auto owned = co_await read_owned_state(target, expected_id, request.repository_name);
  if (!owned) {
    if (owned.error().kind == ErrorKind::id_mismatch && request.local_id.empty())
      co_return Unexpected(owned.error().with_context("this repository has no ID file yet"));
    co_return Unexpected(std::move(owned).error());
  }
  report.remote_id = owned->remote_id;
  for (const auto& warning : owned->scan.warnings)
    report.warnings.push_back(warning);
  const auto& committed = owned->scan.committed;
  report.generation = committed.generation();
  if (committed.record)
    report.committed_at = committed.record->committed_at;
  else
    report.warnings.push_back("nothing is committed yet: there is no file to check");

  auto pending = pending_by_path(committed);
  std::set<std::string> named;
  for (const auto& [folder, manifest] : committed.folders) {
    for (const auto& entry : manifest.files) {
      named.insert(entry.path);
      auto it = pending.find(entry.path);
      auto staged = it == pending.end() ? std::optional<std::string>() : std::optional<std::string>(it->second);
      if (auto checked = co_await check_file(target, entry, staged, request.deep, report); !checked)
        co_return Unexpected(std::move(checked).error());
    }
  }

  std::vector<std::string> mirror;
  std::string root;
  if (auto listed = co_await list_mirror(target, root, mirror); !listed)
    co_return Unexpected(std::move(listed).error());
  for (const auto& path : mirror)
    if (!named.count(path))
      report.warnings.push_back(fmt::format("{}: no manifest names this file", where(target, path)));
  co_return report;
}

} // namespace offsite::sync
