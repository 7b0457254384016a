// The plan: what changed since the committed state, decided without reading file contents.
//
// A sync reads each local file at most once (BRIEF §5.9). The plan therefore decides from
// metadata alone: a file whose size and mtime equal its committed entry is unchanged and costs a
// stat (done by the scanner) and no remote call. A file with a new size is certainly different
// and is uploaded; the read that uploads it also hashes it. A file with the same size and a new
// mtime may hold the same bytes (a backup tool that touched it, a copy that kept the content):
// the hash cache may already know its hash for this exact (size, mtime, inode, ctime); if the
// hash equals the committed one, only the manifest's mtime changes. Otherwise it is hashed first
// and uploaded only if the bytes differ, so identical bytes are never sent again.
//
// Entries the scanner skipped (symbolic links, special files, unreadable files) keep their
// committed copies: a file that cannot be read now is not a file that was deleted.
//
// The guards count what the plan found, before anything is uploaded or committed: a repository
// that was unmounted (everything deleted) or encrypted by ransomware (everything rewritten)
// must not replace the one good offsite copy.

#include "sync/plan.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

namespace offsite::sync {
namespace {

manifest::FileEntry entry_with_mtime(const manifest::FileEntry& committed, std::int64_t mtime_ns) {
  manifest::FileEntry refreshed = committed;
  refreshed.mtime_ns = mtime_ns;
  return refreshed;
}

// Plans one folder present locally (`local` may be null when the folder is gone). Both lists
// are sorted by path (the scanner sorts a folder's files, read_manifest() a manifest's), so one
// merge pairs each local file with its committed entry: no lookup per file, no set of names,
// and the unchanged entries come out in path order. A no-change sync of 20,000 files spent
// most of its plan in a set of every path and a search per file.
FolderPlan plan_folder(const std::string& folder, const repo::LocalFolder* local,
                       const manifest::FolderManifest* committed, const std::set<std::string>& skipped,
                       const repo::HashCache& hash_cache, SyncPlan& totals) {
  FolderPlan plan;
  plan.folder = folder;
  // The merge needs both lists in path order. The scanner and read_manifest() give them so; should
  // one not be, a sorted copy keeps the plan right, since a wrong pairing deletes committed files.
  static const std::vector<manifest::FileEntry> none;
  static const std::vector<repo::LocalFile> no_files;
  const auto& given_entries = committed ? committed->files : none;
  const auto& given_files = local ? local->files : no_files;
  auto by_path = [](const auto& a, const auto& b) { return a.path < b.path; };
  std::vector<manifest::FileEntry> sorted_entries;
  std::vector<repo::LocalFile> sorted_files;
  if (!std::is_sorted(given_entries.begin(), given_entries.end(), by_path)) {
    sorted_entries = given_entries;
    std::sort(sorted_entries.begin(), sorted_entries.end(), by_path);
  }
  if (!std::is_sorted(given_files.begin(), given_files.end(), by_path)) {
    sorted_files = given_files;
    std::sort(sorted_files.begin(), sorted_files.end(), by_path);
  }
  const auto& entries = sorted_entries.empty() ? given_entries : sorted_entries;
  const auto& files = sorted_files.empty() ? given_files : sorted_files;
  std::size_t next_entry = 0;
  // A committed entry without a local file: deleted, unless the scan skipped its path.
  auto gone = [&](const manifest::FileEntry& entry) {
    if (skipped.count(entry.path)) {
      plan.unchanged.push_back(entry); // cannot be copied now: the committed copy stays
      return;
    }
    plan.to_delete.push_back(entry);
    ++totals.deleted_files;
  };
  for (const auto& file : files) {
    while (next_entry < entries.size() && entries[next_entry].path < file.path)
      gone(entries[next_entry++]);
    const manifest::FileEntry* entry = nullptr;
    if (next_entry < entries.size() && entries[next_entry].path == file.path) entry = &entries[next_entry++];
    if (!entry) {
      plan.to_read.push_back({file, FileChange::added, Placement::staged, nullptr});
      ++totals.added_files;
      totals.bytes_to_read += file.size;
      continue;
    }
    if (entry->size == file.size && entry->mtime_ns == file.mtime_ns) {
      plan.unchanged.push_back(*entry);
      continue;
    }
    ++totals.changed_files;
    if (entry->size != file.size) {
      plan.to_read.push_back(
          {file, FileChange::modified, Placement::staged, std::make_shared<const manifest::FileEntry>(*entry)});
      totals.bytes_to_read += file.size;
      continue;
    }
    if (auto cached = hash_cache.lookup(file); cached && *cached == entry->xxh3_128) {
      plan.unchanged.push_back(entry_with_mtime(*entry, file.mtime_ns));
      plan.metadata_changed = true;
      continue;
    }
    plan.to_read.push_back(
        {file, FileChange::touched, Placement::staged, std::make_shared<const manifest::FileEntry>(*entry)});
    totals.bytes_to_read += file.size;
  }
  while (next_entry < entries.size())
    gone(entries[next_entry++]);
  return plan; // unchanged, to_read and to_delete come out in path order
}

} // namespace

SyncPlan make_plan(const repo::LocalView& local, const CommittedState& committed, const repo::HashCache& hash_cache) {
  SyncPlan plan;
  plan.committed_files = committed.file_count();
  std::set<std::string> skipped;
  for (const auto& entry : local.skipped)
    skipped.insert(entry.path);

  std::set<std::string> folder_names;
  for (const auto& folder : local.folders)
    folder_names.insert(folder.path);
  for (const auto& [name, manifest] : committed.folders)
    folder_names.insert(name);

  for (const auto& name : folder_names) {
    auto local_it = std::find_if(local.folders.begin(), local.folders.end(),
                                 [&](const repo::LocalFolder& f) { return f.path == name; });
    auto committed_it = committed.folders.find(name);
    FolderPlan folder = plan_folder(name, local_it == local.folders.end() ? nullptr : &*local_it,
                                    committed_it == committed.folders.end() ? nullptr : &committed_it->second, skipped,
                                    hash_cache, plan);
    if (folder.needs_commit()) plan.folders.push_back(std::move(folder));
  }
  return plan;
}

Result<void> check_mass_change(const SyncPlan& plan, int max_delete_percent, int max_change_percent) {
  if (plan.committed_files == 0) return {};
  auto exceeds = [&](std::uint64_t count, int percent) {
    return percent < 100 && count * 100 > plan.committed_files * static_cast<std::uint64_t>(percent);
  };
  if (exceeds(plan.deleted_files, max_delete_percent))
    return make_error(ErrorKind::refused,
                      fmt::format("refused: the plan deletes {} of {} committed files, more than max_delete_percent "
                                  "= {}% (an unmounted or emptied repository?); nothing was changed. Check the "
                                  "repository, then run `offsite sync NAME --allow-mass-change` if this is intended",
                                  plan.deleted_files, plan.committed_files, max_delete_percent));
  if (exceeds(plan.changed_files, max_change_percent))
    return make_error(ErrorKind::refused,
                      fmt::format("refused: the plan changes {} of {} committed files, more than max_change_percent "
                                  "= {}% (files rewritten or encrypted?); nothing was changed. Check the repository, "
                                  "then run `offsite sync NAME --allow-mass-change` if this is intended",
                                  plan.changed_files, plan.committed_files, max_change_percent));
  return {};
}

} // namespace offsite::sync
