#pragma once
// The fsyncs the local target owes, made in one batch before anything depends on them.
//
// A new name is durable only once its directory is fsync'd, and a file's bytes once the file is.
// Doing both after every upload and every rename costs two or three fsyncs per file, each one a
// journal commit that waits for the disk; on a disk that takes ~0.3 ms each, that dominates a
// sync of many small files or a day of many small folders. Worse, an upload that fsyncs its own
// file when it finishes holds its slot until the disk has the bytes, so reading the next file
// waits for writing the last one: reads and writes alternate instead of overlapping.
// But the commit protocol never needs a staged file's bytes, a staged file's name, a moved file's
// name or a new directory to be durable on its own: it needs them durable before the next
// *commit point* — a record that references them (write_new_file) —, before a replacement
// (copy), and before anything ends a roll-forward: the apply ends with make_durable(), before its
// transaction directory may go. So those flush() everything owed (and the first two make their
// own step durable); everything else, finished uploads and every removal included, only adds to
// what is owed. Removing a tree of n directories therefore costs no fsync of its own; when each
// directory removal flushed first (it used to end the roll-forward), a next day's clean-up made
// about 100 fsyncs, one journal commit each.
//
// flush() syncs the files first, then the directories. Files: it starts the writeback of every
// owed file, then fsyncs them four at a time (as it does the directories after), so the disk
// gets them as one stream and the fsyncs that wait together share a journal commit. One after
// another, each waited for a commit of its own; on ext4, while a large upload streams, every
// commit also waits for that upload's data written so far: the next day's first record took
// 0.36 s of fsyncs (7-98 ms each). With the lanes and the owed temporaries below, that day's
// process ended at 0.59-0.61 s instead of 0.63-0.66 s (phase logs, 2-3 runs each).
// A finished upload keeps its file open until then (an fsync by descriptor does not care about
// later renames), at most kMaxOwedFiles of them: the upload that reaches the limit pays for all.
// A small file written whole (write_new_file) owes its fsync too: a folder manifest until the
// record that references it, and a commit point's temporary until the flush it makes before its
// rename, so its bytes go in the same batch.
//
// A power cut can then undo what was done since the last flush: an upload or a move not yet relied
// on (a staged file shorter than it was, or still staged; an apply step not done: the states a
// crash there leaves, which recovery rolls forward or resumes, since the transaction directory is
// still there), or a removal (garbage that comes back and is removed again, or a deletion of the
// apply, which the roll-forward repeats: its transaction directory goes only after the apply's
// make_durable()). It can never undo an operation that a later flush came after. A file whose fsync
// fails is removed, not owed again: Linux reports a lost writeback once, and a second fsync would
// succeed over bytes that never reached the disk, so the commit that needed the file must fail and
// the next sync upload it again. The flush that meets the failure may be another caller's, after
// the commit's size read-back passed; so the failure is kept, and every later flush of this target
// (the commit point's first of all) fails with it. The target's destruction syncs what is still
// owed.
//
// Drop behind. Once a file's fsync succeeded, its pages are clean and are dropped from the page
// cache (as the uploader drops what it read): a sync writes the repository's size, which nobody
// reads back soon, and a later `verify --deep` should read the disk, not the cache. An upload
// drops most of them before that, as it goes (LocalUpload::write): what is left here is its last
// chunks. Cold, 3-4 rotating rounds each, the bench repository's first sync took 3.9-4.3 s
// without either, 2.6-3.5 s dropping at the fsync only, 2.3-2.4 s with both; its next day
// 0.69-0.74, 0.70-1.07 and 0.63-0.66 s. This VM's host takes back free memory, so reusing
// pages just freed is what saves most.

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "util/error.hpp"

namespace offsite::target {

namespace platform {
class File;
}

class LocalOwedSyncs {
public:
  // Finished uploads whose files are kept open until the next flush, at most.
  static constexpr std::size_t kMaxOwedFiles = 64;

  // The directory `dir` gained or lost an entry; fsync it before the next flush() returns.
  void defer(const std::filesystem::path& dir);
  // The parent directory of `path`.
  void defer_parent(const std::filesystem::path& path) { defer(path.parent_path()); }
  // `dir` was removed: what it owed went with it.
  void forget(const std::filesystem::path& dir);

  // The bytes of the finished upload open as `file` at `path`; its fsync is owed (and the file
  // kept open) until the next flush. Returns how many files are owed now.
  std::size_t defer_file(const std::filesystem::path& path, std::shared_ptr<platform::File> file);
  // An owed file was renamed (errors then name where it is) or removed (its sync is dropped).
  void file_moved(const std::filesystem::path& from, const std::filesystem::path& to);
  void file_removed(const std::filesystem::path& path);

  // Fsyncs every owed file: starts the writeback of all, then waits for them, four at a time. A
  // file whose fsync fails is removed (see above) and the error names it; the others are synced
  // and no longer owed. Such a failure is also kept: every later flush_files() and flush() of
  // this target fails with it. The flush that met it may be another caller's (an upload that
  // reached kMaxOwedFiles took a folder manifest with it), and the commit point that needed the
  // removed file must not succeed after its own flush found nothing left to sync.
  Result<void> flush_files();
  // flush_files(), then fsyncs every owed directory, four at a time: nothing relies on any of
  // them before flush() returns, so their order does not matter. On failure the error names the
  // first that failed; the directories that failed stay owed.
  Result<void> flush();

  std::size_t owed_directories() const;
  std::size_t owed_files() const;
  // How many directory fsyncs the flushes have made so far (for tests).
  std::size_t directories_synced() const;

private:
  Result<void> flush_files_locked();

  // Held by a flush from start to end: a flush that finds nothing left to take must still not
  // return before one running on another thread has synced what it took.
  std::mutex m_flushing;
  mutable std::mutex m_mutex;
  std::unordered_set<std::string> m_owed; // native paths of directories
  std::vector<std::pair<std::filesystem::path, std::shared_ptr<platform::File>>> m_files;
  std::size_t m_directories_synced = 0;
  std::optional<Error> m_lost; // a file whose fsync failed was removed (see flush_files())
};

} // namespace offsite::target
