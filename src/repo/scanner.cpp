#include "repo/scanner.hpp"

// Walking a repository
// ====================
//
// A repository holds one directory per computer and backup definition (PC-0001/Daily-System/),
// each with a few large full images and many incrementals. offsite commits, and reports on, one
// *folder* at a time, so the walk's job is to group every regular file under the folder it
// belongs to (BRIEF §4): a folder is the first `folder_depth` directory components of a file's
// path; a file with fewer directory components belongs to the folder its directories name, and
// a file at the root to the root folder "". With depth 2, PC-0001/Daily-System/a.img and
// PC-0001/Daily-System/2024/b.img are in "PC-0001/Daily-System", PC-0001/notes.txt is in
// "PC-0001" and readme.txt in "". The folder depends only on the directory holding the file, so
// the walk decides it once per directory: a directory no deeper than folder_depth names its own
// folder, a deeper one inherits its parent's. A folder exists only once a file lands in it, so
// empty directories make no folder (and no remote manifest).
//
// The output is sorted by byte order (folders by path, files by path within a folder), which is
// what the planner merges against the committed manifests; a depth-first walk does not produce
// that order by itself ("a.txt" sorts before "a/b" but a directory is walked as a whole), so
// each folder's files are sorted once at the end.
//
// Symlinks are never followed, in or out of the repository. Following one would copy bytes
// from outside the repository (a link to /etc, or to another repository), copy a subtree twice,
// or loop forever; and a link that is swapped while we walk could point a privileged service at
// any file on the machine. So every directory is opened relative to its parent's descriptor with
// O_NOFOLLOW, every entry is examined with lstat semantics, and a symlink, whether to a file or a
// directory, is reported as skipped (a warning) and its committed copy, if any, stays. Special
// files (fifos, sockets, devices) are reported the same way: reading a fifo would block forever.
//
// Cost: an unchanged file must cost one stat and nothing more (BRIEF §8). Directories are
// recognised from the listing's d_type and opened without a stat; regular files get exactly one
// fstatat. The walk keeps one descriptor open per level of nesting, and refuses to descend past
// k_max_nesting levels, which also bounds its recursion.
//
// Parallel walk. With a cold cache the walk waits on the disk for every directory block and
// inode, one at a time. The root's subdirectories (one per computer) are therefore walked by up
// to k_walk_threads threads, each with its own Walker, and merged at the end; their folders are
// disjoint (a folder lies under one of them), so the merge only concatenates. Several requests in
// flight let the disk (an SSD, a virtio disk, a NAS) serve them together, and a warm walk uses
// more than one core. The root's own files are walked by the calling thread.

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "repo/directory_reader.hpp"
#include "util/glob.hpp"

namespace offsite::repo {
namespace {

constexpr int k_max_nesting = 256;
constexpr std::size_t k_walk_threads = 4;
constexpr std::string_view k_state_directory = ".offsite";

class Walker {
public:
  explicit Walker(const ScanOptions& options) : m_options(options) {}

  // Walks `dir` (at `relative`, `level` components below the root), whose listing is `entries`;
  // its own files go to `folder`. With `subdirectories_out`, the subdirectories are not walked
  // but handed back (the root's, for the parallel walk).
  void walk(Directory& dir, std::vector<DirectoryEntry> entries, const std::string& relative, int level,
            const std::string& folder, std::vector<std::string>* subdirectories_out = nullptr) {
    std::vector<LocalFile>* files = nullptr; // this directory's folder, created with its first file
    std::vector<std::string> subdirectories;
    for (auto& entry : entries) {
      if (level == 0 && entry.name == k_state_directory) continue;
      std::string path = relative.empty() ? entry.name : relative + '/' + entry.name;
      if (is_excluded(path)) continue;
      if (entry.type_hint == EntryType::directory) {
        subdirectories.push_back(std::move(entry.name));
        continue;
      }
      auto stat = dir.stat_child(entry.name);
      if (!stat) {
        skip_error(std::move(path), "cannot stat", stat.error());
        continue;
      }
      switch (stat->type) {
      case EntryType::regular:
        if (!files) files = &m_folders[folder];
        add_file(*files, std::move(path), *stat);
        break;
      case EntryType::directory: subdirectories.push_back(std::move(entry.name)); break;
      case EntryType::symlink: skip_warning(std::move(path), "symbolic link, not followed"); break;
      default: skip_warning(std::move(path), "special file (" + std::string(describe(stat->type)) + ")"); break;
      }
    }
    std::vector<DirectoryEntry>().swap(entries); // release the names before descending (`= {}` keeps the buffer)
    if (subdirectories_out) {
      *subdirectories_out = std::move(subdirectories);
      return;
    }
    for (const auto& name : subdirectories)
      walk_child(dir, relative.empty() ? name : relative + '/' + name, name, level + 1, folder);
  }

  // One of the root's subdirectories.
  void walk_top(Directory& root, const std::string& name) { walk_child(root, name, name, 1, std::string()); }

  // Takes in what another walker found (disjoint folders).
  void merge(Walker&& other) {
    for (auto& [path, files] : other.m_folders) {
      auto& mine = m_folders[path];
      if (mine.empty())
        mine = std::move(files);
      else
        mine.insert(mine.end(), std::make_move_iterator(files.begin()), std::make_move_iterator(files.end()));
    }
    m_skipped.insert(m_skipped.end(), std::make_move_iterator(other.m_skipped.begin()),
                     std::make_move_iterator(other.m_skipped.end()));
    m_total_bytes += other.m_total_bytes;
    m_file_count += other.m_file_count;
  }

  LocalView finish() && {
    LocalView view;
    view.folders.reserve(m_folders.size());
    for (auto& [path, files] : m_folders) {
      std::sort(files.begin(), files.end(), [](const LocalFile& a, const LocalFile& b) { return a.path < b.path; });
      view.folders.push_back(LocalFolder{path, std::move(files)});
    }
    std::sort(m_skipped.begin(), m_skipped.end(),
              [](const SkippedEntry& a, const SkippedEntry& b) { return a.path < b.path; });
    view.skipped = std::move(m_skipped);
    view.total_bytes = m_total_bytes;
    view.file_count = m_file_count;
    return view;
  }

private:
  void walk_child(Directory& parent, std::string path, const std::string& name, int level,
                  const std::string& parent_folder) {
    if (level > k_max_nesting)
      return skip_error(std::move(path), "nested more than " + std::to_string(k_max_nesting) + " directories deep");
    auto child = parent.open_child(name);
    if (!child) return skip_error(std::move(path), "cannot open directory", child.error());
    auto entries = child->list();
    if (!entries) return skip_error(std::move(path), "cannot list directory", entries.error());
    // A directory no deeper than folder_depth names its own folder; deeper ones inherit.
    const std::string& folder = level <= m_options.folder_depth ? path : parent_folder;
    walk(*child, std::move(*entries), path, level, folder);
  }

  bool is_excluded(std::string_view path) const {
    return std::any_of(m_options.exclude.begin(), m_options.exclude.end(),
                       [&](const std::string& pattern) { return glob_match(pattern, path); });
  }

  void add_file(std::vector<LocalFile>& files, std::string path, const EntryStat& stat) {
    files.push_back(LocalFile{std::move(path), stat.size, stat.mtime_ns, stat.inode, stat.ctime_ns});
    m_total_bytes += stat.size;
    ++m_file_count;
  }

  void skip_warning(std::string path, std::string reason) {
    m_skipped.push_back(SkippedEntry{std::move(path), std::move(reason), false});
  }
  void skip_error(std::string path, std::string reason) {
    m_skipped.push_back(SkippedEntry{std::move(path), std::move(reason), true});
  }
  void skip_error(std::string path, std::string_view what, const Error& error) {
    skip_error(std::move(path), std::string(what) + ": " + error.message);
  }

  const ScanOptions& m_options;
  std::map<std::string, std::vector<LocalFile>> m_folders; // std::string's order is byte order
  std::vector<SkippedEntry> m_skipped;
  std::uint64_t m_total_bytes = 0;
  std::uint64_t m_file_count = 0;
};

} // namespace

std::string folder_of(std::string_view path, int depth) {
  std::size_t end = std::string_view::npos;
  std::size_t from = 0;
  for (int i = 0; i < depth; ++i) {
    std::size_t slash = path.find('/', from);
    if (slash == std::string_view::npos) break;
    end = slash;
    from = slash + 1;
  }
  return end == std::string_view::npos ? std::string() : std::string(path.substr(0, end));
}

Result<LocalView> scan_repository(const std::filesystem::path& root, const ScanOptions& options) {
  auto dir = Directory::open(root);
  if (!dir) return Unexpected(dir.error().with_context("cannot open repository " + root.string()));
  // Without the root's own listing we know nothing of the repository: an error, not a skip.
  auto entries = dir->list();
  if (!entries) return Unexpected(entries.error().with_context("cannot list repository " + root.string()));
  Walker walker(options);
  std::vector<std::string> tops;
  walker.walk(*dir, std::move(*entries), std::string(), 0, std::string(), &tops);

  std::size_t threads = std::min(k_walk_threads, tops.size());
  std::vector<Walker> walkers(threads, Walker(options));
  std::atomic<std::size_t> next{0};
  auto work = [&](Walker& mine) {
    for (std::size_t i = next++; i < tops.size(); i = next++)
      mine.walk_top(*dir, tops[i]);
  };
  if (threads <= 1) {
    for (const auto& name : tops)
      walker.walk_top(*dir, name);
  } else {
    std::vector<std::thread> running;
    running.reserve(threads - 1);
    for (std::size_t t = 1; t < threads; ++t)
      running.emplace_back(work, std::ref(walkers[t]));
    work(walkers[0]);
    for (auto& thread : running)
      thread.join();
    for (auto& other : walkers)
      walker.merge(std::move(other));
  }
  return std::move(walker).finish();
}

} // namespace offsite::repo
