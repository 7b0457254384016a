#include "repo/directory_reader.hpp"

#include <cerrno>
#include <cstring>
#include <utility>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "repo/timespec.hpp"

namespace offsite::repo {
namespace {

DIR* stream(void* handle) { return static_cast<DIR*>(handle); }

// The OS's reason alone; the caller adds the path.
Error os_error(int errnum) {
  Error error = error_from_errno(errnum, "");
  error.message = std::strerror(errnum);
  return error;
}

EntryType type_of_mode(mode_t mode) {
  if (S_ISREG(mode)) return EntryType::regular;
  if (S_ISDIR(mode)) return EntryType::directory;
  if (S_ISLNK(mode)) return EntryType::symlink;
  if (S_ISFIFO(mode)) return EntryType::fifo;
  if (S_ISSOCK(mode)) return EntryType::socket;
  if (S_ISCHR(mode)) return EntryType::character_device;
  if (S_ISBLK(mode)) return EntryType::block_device;
  return EntryType::unknown;
}

EntryType type_of_dirent(unsigned char d_type) {
  switch (d_type) {
  case DT_REG: return EntryType::regular;
  case DT_DIR: return EntryType::directory;
  case DT_LNK: return EntryType::symlink;
  case DT_FIFO: return EntryType::fifo;
  case DT_SOCK: return EntryType::socket;
  case DT_CHR: return EntryType::character_device;
  case DT_BLK: return EntryType::block_device;
  default: return EntryType::unknown;
  }
}

Result<Directory> wrap(int fd, auto make) {
  if (fd < 0) return Unexpected(os_error(errno));
  DIR* dir = ::fdopendir(fd); // takes ownership of fd on success
  if (!dir) {
    int saved = errno;
    ::close(fd);
    return Unexpected(os_error(saved));
  }
  return make(dir);
}

} // namespace

std::string_view describe(EntryType type) {
  switch (type) {
  case EntryType::regular: return "regular file";
  case EntryType::directory: return "directory";
  case EntryType::symlink: return "symbolic link";
  case EntryType::fifo: return "fifo";
  case EntryType::socket: return "socket";
  case EntryType::character_device: return "character device";
  case EntryType::block_device: return "block device";
  case EntryType::unknown: break;
  }
  return "unknown file type";
}

Result<Directory> Directory::open(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  return wrap(fd, [](DIR* dir) { return Directory(dir); });
}

Directory::Directory(Directory&& other) noexcept : m_stream(std::exchange(other.m_stream, nullptr)) {}

Directory& Directory::operator=(Directory&& other) noexcept {
  std::swap(m_stream, other.m_stream);
  return *this;
}

Directory::~Directory() {
  if (m_stream) ::closedir(stream(m_stream));
}

Result<Directory> Directory::open_child(const std::string& name) const {
  int fd = ::openat(::dirfd(stream(m_stream)), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  return wrap(fd, [](DIR* dir) { return Directory(dir); });
}

Result<std::vector<DirectoryEntry>> Directory::list() {
  std::vector<DirectoryEntry> entries;
  for (;;) {
    errno = 0;
    const struct dirent* entry = ::readdir(stream(m_stream));
    if (!entry) {
      if (errno != 0) return Unexpected(os_error(errno));
      break;
    }
    const char* name = entry->d_name;
    if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) continue;
    entries.push_back(DirectoryEntry{name, type_of_dirent(entry->d_type)});
  }
  return entries;
}

Result<EntryStat> Directory::stat_child(const std::string& name) const {
  struct stat st {};
  if (::fstatat(::dirfd(stream(m_stream)), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    return Unexpected(os_error(errno));
  return EntryStat{type_of_mode(st.st_mode),
                   st.st_size < 0 ? 0u : static_cast<std::uint64_t>(st.st_size),
                   nanoseconds(st.st_mtim),
                   nanoseconds(st.st_ctim),
                   static_cast<std::uint64_t>(st.st_ino),
                   static_cast<std::uint64_t>(st.st_dev)};
}

} // namespace offsite::repo
