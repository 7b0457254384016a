#pragma once
// Reading a repository file for hashing and upload. A changed file is read once per sync
// (BRIEF §5.9): the upload path opens one FileReader, and each chunk it reads feeds both the
// Xxh3Hasher and the upload. file_reader_posix.cpp holds the system calls.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>

#include "util/error.hpp"

namespace offsite::repo {

// What fstat says of an open file: enough to tell that it changed while we read it.
struct FileStat {
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::int64_t ctime_ns = 0;
  std::uint64_t inode = 0;
  std::uint64_t device = 0;
  friend bool operator==(const FileStat&, const FileStat&) = default;
};

// An open regular file; move-only, closed when destroyed. Reads are positional, so one reader
// may serve several chunk reads in any order.
class FileReader {
public:
  // Opens `file` for reading. The last component is never followed: a symlink fails, as does
  // anything but a regular file (a fifo is refused without blocking on it).
  static Result<FileReader> open(const std::filesystem::path& file);

  // Opens `relative` ('/'-separated) below `root`, following no symlink anywhere below `root`
  // (a directory swapped for a link mid-sync is refused, not followed). "", "." and ".."
  // components are refused.
  static Result<FileReader> open_beneath(const std::filesystem::path& root, std::string_view relative);

  FileReader(FileReader&& other) noexcept;
  FileReader& operator=(FileReader&& other) noexcept;
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;
  ~FileReader();

  // Reads up to buffer.size() bytes at `offset`; fewer only at the end of the file, 0 past it.
  Result<std::size_t> read_at(std::uint64_t offset, std::span<std::byte> buffer) const;

  // The file's state now, and as it was when opened.
  Result<FileStat> stat() const;
  const FileStat& stat_at_open() const { return m_opened; }

  // Tells the kernel the file is read front to back once (larger read-ahead).
  void advise_sequential() const;
  // Asks the kernel to start reading [0, length) into the page cache now, without waiting.
  void advise_will_need(std::uint64_t length) const;
  // Drops [offset, offset + length) from the page cache (length 0: to the end of the file): bytes
  // read that will not be read again, so a sync of large images does not push everything else
  // out of memory. Only whole folios of the range leave (Linux caches a file in folios of up to
  // a few MiB): a range that ends mid-folio leaves that folio.
  void drop_cache(std::uint64_t offset, std::uint64_t length) const;

  const std::filesystem::path& path() const { return m_path; }

private:
  FileReader(int fd, FileStat opened, std::filesystem::path path)
      : m_fd(fd), m_opened(opened), m_path(std::move(path)) {}
  int m_fd = -1;
  FileStat m_opened;
  std::filesystem::path m_path;
};

} // namespace offsite::repo
