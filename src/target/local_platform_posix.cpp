#include "target/local_platform.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <utility>

namespace offsite::target::platform {
namespace {

FileInfo info_from(const struct stat& st) {
  FileInfo info;
  info.is_directory = S_ISDIR(st.st_mode);
  info.is_regular = S_ISREG(st.st_mode);
  info.size = info.is_directory ? 0 : static_cast<std::uint64_t>(st.st_size);
  info.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  return info;
}

int result_of(int rc) { return rc == 0 ? 0 : errno; }

constexpr int k_open_flags = O_CLOEXEC | O_NOFOLLOW;

} // namespace

int stat_nofollow(const std::filesystem::path& path, FileInfo& out) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return errno;
  out = info_from(st);
  return 0;
}

int list_directory(const std::filesystem::path& dir, std::vector<DirectoryEntry>& out) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | k_open_flags);
  if (fd < 0) return errno;
  DIR* stream = ::fdopendir(fd);
  if (!stream) {
    int saved = errno;
    ::close(fd);
    return saved;
  }
  int result = 0;
  for (;;) {
    errno = 0;
    struct dirent* entry = ::readdir(stream);
    if (!entry) {
      result = errno;
      break;
    }
    std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    struct stat st {};
    if (::fstatat(fd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue; // removed while we listed
      result = errno;
      break;
    }
    out.push_back(DirectoryEntry{std::string(name), info_from(st)});
  }
  ::closedir(stream);
  return result;
}

int make_directory(const std::filesystem::path& dir) { return result_of(::mkdir(dir.c_str(), 0755)); }
int remove_file(const std::filesystem::path& path) { return result_of(::unlink(path.c_str())); }
int remove_directory(const std::filesystem::path& dir) { return result_of(::rmdir(dir.c_str())); }

int sync_directory(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  int result = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  return result == EINVAL || result == EROFS ? 0 : result; // some filesystems cannot sync a directory
}

int rename_noreplace(const std::filesystem::path& from, const std::filesystem::path& to) {
  return result_of(::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE));
}

int rename_replace(const std::filesystem::path& from, const std::filesystem::path& to) {
  return result_of(::rename(from.c_str(), to.c_str()));
}

int hard_link(const std::filesystem::path& from, const std::filesystem::path& to) {
  return result_of(::link(from.c_str(), to.c_str()));
}

int free_space(const std::filesystem::path& path, std::uint64_t& out) {
  struct statvfs st {};
  if (::statvfs(path.c_str(), &st) != 0) return errno;
  out = static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
  return 0;
}

std::uint64_t max_file_size(const std::filesystem::path& path) {
  struct statfs st {};
  if (::statfs(path.c_str(), &st) != 0) return 0;
  if (st.f_type == MSDOS_SUPER_MAGIC) return (std::uint64_t(1) << 32) - 1; // FAT12/16/32
  return 0;
}

File::File(File&& other) noexcept : m_handle(std::exchange(other.m_handle, -1)) {}
File& File::operator=(File&& other) noexcept {
  if (this != &other) {
    close();
    m_handle = std::exchange(other.m_handle, -1);
  }
  return *this;
}
File::~File() { close(); }

int File::open_read(const std::filesystem::path& path) {
  close();
  int fd = ::open(path.c_str(), O_RDONLY | k_open_flags);
  if (fd < 0) return errno;
  m_handle = fd;
  return 0;
}

int File::open_write(const std::filesystem::path& path) {
  close();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | k_open_flags, 0644);
  if (fd < 0) return errno;
  m_handle = fd;
  return 0;
}

int File::create_exclusive(const std::filesystem::path& path) {
  close();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | k_open_flags, 0644);
  if (fd < 0) return errno;
  m_handle = fd;
  return 0;
}

bool File::is_open() const { return m_handle >= 0; }

void File::close() {
  if (m_handle >= 0) ::close(static_cast<int>(std::exchange(m_handle, -1)));
}

int File::size(std::uint64_t& out) const {
  struct stat st {};
  if (::fstat(static_cast<int>(m_handle), &st) != 0) return errno;
  if (S_ISDIR(st.st_mode)) return EISDIR;
  out = static_cast<std::uint64_t>(st.st_size);
  return 0;
}

int File::truncate(std::uint64_t size) {
  return result_of(::ftruncate(static_cast<int>(m_handle), static_cast<off_t>(size)));
}

int File::write_at(std::span<const std::byte> bytes, std::uint64_t offset) {
  while (!bytes.empty()) {
    ssize_t written = ::pwrite(static_cast<int>(m_handle), bytes.data(), bytes.size(), static_cast<off_t>(offset));
    if (written < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    bytes = bytes.subspan(static_cast<std::size_t>(written));
    offset += static_cast<std::uint64_t>(written);
  }
  return 0;
}

int File::read_at(std::span<std::byte> bytes, std::uint64_t offset, std::size_t& done) {
  for (;;) {
    ssize_t got = ::pread(static_cast<int>(m_handle), bytes.data(), bytes.size(), static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return errno;
    done = static_cast<std::size_t>(got);
    return 0;
  }
}

int File::sync() { return result_of(::fsync(static_cast<int>(m_handle))); }

void File::start_writeback(std::uint64_t offset, std::uint64_t length) {
#ifdef __linux__
  ::sync_file_range(static_cast<int>(m_handle), static_cast<off_t>(offset), static_cast<off_t>(length),
                    SYNC_FILE_RANGE_WRITE);
#else
  (void)offset;
  (void)length;
#endif
}

void File::drop_cache(std::uint64_t offset, std::uint64_t length) {
#ifdef __linux__
  ::posix_fadvise(static_cast<int>(m_handle), static_cast<off_t>(offset), static_cast<off_t>(length),
                  POSIX_FADV_DONTNEED);
#else
  (void)offset;
  (void)length;
#endif
}

} // namespace offsite::target::platform
