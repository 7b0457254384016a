#include "util/fs.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "util/uuid.hpp"

namespace offsite::fs {
namespace {

class FileDescriptor {
public:
  explicit FileDescriptor(int fd) : m_fd(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (m_fd >= 0) ::close(m_fd);
  }
  int get() const { return m_fd; }
  int release() { return std::exchange(m_fd, -1); }

private:
  int m_fd;
};

Result<void> write_all(int fd, std::string_view bytes, const std::filesystem::path& path) {
  while (!bytes.empty()) {
    ssize_t written = ::write(fd, bytes.data(), bytes.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return Unexpected(error_from_errno(errno, fmt::format("cannot write {}", path.string())));
    }
    bytes.remove_prefix(static_cast<size_t>(written));
  }
  return {};
}

} // namespace

Result<std::string> read_file(const std::filesystem::path& path, std::uint64_t max_size) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return Unexpected(error_from_errno(errno, fmt::format("cannot open {}", path.string())));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    return Unexpected(error_from_errno(errno, fmt::format("cannot stat {}", path.string())));
  if (static_cast<std::uint64_t>(st.st_size) > max_size)
    return make_error(ErrorKind::permanent, fmt::format("{}: file is {} bytes, more than the {} allowed", path.string(),
                                                        st.st_size, max_size));
  // Read into a string of the size fstat gave; a file that grew since is read on through a small
  // buffer, so the common case holds the bytes once instead of in a string grown to twice its size.
  std::string content;
  content.resize(static_cast<size_t>(st.st_size));
  size_t done = 0;
  char more[4096];
  for (;;) {
    bool into_content = done < content.size();
    char* into = into_content ? content.data() + done : more;
    size_t room = into_content ? content.size() - done : sizeof more;
    ssize_t got = ::read(fd.get(), into, room);
    if (got < 0) {
      if (errno == EINTR) continue;
      return Unexpected(error_from_errno(errno, fmt::format("cannot read {}", path.string())));
    }
    if (got == 0) break;
    if (!into_content) content.append(more, static_cast<size_t>(got));
    done += static_cast<size_t>(got);
    if (done > max_size)
      return make_error(ErrorKind::permanent, fmt::format("{}: file grew beyond {} bytes", path.string(), max_size));
  }
  content.resize(done);
  return content;
}

Result<void> sync_directory(const std::filesystem::path& dir) {
  FileDescriptor fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return Unexpected(error_from_errno(errno, fmt::format("cannot open directory {}", dir.string())));
  if (::fsync(fd.get()) != 0 && errno != EINVAL) // some filesystems cannot fsync a directory
    return Unexpected(error_from_errno(errno, fmt::format("cannot fsync directory {}", dir.string())));
  return {};
}

namespace {

Result<void> write_replacing(const std::filesystem::path& path, const PieceProducer& produce, unsigned mode,
                             bool durable) {
  auto dir = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  auto temporary = dir / fmt::format(".{}.{}.tmp", path.filename().string(), generate_uuid().substr(0, 8));
  FileDescriptor fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (fd.get() < 0) return Unexpected(error_from_errno(errno, fmt::format("cannot create {}", temporary.string())));
  auto cleanup = [&] { ::unlink(temporary.c_str()); };
  if (::fchmod(fd.get(), mode) != 0) { // the umask must not widen or narrow what we promise
    cleanup();
    return Unexpected(error_from_errno(errno, fmt::format("cannot chmod {}", temporary.string())));
  }
  PieceWriter write = [&](std::string_view piece) { return write_all(fd.get(), piece, temporary); };
  if (auto written = produce(write); !written) {
    cleanup();
    return written;
  }
  if (durable && ::fsync(fd.get()) != 0) {
    cleanup();
    return Unexpected(error_from_errno(errno, fmt::format("cannot fsync {}", temporary.string())));
  }
  ::close(fd.release());
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    int saved = errno;
    cleanup();
    return Unexpected(
        error_from_errno(saved, fmt::format("cannot rename {} to {}", temporary.string(), path.string())));
  }
  return durable ? sync_directory(dir) : Result<void>{};
}

} // namespace

Result<void> write_file_atomically(const std::filesystem::path& path, std::string_view bytes, unsigned mode) {
  return write_replacing(
      path, [bytes](const PieceWriter& write) { return write(bytes); }, mode, true);
}

Result<void> write_file_atomically(const std::filesystem::path& path, const PieceProducer& produce, unsigned mode) {
  return write_replacing(path, produce, mode, true);
}

Result<void> write_file_unsynced(const std::filesystem::path& path, std::string_view bytes, unsigned mode) {
  return write_replacing(
      path, [bytes](const PieceWriter& write) { return write(bytes); }, mode, false);
}

Result<void> create_file_exclusively(const std::filesystem::path& path, std::string_view bytes, unsigned mode) {
  auto dir = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  auto temporary = dir / fmt::format(".{}.{}.tmp", path.filename().string(), generate_uuid().substr(0, 8));
  if (auto written = write_file_atomically(temporary, bytes, mode); !written) return written;
  int linked = ::link(temporary.c_str(), path.c_str());
  int saved = errno;
  ::unlink(temporary.c_str());
  if (linked != 0) {
    if (saved == EEXIST) return make_error(ErrorKind::already_exists, fmt::format("{} exists already", path.string()));
    return Unexpected(error_from_errno(saved, fmt::format("cannot create {}", path.string())));
  }
  return sync_directory(dir);
}

Result<void> create_directories(const std::filesystem::path& dir, unsigned mode) {
  std::filesystem::path partial;
  for (const auto& component : dir) {
    partial /= component;
    if (::mkdir(partial.c_str(), mode) != 0 && errno != EEXIST)
      return Unexpected(error_from_errno(errno, fmt::format("cannot create directory {}", partial.string())));
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return make_error(ErrorKind::permanent, fmt::format("{} exists and is not a directory", dir.string()));
  return {};
}

} // namespace offsite::fs
