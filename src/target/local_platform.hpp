#pragma once
// The operating-system calls the local target needs, kept behind one small interface so a Windows
// build swaps local_platform_posix.cpp for one file (MoveFileEx without REPLACE_EXISTING,
// FlushFileBuffers, GetDiskFreeSpaceEx). Blocking: call only from the offload pool.
//
// Functions return 0 or an errno value (Windows maps its codes onto errno values), so local.cpp
// can tell "not supported here" from a real failure and choose a fallback.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace offsite::target::platform {

struct FileInfo {
  bool is_directory = false;
  bool is_regular = false;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
};

struct DirectoryEntry {
  std::string name;
  FileInfo info;
};

// Does not follow a symbolic link in the last component.
int stat_nofollow(const std::filesystem::path& path, FileInfo& out);
// Entries other than "." and ".."; entries that vanish while listed are left out.
int list_directory(const std::filesystem::path& dir, std::vector<DirectoryEntry>& out);
int make_directory(const std::filesystem::path& dir); // one level; EEXIST if present
int remove_file(const std::filesystem::path& path);
int remove_directory(const std::filesystem::path& dir);
// fsync of a directory, so a create, rename or remove inside it survives a power cut. Filesystems
// that cannot sync a directory count as success.
int sync_directory(const std::filesystem::path& dir);

// rename(2) without replacing: EEXIST when `to` exists; EINVAL or ENOSYS where the filesystem or
// kernel cannot promise that (NFS, FAT, old kernels).
int rename_noreplace(const std::filesystem::path& from, const std::filesystem::path& to);
// rename(2), replacing `to` atomically.
int rename_replace(const std::filesystem::path& from, const std::filesystem::path& to);
// A second name for a file: EEXIST when `to` exists; EPERM or EOPNOTSUPP where unsupported (FAT).
int hard_link(const std::filesystem::path& from, const std::filesystem::path& to);

// Bytes available to an unprivileged user on the filesystem holding `path`.
int free_space(const std::filesystem::path& path, std::uint64_t& out);
// The largest file the filesystem holding `path` can store; 0 if unlimited or unknown.
std::uint64_t max_file_size(const std::filesystem::path& path);

// An open file. Never follows a symbolic link in the last component.
class File final {
public:
  File() = default;
  File(File&& other) noexcept;
  File& operator=(File&& other) noexcept;
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  ~File();

  int open_read(const std::filesystem::path& path);
  int open_write(const std::filesystem::path& path);       // creates if missing, keeps content
  int create_exclusive(const std::filesystem::path& path); // EEXIST if present
  bool is_open() const;
  void close();

  int size(std::uint64_t& out) const;
  int truncate(std::uint64_t size);
  // All of `bytes` at `offset`, or an error.
  int write_at(std::span<const std::byte> bytes, std::uint64_t offset);
  // Up to bytes.size() bytes at `offset`; `done` is 0 at the end.
  int read_at(std::span<std::byte> bytes, std::uint64_t offset, std::size_t& done);
  int sync();
  // Starts writing [offset, offset + length) to the disk (length 0: to the end) without waiting
  // for it (Linux: sync_file_range with SYNC_FILE_RANGE_WRITE; elsewhere nothing). A hint:
  // errors are ignored.
  void start_writeback(std::uint64_t offset, std::uint64_t length);
  // Drops the clean pages of [offset, offset + length) (length 0: to the end) from the page
  // cache (Linux: POSIX_FADV_DONTNEED, which neither waits for nor drops pages still being
  // written; elsewhere nothing). A hint: errors are ignored.
  void drop_cache(std::uint64_t offset = 0, std::uint64_t length = 0);

private:
  std::intptr_t m_handle = -1;
};

} // namespace offsite::target::platform
