// Restoring the committed state into a local directory.
//
// What restore trusts, and why. The committed state alone (BRIEF §5.1): the highest valid commit
// record owned by the ID the remote folder holds, and the folder manifests it names, each checked
// against the size and hash the record gives. It does not compare that ID with a local one:
// restore is what runs when the local repository and its ID are gone, so the remote's own ID is
// the owner. Every byte written is checked against the manifest's XXH3-128 before it gets its
// name: a file is written under a temporary name, hashed as it streams in, and renamed only if
// size and hash match, so a file under its real name is always a good one, and a damaged copy on
// the remote is reported, never handed over.
//
// Restore writes nothing on the remote: no lease, no recovery. A sync interrupted after its
// commit may have left committed files in staging (the record's `pending`); while a staged copy
// exists it holds the committed bytes (the final path may hold an older file of the same size),
// so it is read from there, as recovery would move it (BRIEF §5.3).
//
// What it does not trust: the names in the manifests, even though the reader has checked them
// (no `..`, no absolute or empty component, no NUL), and the destination tree while it is being
// written. So the destination must be empty or new (nothing is ever overwritten; a file is
// renamed into place only if its name is still free), and every directory is entered with
// O_NOFOLLOW from the one before it: a symlink planted under the destination is never followed,
// and restore never creates one. Nothing can be written outside the destination.

#include "sync/restore.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <memory>
#include <span>
#include <utility>

#include <fmt/format.h>

#include "manifest/remote_path.hpp"
#include "sync/lanes.hpp"
#include "sync/verify.hpp"
#include "target/target.hpp"
#include "util/fs.hpp"
#include "util/hash128.hpp"
#include "util/offload.hpp"

namespace offsite::sync {
namespace {

// --- The local side: POSIX, kept to this section ------------------------------------------------

class Fd {
public:
  explicit Fd(int fd = -1) : m_fd(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (m_fd >= 0) ::close(m_fd);
  }
  int get() const { return m_fd; }
  int release() { return std::exchange(m_fd, -1); }
  void reset(int fd) {
    if (m_fd >= 0) ::close(m_fd);
    m_fd = fd;
  }

private:
  int m_fd;
};

// Opens the directory that will hold `relative`, creating the missing ones (0750), each entered
// from its parent with O_NOFOLLOW, so no symlink is ever followed.
Result<int> open_parent(int root_fd, const std::string& relative, const std::filesystem::path& root) {
  Fd dir(::fcntl(root_fd, F_DUPFD_CLOEXEC, 0));
  if (dir.get() < 0) return Unexpected(error_from_errno(errno, root.string()));
  std::size_t start = 0;
  for (auto slash = relative.find('/'); slash != std::string::npos; slash = relative.find('/', start)) {
    auto component = relative.substr(start, slash - start);
    auto shown = (root / relative.substr(0, slash)).string();
    if (::mkdirat(dir.get(), component.c_str(), 0750) != 0 && errno != EEXIST)
      return Unexpected(error_from_errno(errno, "create directory " + shown));
    int next = ::openat(dir.get(), component.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0) {
      int saved = errno;
      if (saved == ELOOP || saved == ENOTDIR)
        return make_error(ErrorKind::permanent,
                          fmt::format("{}: not a directory (symbolic links are not followed)", shown));
      return Unexpected(error_from_errno(saved, "open directory " + shown));
    }
    dir.reset(next);
    start = slash + 1;
  }
  return dir.release();
}

// One file being restored: a temporary name beside its final one, removed unless committed.
class RestoreFile {
public:
  static Result<std::unique_ptr<RestoreFile>> create(int root_fd, std::filesystem::path root, std::string relative) {
    auto parent = open_parent(root_fd, relative, root);
    if (!parent) return Unexpected(std::move(parent).error());
    std::unique_ptr<RestoreFile> file(new RestoreFile(*parent, root / relative, relative));
    for (int attempt = 0;; ++attempt) {
      file->m_temp = fmt::format(".offsite-restore-{}-{}", ::getpid(), attempt);
      int fd =
          ::openat(file->m_dir.get(), file->m_temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
      if (fd >= 0) {
        file->m_fd.reset(fd);
        return file;
      }
      if (errno != EEXIST || attempt == 100)
        return Unexpected(error_from_errno(errno, "create a temporary file beside " + file->m_shown));
    }
  }

  RestoreFile(const RestoreFile&) = delete;
  RestoreFile& operator=(const RestoreFile&) = delete;
  ~RestoreFile() {
    if (!m_committed && !m_temp.empty()) ::unlinkat(m_dir.get(), m_temp.c_str(), 0);
  }

  Result<void> write(std::span<const std::byte> bytes) {
    while (!bytes.empty()) {
      auto written = ::write(m_fd.get(), bytes.data(), bytes.size());
      if (written < 0) {
        if (errno == EINTR) continue;
        return Unexpected(error_from_errno(errno, "write " + m_shown));
      }
      bytes = bytes.subspan(static_cast<std::size_t>(written));
    }
    return {};
  }

  // Sets the manifest's mtime, makes the bytes durable, and gives the file its name, which must
  // still be free: nothing is ever replaced.
  Result<void> commit(std::int64_t mtime_ns) {
    constexpr std::int64_t k_ns = 1'000'000'000;
    std::int64_t seconds = mtime_ns / k_ns, nanos = mtime_ns % k_ns;
    if (nanos < 0) seconds -= 1, nanos += k_ns;
    struct timespec times[2] = {{0, UTIME_OMIT}, {static_cast<time_t>(seconds), static_cast<long>(nanos)}};
    if (::futimens(m_fd.get(), times) != 0) return Unexpected(error_from_errno(errno, "set the mtime of " + m_shown));
    if (::fdatasync(m_fd.get()) != 0) return Unexpected(error_from_errno(errno, "sync " + m_shown));
    if (::close(m_fd.release()) != 0) return Unexpected(error_from_errno(errno, "close " + m_shown));
    auto name = std::filesystem::path(m_relative).filename().string();
    if (::renameat2(m_dir.get(), m_temp.c_str(), m_dir.get(), name.c_str(), RENAME_NOREPLACE) != 0) {
      if (errno != EINVAL && errno != ENOSYS) return Unexpected(error_from_errno(errno, "rename into " + m_shown));
      // A file system without RENAME_NOREPLACE: check, then rename (the tree is ours alone).
      struct stat existing;
      if (::fstatat(m_dir.get(), name.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0)
        return Unexpected(error_from_errno(EEXIST, "rename into " + m_shown));
      if (::renameat(m_dir.get(), m_temp.c_str(), m_dir.get(), name.c_str()) != 0)
        return Unexpected(error_from_errno(errno, "rename into " + m_shown));
    }
    m_committed = true;
    return {};
  }

private:
  RestoreFile(int dir, const std::filesystem::path& shown, std::string relative)
      : m_dir(dir), m_shown(shown.string()), m_relative(std::move(relative)) {}

  Fd m_dir;
  Fd m_fd;
  std::string m_shown;    // the local path, for messages
  std::string m_relative; // relative to the destination
  std::string m_temp;     // inside m_dir
  bool m_committed = false;
};

// --- The remote side ----------------------------------------------------------------------------

struct Destination {
  int root_fd;
  std::filesystem::path root;
};

std::string where(const target::Target& target, const std::string& path) {
  return path.empty() ? target.describe() : target.describe() + "/" + path;
}

bool aborts_restore(const Error& error) {
  return error.kind == ErrorKind::transient || error.kind == ErrorKind::cancelled;
}

// Restores one committed file; its own failures go to the report.
asio::awaitable<Result<void>> restore_file(target::Target& target, asio::thread_pool& pool, Destination destination,
                                           manifest::FileEntry entry, std::optional<std::string> staged,
                                           RestoreReport& report) {
  auto fail = [&](std::string remote, const Error& error) {
    report.failures.push_back({entry.path, std::move(remote), error.message});
  };
  if (auto valid = manifest::validate_relative_path(entry.path); !valid) {
    fail(where(target, entry.path), valid.error());
    co_return Result<void>{};
  }
  auto copy = co_await locate_committed_copy(target, entry, staged);
  if (!copy) {
    if (aborts_restore(copy.error())) co_return Unexpected(std::move(copy).error());
    fail(where(target, entry.path), copy.error());
    co_return Result<void>{};
  }
  auto from = where(target, copy->remote_path);
  if (copy->apply_pending)
    report.warnings.push_back(fmt::format("{}: read from staging ({}): its apply is pending", entry.path, from));
  auto creator = [destination, path = entry.path] {
    return RestoreFile::create(destination.root_fd, destination.root, path);
  };
  auto file = co_await offload(pool, std::move(creator));
  if (!file) {
    fail(from, file.error());
    co_return Result<void>{};
  }
  ChunkSink into_file = [restored = file->get()](std::span<const std::byte> chunk) { return restored->write(chunk); };
  auto downloaded = co_await hash_remote_file(target, copy->remote_path, &pool, std::move(into_file));
  if (!downloaded) {
    if (aborts_restore(downloaded.error())) co_return Unexpected(std::move(downloaded).error());
    fail(from, downloaded.error());
    co_return Result<void>{};
  }
  if (downloaded->size != entry.size || downloaded->hash != entry.xxh3_128) {
    fail(from, Error{ErrorKind::permanent,
                     fmt::format("content differs: {} bytes with XXH3-128 {}, committed {} bytes with {}; not restored",
                                 downloaded->size, downloaded->hash.to_hex(), entry.size, entry.xxh3_128.to_hex())});
    co_return Result<void>{};
  }
  auto committer = [raw = file->get(), mtime = entry.mtime_ns] { return raw->commit(mtime); };
  if (auto committed = co_await offload(pool, std::move(committer)); !committed) {
    fail(from, committed.error());
    co_return Result<void>{};
  }
  report.files_restored += 1;
  report.bytes_restored += entry.size;
  co_return Result<void>{};
}

// The files of a restore, taken four at a time (lanes.hpp): on a remote, each file is round trips
// that would otherwise follow one another; on a local disk, each file's fdatasync, which four
// lanes share in one journal commit. Restoring files-20k from a local mirror took 12 s one file
// at a time.
struct RestoreWork {
  std::vector<std::pair<const manifest::FileEntry*, std::optional<std::string>>> files; // and its staged copy
  std::size_t next = 0;
  std::optional<Error> abort; // a failure that stops the whole restore (transient, cancelled)
};

asio::awaitable<void> restore_lane(target::Target& target, asio::thread_pool& pool, Destination destination,
                                   RestoreWork& work, RestoreReport& report) {
  while (!work.abort) {
    std::size_t index = work.next++;
    if (index >= work.files.size()) break;
    const auto& entry = *work.files[index].first;
    const auto& staged = work.files[index].second;
    auto restored = co_await restore_file(target, pool, destination, entry, staged, report);
    if (!restored && !work.abort) work.abort = std::move(restored).error();
  }
}

std::string folder_list(const CommittedState& committed) {
  std::string list;
  for (const auto& [path, manifest] : committed.folders)
    list += fmt::format("{}\"{}\"", list.empty() ? "" : ", ", path);
  return list.empty() ? "(none)" : list;
}

} // namespace

Result<void> prepare_destination(const std::filesystem::path& destination) {
  std::error_code ec;
  auto status = std::filesystem::status(destination, ec); // DIR itself as the user named it
  if (ec && ec != std::errc::no_such_file_or_directory)
    return make_error(ErrorKind::permanent, fmt::format("{}: {}", destination.string(), ec.message()));
  if (!std::filesystem::exists(status)) return fs::create_directories(destination, 0750);
  if (!std::filesystem::is_directory(status))
    return make_error(ErrorKind::permanent, fmt::format("{}: not a directory", destination.string()));
  std::filesystem::directory_iterator entries(destination, ec);
  if (ec) return make_error(ErrorKind::permanent, fmt::format("{}: {}", destination.string(), ec.message()));
  if (entries != std::filesystem::directory_iterator())
    return make_error(ErrorKind::permanent,
                      fmt::format("{}: not empty; restore writes only into an empty or new directory, so that "
                                  "nothing is ever overwritten",
                                  destination.string()));
  return {};
}

asio::awaitable<Result<RestoreReport>> restore_committed(target::Target& target, asio::thread_pool& pool,
                                                         RestoreRequest request) {
  auto preparer = [destination = request.destination] { return prepare_destination(destination); };
  if (auto prepared = co_await offload(pool, std::move(preparer)); !prepared) co_return Unexpected(prepared.error());

  // The remote's own ID is the owner: restore runs when the local ID may be gone.
  std::optional<std::string> any_owner; // named locals: no temporaries inside a co_await (GCC 12)
  std::string name;
  auto owned = co_await read_owned_state(target, any_owner, name);
  if (!owned) co_return Unexpected(std::move(owned).error());
  const auto& committed = owned->scan.committed;
  if (!committed.record)
    co_return make_error(ErrorKind::not_found, fmt::format("{}: nothing is committed there yet, so there is nothing "
                                                           "to restore",
                                                           where(target, "")));
  if (request.folder && !committed.folders.count(*request.folder))
    co_return make_error(ErrorKind::config, fmt::format("folder \"{}\" is not committed on {}; committed folders: {}",
                                                        *request.folder, target.describe(), folder_list(committed)));

  RestoreReport report;
  report.remote_id = owned->remote_id;
  report.generation = committed.generation();
  report.committed_at = committed.record->committed_at;
  report.warnings = owned->scan.warnings;

  int root_fd = ::open(request.destination.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) co_return Unexpected(error_from_errno(errno, "open " + request.destination.string()));
  Fd root(root_fd);
  Destination destination{root.get(), request.destination};
  auto pending = pending_by_path(committed);
  RestoreWork work;
  for (const auto& [folder, manifest] : committed.folders) {
    if (request.folder && folder != *request.folder) continue;
    report.folders.push_back(folder);
    for (const auto& entry : manifest.files) {
      auto it = pending.find(entry.path);
      auto staged = it == pending.end() ? std::optional<std::string>() : std::optional<std::string>(it->second);
      work.files.emplace_back(&entry, std::move(staged));
    }
  }
  auto first_own_warning = report.warnings.size();
  auto lane = [&target, &pool, destination, &work, &report] {
    return restore_lane(target, pool, destination, work, report);
  };
  co_await run_in_lanes(lane);
  if (work.abort) co_return Unexpected(std::move(*work.abort));
  // The lanes finish files in any order; the report lists them by path, the same on every run.
  std::sort(report.failures.begin(), report.failures.end(),
            [](const RestoreFailure& a, const RestoreFailure& b) { return a.path < b.path; });
  std::sort(report.warnings.begin() + static_cast<std::ptrdiff_t>(first_own_warning), report.warnings.end());
  co_return report;
}

} // namespace offsite::sync
