#include "repo/file_reader.hpp"

#include <cerrno>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "repo/timespec.hpp"

namespace offsite::repo {
namespace {

FileStat to_file_stat(const struct stat& st) {
  return FileStat{st.st_size < 0 ? 0u : static_cast<std::uint64_t>(st.st_size), nanoseconds(st.st_mtim),
                  nanoseconds(st.st_ctim), static_cast<std::uint64_t>(st.st_ino),
                  static_cast<std::uint64_t>(st.st_dev)};
}

class Descriptor {
public:
  explicit Descriptor(int fd) : m_fd(fd) {}
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  ~Descriptor() { reset(-1); }
  void reset(int fd) {
    if (m_fd >= 0) ::close(m_fd);
    m_fd = fd;
  }
  int get() const { return m_fd; }
  int release() { return std::exchange(m_fd, -1); }

private:
  int m_fd;
};

// O_NONBLOCK: opening a fifo for reading would otherwise wait for a writer. It is cleared once we
// know the file is regular (where it has no effect anyway).
constexpr int k_open_flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;

// Shared by both opens: checks what was opened and takes ownership of `raw_fd`.
Result<FileReader> adopt(int raw_fd, const std::filesystem::path& path,
                         auto make) { // make(fd, stat) builds the reader
  if (raw_fd < 0) {
    if (errno == ELOOP)
      return make_error(ErrorKind::permanent, fmt::format("{}: is a symbolic link, not followed", path.string()));
    return Unexpected(error_from_errno(errno, fmt::format("cannot open {}", path.string())));
  }
  Descriptor fd(raw_fd);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    return Unexpected(error_from_errno(errno, fmt::format("cannot stat {}", path.string())));
  if (!S_ISREG(st.st_mode))
    return make_error(ErrorKind::permanent, fmt::format("{}: not a regular file", path.string()));
  ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
  return make(fd.release(), to_file_stat(st));
}

} // namespace

Result<FileReader> FileReader::open(const std::filesystem::path& file) {
  return adopt(::open(file.c_str(), k_open_flags), file,
               [&](int fd, FileStat stat) { return FileReader(fd, stat, file); });
}

Result<FileReader> FileReader::open_beneath(const std::filesystem::path& root, std::string_view relative) {
  auto full = root / std::filesystem::path(relative);
  Descriptor dir(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) return Unexpected(error_from_errno(errno, fmt::format("cannot open {}", root.string())));
  for (;;) {
    auto slash = relative.find('/');
    auto component = std::string(relative.substr(0, slash));
    if (component.empty() || component == "." || component == "..")
      return make_error(ErrorKind::permanent, fmt::format("{}: not a plain relative path", full.string()));
    if (slash == std::string_view::npos)
      return adopt(::openat(dir.get(), component.c_str(), k_open_flags), full,
                   [&](int fd, FileStat stat) { return FileReader(fd, stat, full); });
    Descriptor next(::openat(dir.get(), component.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (next.get() < 0) {
      int saved = errno;
      // With O_DIRECTORY, Linux reports a symlink as ENOTDIR rather than ELOOP: ask lstat which.
      struct stat st {};
      if (saved == ELOOP ||
          (saved == ENOTDIR && ::fstatat(dir.get(), component.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
           S_ISLNK(st.st_mode)))
        return make_error(ErrorKind::permanent,
                          fmt::format("{}: a directory on its path is a symbolic link, not followed", full.string()));
      return Unexpected(error_from_errno(saved, fmt::format("cannot open {}", full.string())));
    }
    dir.reset(next.release());
    relative.remove_prefix(slash + 1);
  }
}

FileReader::FileReader(FileReader&& other) noexcept
    : m_fd(std::exchange(other.m_fd, -1)), m_opened(other.m_opened), m_path(std::move(other.m_path)) {}

FileReader& FileReader::operator=(FileReader&& other) noexcept {
  std::swap(m_fd, other.m_fd);
  std::swap(m_opened, other.m_opened);
  std::swap(m_path, other.m_path);
  return *this;
}

FileReader::~FileReader() {
  if (m_fd >= 0) ::close(m_fd);
}

Result<std::size_t> FileReader::read_at(std::uint64_t offset, std::span<std::byte> buffer) const {
  std::size_t done = 0;
  while (done < buffer.size()) {
    ssize_t got = ::pread(m_fd, buffer.data() + done, buffer.size() - done, static_cast<off_t>(offset + done));
    if (got < 0) {
      if (errno == EINTR) continue;
      return Unexpected(error_from_errno(errno, fmt::format("cannot read {}", m_path.string())));
    }
    if (got == 0) break;
    done += static_cast<std::size_t>(got);
  }
  return done;
}

Result<FileStat> FileReader::stat() const {
  struct stat st {};
  if (::fstat(m_fd, &st) != 0)
    return Unexpected(error_from_errno(errno, fmt::format("cannot stat {}", m_path.string())));
  return to_file_stat(st);
}

void FileReader::advise_sequential() const { ::posix_fadvise(m_fd, 0, 0, POSIX_FADV_SEQUENTIAL); }

void FileReader::advise_will_need(std::uint64_t length) const {
  ::posix_fadvise(m_fd, 0, static_cast<off_t>(length), POSIX_FADV_WILLNEED);
}

void FileReader::drop_cache(std::uint64_t offset, std::uint64_t length) const {
  ::posix_fadvise(m_fd, static_cast<off_t>(offset), static_cast<off_t>(length), POSIX_FADV_DONTNEED);
}

} // namespace offsite::repo
