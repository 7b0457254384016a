#pragma once
// The local view of a repository: its files grouped into folders (BRIEF §4), with everything
// that cannot be copied listed beside them rather than silently dropped (BRIEF §5.10).

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace offsite::repo {

struct LocalFile {
  std::string path; // relative to the root, '/'-separated, raw bytes as the file system gives them
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::uint64_t inode = 0;
  std::int64_t ctime_ns = 0;
};

// An entry that is not copied: symlinks and special files (is_error = false: a warning), and
// directories or entries the OS would not let us read (is_error = true: the sync fails after
// committing the rest, so the problem is never missed for long).
struct SkippedEntry {
  std::string path;
  std::string reason; // "symbolic link, not followed", "special file (fifo)", "cannot open directory: ..."
  bool is_error = false;
};

struct LocalFolder {
  std::string path;             // "" for the root folder
  std::vector<LocalFile> files; // sorted by path, byte order
};

struct LocalView {
  std::vector<LocalFolder> folders;  // sorted by path, byte order; no empty folders
  std::vector<SkippedEntry> skipped; // sorted by path
  std::uint64_t total_bytes = 0;
  std::uint64_t file_count = 0;
};

struct ScanOptions {
  int folder_depth = 2;
  std::vector<std::string> exclude; // glob patterns (util/glob.hpp), assumed well formed
};

// The folder a file belongs to: the first `depth` directory components of its path, or all of
// them if it has fewer; "" for a file at the root or when depth <= 0.
std::string folder_of(std::string_view path, int depth);

// Walks `root`. Fails only if the root itself cannot be opened or listed (the message names it);
// every problem below the root becomes a SkippedEntry. `<root>/.offsite/` is never part of the
// view, and nothing below the root is followed through a symlink.
Result<LocalView> scan_repository(const std::filesystem::path& root, const ScanOptions& options);

} // namespace offsite::repo
