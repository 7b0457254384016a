#pragma once
// The scanner's window on the file system: directories opened relative to their parent, entries
// listed and stat'ed without ever following a symbolic link. directory_reader_posix.cpp holds
// every system call behind it (openat, fdopendir, readdir, fstatat), so a Windows build swaps
// that one file and the scanner stays as it is.
//
// Errors carry only the OS's reason ("Permission denied"); the caller knows the path and names
// it, which saves building a path string for every entry of a large tree.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace offsite::repo {

enum class EntryType { regular, directory, symlink, fifo, socket, character_device, block_device, unknown };

// "fifo", "socket", "character device", ...: for messages about special files.
std::string_view describe(EntryType type);

// What lstat says of an entry (nothing is followed).
struct EntryStat {
  EntryType type = EntryType::unknown;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::int64_t ctime_ns = 0;
  std::uint64_t inode = 0;
  std::uint64_t device = 0;
};

struct DirectoryEntry {
  std::string name;
  // From the listing itself (d_type): lets the walker open a subdirectory without a stat. `unknown`
  // where the file system does not say; then stat_child() decides.
  EntryType type_hint = EntryType::unknown;
};

// An open directory; move-only, closed when destroyed.
class Directory {
public:
  // Opens `path` itself. Symlinks within `path` are followed: the configured repository root may
  // legitimately be one (/srv/backups -> /mnt/array). Nothing below it is ever followed.
  static Result<Directory> open(const std::filesystem::path& path);

  Directory(Directory&& other) noexcept;
  Directory& operator=(Directory&& other) noexcept;
  Directory(const Directory&) = delete;
  Directory& operator=(const Directory&) = delete;
  ~Directory();

  // Opens the subdirectory `name`; fails (never follows) if `name` is a symlink by then.
  Result<Directory> open_child(const std::string& name) const;

  // Every entry except "." and "..", in the file system's order. Reads the listing once;
  // a second call returns an empty list.
  Result<std::vector<DirectoryEntry>> list();

  // lstat of the entry `name`.
  Result<EntryStat> stat_child(const std::string& name) const;

private:
  explicit Directory(void* stream) : m_stream(stream) {}
  void* m_stream = nullptr; // DIR*, kept out of this header
};

} // namespace offsite::repo
