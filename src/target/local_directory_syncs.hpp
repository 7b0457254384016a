#pragma once
// Directory fsyncs the local target owes, made in one batch before anything depends on them.
//
// A new name is durable only once its directory is fsync'd. Doing that after every upload and
// every rename costs two or three fsyncs per file on top of the file's own, and on a disk that
// takes ~0.3 ms each it dominates a sync of many small files or a day of many small folders.
// But the commit protocol never needs a staged file's name, a moved file's name or a new
// directory to be durable on its own: it needs them durable before the next *commit point* — a
// record that references them (write_new_file) — and before the step that ends a roll-forward,
// the removal of the transaction directory (remove_directory), or a replacement (copy). So those
// first flush() every owed directory and make their own step durable; everything else, file
// removals included, only defers its directories. A file removal assumes nothing but a commit
// point, which is durable already. A power cut can then undo what was done since the last flush:
// an upload or a move not yet relied on (a staged file still staged, an apply step not done: the
// states a crash there leaves, which recovery rolls forward, since the transaction directory is
// still there), or a removal (garbage that comes back and is removed again, or a deletion the
// roll-forward repeats). It can never undo an operation that a later flush came after. The
// target's destruction syncs what is still owed. One fsync per directory and batch replaces one
// per file and per directory.

#include <filesystem>
#include <mutex>
#include <string>
#include <unordered_set>

#include "util/error.hpp"

namespace offsite::target {

class LocalDirectorySyncs {
public:
  // The directory `dir` gained or lost an entry; fsync it before the next flush() returns.
  void defer(const std::filesystem::path& dir);
  // The parent directory of `path`.
  void defer_parent(const std::filesystem::path& path) { defer(path.parent_path()); }
  // `dir` is about to be removed: syncing it first would be wasted (what it held goes with it).
  void forget(const std::filesystem::path& dir);

  // Fsyncs every owed directory, parents before children (so a new directory's own entry is
  // durable before the entries inside it are relied on). On failure the directories not yet
  // synced stay owed and the error names the first that failed.
  Result<void> flush();

  std::size_t owed() const;

private:
  mutable std::mutex m_mutex;
  std::unordered_set<std::string> m_owed; // native paths
};

} // namespace offsite::target
