#include "sync/cleanup.hpp"

#include <set>

#include <asio/experimental/awaitable_operators.hpp>

#include "sync/recovery.hpp"
#include "sync/remote_layout.hpp"
#include "target/target.hpp"
#include "util/failpoint.hpp"

namespace offsite::sync {
namespace {

// The record generations to keep and the folder manifests they name.
struct Reachable {
  std::set<std::uint64_t> records;
  std::set<std::string> manifests; // relative to .offsite/
};

asio::awaitable<Result<Reachable>> reachable_from(target::Target& target, const CommittedState& committed) {
  Reachable reachable;
  if (!committed.record) co_return reachable;
  manifest::CommitRecord record = *committed.record;
  for (int kept = 0; kept < k_records_kept; ++kept) {
    reachable.records.insert(record.generation);
    for (const auto& folder : record.folders)
      reachable.manifests.insert(folder.manifest);
    if (record.parent == 0) break;
    auto parent = co_await read_commit_record(target, record.parent);
    if (!parent) {
      if (parent.error().kind == ErrorKind::not_found) break;
      co_return Unexpected(std::move(parent).error());
    }
    record = std::move(*parent);
  }
  co_return reachable;
}

asio::awaitable<Result<void>> remove_quietly(target::Target& target, std::string path) {
  auto removed = co_await target.remove(path);
  if (!removed && removed.error().kind != ErrorKind::not_found) co_return removed;
  co_return Result<void>{};
}

// Removes unnamed files below `dir`; true if `dir` is left empty.
asio::awaitable<Result<bool>> remove_unnamed_below(target::Target& target, const CommittedState& committed,
                                                   std::string dir, std::vector<std::string>& removed) {
  auto entries = co_await target.list(dir);
  if (!entries) co_return Unexpected(std::move(entries).error());
  bool empty = true;
  for (const auto& entry : *entries) {
    auto path = target::join_path(dir, entry.name);
    if (dir.empty() && entry.name == layout::k_meta) {
      empty = false;
      continue;
    }
    if (entry.is_directory) {
      auto below = co_await remove_unnamed_below(target, committed, path, removed);
      if (!below) co_return Unexpected(std::move(below).error());
      if (*below) {
        auto gone = co_await target.remove_directory(path);
        if (!gone && gone.error().kind != ErrorKind::not_found) co_return Unexpected(std::move(gone).error());
      } else {
        empty = false;
      }
      continue;
    }
    if (committed.find_any(path)) {
      empty = false;
      continue;
    }
    auto gone = co_await remove_quietly(target, path);
    if (!gone) co_return Unexpected(std::move(gone).error());
    removed.push_back(path);
  }
  co_return empty;
}

} // namespace

asio::awaitable<Result<std::vector<std::string>>> remove_unnamed_files(target::Target& target,
                                                                       const CommittedState& committed) {
  std::vector<std::string> removed;
  std::string root;
  auto done = co_await remove_unnamed_below(target, committed, root, removed);
  if (!done) co_return Unexpected(std::move(done).error());
  co_return removed;
}

asio::awaitable<Result<void>> cleanup_transactions(target::Target& target, std::vector<std::string> old,
                                                   std::string current) {
  if (!current.empty()) old.push_back(current);
  for (const auto& txid : old) {
    auto dir = layout::transaction_dir(txid);
    if (auto removed = co_await remove_tree(target, dir); !removed) co_return removed;
    failpoint("cleanup");
  }
  std::string tx_dir(layout::k_tx);
  auto tx_root = co_await target.list(tx_dir);
  if (tx_root && tx_root->empty()) co_await target.remove_directory(tx_dir);
  co_return Result<void>{};
}

namespace {

// Records below the kept chain, and folder manifests no kept record names.
asio::awaitable<Result<void>> prune_unreachable(target::Target& target, const CommittedState& committed) {
  auto reachable = co_await reachable_from(target, committed);
  if (!reachable) co_return Unexpected(std::move(reachable).error());
  if (reachable->records.empty()) co_return Result<void>{};
  std::uint64_t oldest_kept = *reachable->records.begin();

  // Records below the kept chain (ours, or a previous owner's after a takeover).
  std::string commits_dir(layout::k_commits);
  if (auto records = co_await target.list(commits_dir); records) {
    for (const auto& entry : *records) {
      auto generation = layout::parse_commit_record_name(entry.name);
      if (!generation || *generation >= oldest_kept || reachable->records.count(*generation)) continue;
      auto record = layout::commit_record(*generation);
      if (auto removed = co_await remove_quietly(target, record); !removed) co_return removed;
    }
  }
  // Folder manifests no kept record names: listed per transaction directory.
  std::string folders_dir(layout::k_folders);
  auto folders = co_await target.list(folders_dir);
  if (!folders) co_return Result<void>{};
  for (const auto& tx : *folders) {
    if (!tx.is_directory) continue;
    auto dir = target::join_path(layout::k_folders, tx.name);
    auto files = co_await target.list(dir);
    if (!files) continue;
    std::size_t kept = 0;
    for (const auto& file : *files) {
      auto relative = "folders/" + tx.name + "/" + file.name;
      if (reachable->manifests.count(relative)) {
        ++kept;
        continue;
      }
      auto path = target::join_path(dir, file.name);
      if (auto removed = co_await remove_quietly(target, path); !removed) co_return removed;
    }
    if (kept == 0) co_await target.remove_directory(dir);
  }
  co_return Result<void>{};
}

} // namespace

asio::awaitable<Result<void>> cleanup_after_commit(target::Target& target, const CommittedState& committed,
                                                   std::vector<std::string> old, std::string current) {
  // The two touch different names, so they go at once: on a remote each is a few round trips per
  // folder, and the sync's end waits for both.
  using namespace asio::experimental::awaitable_operators;
  auto transactions = cleanup_transactions(target, std::move(old), std::move(current));
  auto pruned = prune_unreachable(target, committed);
  auto [removed, pruned_ok] = co_await (std::move(transactions) && std::move(pruned));
  if (!removed) co_return removed;
  co_return pruned_ok;
}

} // namespace offsite::sync
