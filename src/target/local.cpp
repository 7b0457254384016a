#include "target/local.hpp"

#include <cerrno>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "target/local_owed_syncs.hpp"
#include "target/local_platform.hpp"
#include "util/log.hpp"
#include "util/offload.hpp"

namespace offsite::target {
namespace {

// A remote path resolved under the target path: `relative` includes the folder, so creating
// parents never creates the configured target path itself (it must exist, BRIEF §4).
struct Location {
  std::filesystem::path target_path;
  std::string relative;
  std::filesystem::path absolute;
};

Location locate(const std::filesystem::path& target_path, std::string_view folder, std::string_view path) {
  auto relative = join_path(folder, path);
  auto absolute = relative.empty() ? target_path : target_path / relative;
  return Location{target_path, std::move(relative), std::move(absolute)};
}

Error os_error(int errnum, const std::filesystem::path& path, std::string_view action) {
  auto what = fmt::format("{}: {}", path.string(), action);
  if (errnum == EFBIG)
    return Error{ErrorKind::permanent, fmt::format("{}: file too large for the target filesystem (FAT32 holds at "
                                                   "most 4 GiB - 1 bytes per file)",
                                                   what)};
  if (errnum == ENOTEMPTY) return Error{ErrorKind::permanent, fmt::format("{}: directory not empty", what)};
  return error_from_errno(errnum, what);
}

Unexpected<Error> fail(int errnum, const std::filesystem::path& path, std::string_view action) {
  return Unexpected(os_error(errnum, path, action));
}

Result<void> sync_parent(const std::filesystem::path& path) {
  auto parent = path.parent_path();
  if (int rc = platform::sync_directory(parent); rc != 0) return fail(rc, parent, "cannot sync directory");
  return {};
}

// mkdir -p of `relative` under `base`; each directory that gained an entry owes a sync.
Result<void> make_directories(const std::filesystem::path& base, std::string_view relative, LocalOwedSyncs& owed) {
  auto current = base;
  while (!relative.empty()) {
    auto slash = relative.find('/');
    current /= std::string(relative.substr(0, slash));
    relative = slash == std::string_view::npos ? std::string_view() : relative.substr(slash + 1);
    int rc = platform::make_directory(current);
    if (rc == 0) {
      owed.defer_parent(current);
      continue;
    }
    if (rc != EEXIST) return fail(rc, current, "cannot create directory");
    platform::FileInfo info;
    if (platform::stat_nofollow(current, info) != 0 || !info.is_directory)
      return make_error(ErrorKind::permanent, fmt::format("{}: exists and is not a directory", current.string()));
  }
  return {};
}

Result<void> make_parents(const Location& where, LocalOwedSyncs& owed) {
  return make_directories(where.target_path, parent_path(where.relative), owed);
}

// Opens `where` with `open` (a File member), creating missing parents once on ENOENT.
template <class Open>
int open_creating_parents(platform::File& file, const Location& where, Open open, Error& error, LocalOwedSyncs& owed) {
  int rc = (file.*open)(where.absolute);
  if (rc != ENOENT) return rc;
  if (auto made = make_parents(where, owed); !made) {
    error = made.error();
    return -1;
  }
  return (file.*open)(where.absolute);
}

Result<void> check_regular_file(const Location& where) {
  platform::FileInfo info;
  if (int rc = platform::stat_nofollow(where.absolute, info); rc != 0) return fail(rc, where.absolute, "not found");
  if (!info.is_regular) return make_error(ErrorKind::permanent, fmt::format("{}: not a file", where.absolute.string()));
  return {};
}

// Rewrites the probe cache when a rename method was found unsupported on this filesystem.
void remember_downgrade(RenameMethod before, RenameMethod after, const std::filesystem::path& state_dir,
                        const std::filesystem::path& root) {
  if (before == after) return;
  log::warning("target.rename_method_downgraded",
               {{"root", root.string()}, {"from", to_string(before)}, {"to", to_string(after)}});
  if (auto written = write_probe_cache(state_dir, root, after); !written)
    log::warning("target.probe_cache_not_written", {{"error", written.error().message}});
}

// How a step's own directory change becomes durable: now (a commit point, a removal), or with the
// next flush (see local_owed_syncs.hpp).
enum class Durable { now, deferred };

// Syncs every owed directory, then `dir`: the step just taken is durable, and so is everything
// before it. `dir` itself is synced once, last (it is usually owed already: a commit point's
// temporary name was made beside it).
Result<void> sync_now(LocalOwedSyncs& owed, const std::filesystem::path& dir) {
  owed.forget(dir);
  if (auto flushed = owed.flush(); !flushed) {
    owed.defer(dir);
    return flushed;
  }
  if (int rc = platform::sync_directory(dir); rc != 0) return fail(rc, dir, "cannot sync directory");
  return {};
}

// Moves `from` to the new name `to`, creating to's parents; both directories are synced as
// `durable` says.
Result<void> move_to_new(RenameMethod& method, const Location& from, const Location& to, LocalOwedSyncs& owed,
                         Durable durable) {
  int rc = move_exclusively(method, from.absolute, to.absolute);
  if (rc == ENOENT) {
    if (auto made = make_parents(to, owed); !made) return made;
    rc = move_exclusively(method, from.absolute, to.absolute);
  }
  if (rc == EEXIST)
    return make_error(ErrorKind::already_exists, fmt::format("{}: already exists", to.absolute.string()));
  if (rc != 0) return fail(rc, to.absolute, fmt::format("cannot move {} here", from.absolute.string()));
  owed.file_moved(from.absolute, to.absolute);
  if (from.absolute.parent_path() != to.absolute.parent_path()) owed.defer_parent(from.absolute);
  if (durable == Durable::now) return sync_now(owed, to.absolute.parent_path());
  owed.defer_parent(to.absolute);
  return {};
}

Result<void> write_whole(const Location& where, platform::File& file, std::string_view bytes) {
  auto span = std::as_bytes(std::span(bytes.data(), bytes.size()));
  if (int rc = file.write_at(span, 0); rc != 0) return fail(rc, where.absolute, "cannot write");
  if (int rc = file.sync(); rc != 0) return fail(rc, where.absolute, "cannot sync");
  file.close();
  return {};
}

// Creates `where` exclusively (O_EXCL) holding `bytes`, fsync'd: write_new_file's final name where
// renames cannot be exclusive. Its name is durable at once or with the next flush, as `durable`
// says.
Result<void> create_new_file(const Location& where, std::string_view bytes, LocalOwedSyncs& owed, Durable durable) {
  platform::File file;
  Error error;
  int rc = open_creating_parents(file, where, &platform::File::create_exclusive, error, owed);
  if (rc < 0) return Unexpected(error);
  if (rc == EEXIST)
    return make_error(ErrorKind::already_exists, fmt::format("{}: already exists", where.absolute.string()));
  if (rc != 0) return fail(rc, where.absolute, "cannot create");
  auto written = write_whole(where, file, bytes);
  if (!written) {
    platform::remove_file(where.absolute);
    return written;
  }
  if (durable == Durable::now) return sync_now(owed, where.absolute.parent_path());
  owed.defer_parent(where.absolute);
  return {};
}

// Creates `where` exclusively holding `bytes`, and owes its fsync and its name
// (local_owed_syncs.hpp) instead of paying them now: a temporary about to be renamed, durable with
// the next flush. A commit point flushes between writing its temporary and renaming it, so its
// bytes are synced in the same batch as everything it references (one journal commit for all,
// not one more of its own); a folder manifest waits for the record that references it.
Result<void> create_owed_file(const Location& where, std::string_view bytes, LocalOwedSyncs& owed) {
  auto file = std::make_shared<platform::File>();
  Error error;
  int rc = open_creating_parents(*file, where, &platform::File::create_exclusive, error, owed);
  if (rc < 0) return Unexpected(error);
  if (rc == EEXIST)
    return make_error(ErrorKind::already_exists, fmt::format("{}: already exists", where.absolute.string()));
  if (rc != 0) return fail(rc, where.absolute, "cannot create");
  if (int written = file->write_at(std::as_bytes(std::span(bytes.data(), bytes.size())), 0); written != 0) {
    platform::remove_file(where.absolute);
    return fail(written, where.absolute, "cannot write");
  }
  owed.defer_parent(where.absolute);
  if (owed.defer_file(where.absolute, std::move(file)) < LocalOwedSyncs::kMaxOwedFiles) return {};
  auto synced = owed.flush_files();
  if (!synced) {
    platform::remove_file(where.absolute); // if its own sync failed, the flush removed it already
    owed.file_removed(where.absolute);
  }
  return synced;
}

class LocalUpload final : public Upload {
public:
  LocalUpload(asio::thread_pool& pool, std::filesystem::path path, platform::File file, std::uint64_t position,
              std::shared_ptr<LocalOwedSyncs> owed)
      : m_pool(pool), m_path(std::move(path)), m_file(std::make_shared<platform::File>(std::move(file))),
        m_position(position), m_owed(std::move(owed)) {}

  asio::awaitable<Result<void>> write(std::span<const std::byte> bytes) override {
    if (!m_file->is_open())
      co_return make_error(ErrorKind::permanent, fmt::format("{}: upload closed", m_path.string()));
    auto work = [file = m_file, bytes, position = m_position, path = m_path]() -> Result<void> {
      if (int rc = file->write_at(bytes, position); rc != 0) return fail(rc, path, "cannot write");
      // This chunk heads for the disk now, while the next one is read: the fsync of the commit
      // point then waits for the last chunks only, not the whole file. Next day of the bench
      // repository (its 300 MiB full is the last to finish), cold: median 0.79 s -> 0.73 s over
      // 6 runs each. What came before the previous chunk is on the disk by now, mostly: its
      // pages leave the page cache (drop behind, local_owed_syncs.hpp) while the upload goes on,
      // not all at once at the commit point, where freeing a large file's pages would hold it up.
      file->start_writeback(position, bytes.size());
      if (position > bytes.size()) file->drop_cache(0, position - bytes.size());
      return {};
    };
    auto pending = offload(m_pool, std::move(work));
    auto written = co_await std::move(pending);
    if (written) m_position += bytes.size();
    co_return written;
  }

  asio::awaitable<Result<std::uint64_t>> finish() override {
    if (!m_file->is_open())
      co_return make_error(ErrorKind::permanent, fmt::format("{}: upload closed", m_path.string()));
    // The bytes and the name are durable with the next commit point, which is the first thing
    // that relies on them (local_owed_syncs.hpp): this slot goes on to read the next file now.
    auto work = [file = m_file, path = m_path, owed = m_owed]() -> Result<std::uint64_t> {
      std::uint64_t size = 0;
      if (int rc = file->size(size); rc != 0) return fail(rc, path, "cannot stat");
      owed->defer_parent(path);
      if (owed->defer_file(path, file) >= LocalOwedSyncs::kMaxOwedFiles)
        if (auto synced = owed->flush_files(); !synced) return Unexpected(std::move(synced).error());
      return size;
    };
    auto pending = offload(m_pool, std::move(work));
    co_return co_await std::move(pending);
  }

  asio::awaitable<Result<void>> abort() override {
    // Closing needs no pool trip: close(2) of a regular file does not wait for the disk.
    m_file->close();
    co_return Result<void>{};
  }

  std::string resume_token() const override { return {}; }

private:
  asio::thread_pool& m_pool;
  std::filesystem::path m_path;
  std::shared_ptr<platform::File> m_file;
  std::uint64_t m_position;
  std::shared_ptr<LocalOwedSyncs> m_owed;
};

class LocalDownload final : public Download {
public:
  LocalDownload(asio::thread_pool& pool, std::filesystem::path path, platform::File file, std::uint64_t offset)
      : m_pool(pool), m_path(std::move(path)), m_file(std::make_shared<platform::File>(std::move(file))),
        m_position(offset) {}

  asio::awaitable<Result<std::size_t>> read(std::span<std::byte> bytes) override {
    auto work = [file = m_file, bytes, position = m_position, path = m_path]() -> Result<std::size_t> {
      std::size_t done = 0;
      if (int rc = file->read_at(bytes, position, done); rc != 0) return fail(rc, path, "cannot read");
      return done;
    };
    auto pending = offload(m_pool, std::move(work));
    auto got = co_await std::move(pending);
    if (got) m_position += *got;
    co_return got;
  }

private:
  asio::thread_pool& m_pool;
  std::filesystem::path m_path;
  std::shared_ptr<platform::File> m_file;
  std::uint64_t m_position;
};

struct ConnectInfo {
  RenameMethod method = RenameMethod::renameat2;
  std::uint64_t max_file_size = 0;
};

Result<ConnectInfo> connect_blocking(const std::filesystem::path& target_path, const std::filesystem::path& root,
                                     const std::filesystem::path& state_dir) {
  std::error_code ec;
  auto status = std::filesystem::status(target_path, ec); // the target path may be a symlink to a mount
  if (!std::filesystem::exists(status))
    return make_error(ErrorKind::permanent, fmt::format("{}: the target path does not exist", target_path.string()));
  if (!std::filesystem::is_directory(status))
    return make_error(ErrorKind::permanent,
                      fmt::format("{}: the target path is not a directory", target_path.string()));
  platform::FileInfo info;
  int rc = platform::stat_nofollow(root, info);
  if (rc == 0 && !info.is_directory)
    return make_error(ErrorKind::permanent, fmt::format("{}: exists and is not a directory", root.string()));
  if (rc != 0 && rc != ENOENT) return fail(rc, root, "cannot stat");

  ConnectInfo result;
  result.max_file_size = platform::max_file_size(target_path);
  if (auto cached = read_probe_cache(state_dir, root)) {
    result.method = *cached;
    return result;
  }
  auto probed = probe_rename_method(rc == 0 ? root : target_path);
  if (!probed) {
    // A read-only target can still be verified and restored from; renames will find their way.
    log::debug("target.rename_probe_failed", {{"error", probed.error().message}});
    return result;
  }
  result.method = *probed;
  if (auto written = write_probe_cache(state_dir, root, result.method); !written)
    log::warning("target.probe_cache_not_written", {{"error", written.error().message}});
  return result;
}

} // namespace

LocalTarget::LocalTarget(std::filesystem::path target_path, std::string folder, asio::thread_pool& pool,
                         std::filesystem::path state_dir)
    : m_target_path(std::move(target_path)), m_folder(std::move(folder)),
      m_root(m_folder.empty() ? m_target_path : m_target_path / m_folder), m_pool(pool),
      m_state_dir(std::move(state_dir)), m_owed(std::make_shared<LocalOwedSyncs>()) {}

LocalTarget::~LocalTarget() {
  // Every sync ends with a removal (its lease) that flushed already; this covers the others.
  if (auto flushed = m_owed->flush(); !flushed)
    log::warning("target.deferred_sync_failed", {{"error", flushed.error().message}});
}

std::size_t LocalTarget::owed_directory_syncs() const { return m_owed->owed_directories(); }
std::size_t LocalTarget::owed_file_syncs() const { return m_owed->owed_files(); }
std::size_t LocalTarget::directory_syncs_made() const { return m_owed->directories_synced(); }

std::filesystem::path LocalTarget::absolute(std::string_view path) const {
  return path.empty() ? m_root : m_root / path;
}

Capabilities LocalTarget::capabilities() const {
  Capabilities caps;
  caps.replace_is_atomic = true;
  caps.partial_is_visible = true;
  caps.exclusive_rename = true; // every RenameMethod refuses an existing name
  caps.direct_upload_safe = false;
  caps.server_side_copy = true;
  caps.reports_free_space = true;
  caps.cheap_reads = true;
  caps.max_connections = 4;
  caps.max_file_size = m_max_file_size;
  return caps;
}

std::string LocalTarget::describe() const { return fmt::format("local:{}", m_root.string()); }

asio::awaitable<Result<void>> LocalTarget::connect() {
  if (auto valid = check_path(m_folder); !valid)
    co_return make_error(ErrorKind::config, fmt::format("invalid folder \"{}\": {}", m_folder, valid.error().message));
  auto work = [target_path = m_target_path, root = m_root, state_dir = m_state_dir] {
    return connect_blocking(target_path, root, state_dir);
  };
  auto pending = offload(m_pool, std::move(work));
  auto connected = co_await std::move(pending);
  if (!connected) co_return Unexpected(std::move(connected).error());
  m_method = connected->method;
  m_max_file_size = connected->max_file_size;
  co_return Result<void>{};
}

asio::awaitable<Result<RemoteEntry>> LocalTarget::stat(std::string path) {
  if (auto valid = check_path(path); !valid) co_return Unexpected(valid.error());
  auto work = [absolute = absolute(path), name = std::string(last_component(path))]() -> Result<RemoteEntry> {
    platform::FileInfo info;
    if (int rc = platform::stat_nofollow(absolute, info); rc != 0) return fail(rc, absolute, "cannot stat");
    return RemoteEntry{name, info.is_directory, info.size, info.mtime_ns};
  };
  auto pending = offload(m_pool, std::move(work));
  co_return co_await std::move(pending);
}

asio::awaitable<Result<std::vector<RemoteEntry>>> LocalTarget::list(std::string dir) {
  if (auto valid = check_path(dir); !valid) co_return Unexpected(valid.error());
  auto work = [absolute = absolute(dir)]() -> Result<std::vector<RemoteEntry>> {
    std::vector<platform::DirectoryEntry> found;
    if (int rc = platform::list_directory(absolute, found); rc != 0) return fail(rc, absolute, "cannot list");
    std::vector<RemoteEntry> entries;
    entries.reserve(found.size());
    for (auto& entry : found)
      entries.push_back(
          RemoteEntry{std::move(entry.name), entry.info.is_directory, entry.info.size, entry.info.mtime_ns});
    return entries;
  };
  auto pending = offload(m_pool, std::move(work));
  co_return co_await std::move(pending);
}

asio::awaitable<Result<void>> LocalTarget::make_directory(std::string path) {
  if (auto valid = check_path(path); !valid) co_return valid;
  auto work = [where = locate(m_target_path, m_folder, path), owed = m_owed] {
    return make_directories(where.target_path, where.relative, *owed);
  };
  auto pending = offload(m_pool, std::move(work));
  co_return co_await std::move(pending);
}

asio::awaitable<Result<std::unique_ptr<Upload>>> LocalTarget::start_upload(std::string path, UploadOptions options) {
  if (auto valid = check_path(path); !valid) co_return Unexpected(valid.error());
  auto where = locate(m_target_path, m_folder, path);
  if (m_max_file_size != 0 && options.expected_size > m_max_file_size)
    co_return Unexpected(os_error(EFBIG, where.absolute, fmt::format("cannot hold {} bytes", options.expected_size)));
  auto work = [where, offset = options.offset, owed = m_owed]() -> Result<platform::File> {
    platform::File file;
    Error error;
    int rc = open_creating_parents(file, where, &platform::File::open_write, error, *owed);
    if (rc < 0) return Unexpected(error);
    if (rc != 0) return fail(rc, where.absolute, "cannot open for upload");
    std::uint64_t size = 0;
    if (rc = file.size(size); rc != 0) return fail(rc, where.absolute, "cannot stat");
    if (offset > size)
      return make_error(ErrorKind::permanent, fmt::format("{}: cannot resume at byte {}: only {} bytes uploaded",
                                                          where.absolute.string(), offset, size));
    if (size != offset)
      if (rc = file.truncate(offset); rc != 0) return fail(rc, where.absolute, "cannot truncate");
    return file;
  };
  auto pending = offload(m_pool, std::move(work));
  auto opened = co_await std::move(pending);
  if (!opened) co_return Unexpected(std::move(opened).error());
  co_return std::make_unique<LocalUpload>(m_pool, where.absolute, std::move(*opened), options.offset, m_owed);
}

asio::awaitable<Result<std::uint64_t>> LocalTarget::uploaded_size(std::string path, std::string /*resume_token*/) {
  auto entry = co_await stat(std::move(path));
  if (!entry) co_return Unexpected(std::move(entry).error());
  co_return entry->size;
}

asio::awaitable<Result<std::string>> LocalTarget::read_file(std::string path, std::uint64_t max_size) {
  if (auto valid = check_path(path); !valid) co_return Unexpected(valid.error());
  auto work = [absolute = absolute(path), max_size]() -> Result<std::string> {
    platform::File file;
    if (int rc = file.open_read(absolute); rc != 0) return fail(rc, absolute, "cannot open");
    std::uint64_t size = 0;
    if (int rc = file.size(size); rc != 0) return fail(rc, absolute, "cannot read");
    if (size > max_size)
      return make_error(ErrorKind::permanent, fmt::format("{}: file is {} bytes, more than the {} allowed",
                                                          absolute.string(), size, max_size));
    std::string content(size, '\0');
    std::size_t done = 0;
    while (done < content.size()) {
      std::size_t got = 0;
      auto rest = std::as_writable_bytes(std::span(content)).subspan(done);
      if (int rc = file.read_at(rest, done, got); rc != 0) return fail(rc, absolute, "cannot read");
      if (got == 0) break; // shrank while we read
      done += got;
    }
    content.resize(done);
    return content;
  };
  auto pending = offload(m_pool, std::move(work));
  co_return co_await std::move(pending);
}

asio::awaitable<Result<void>> LocalTarget::write_new_file(std::string path, FileBytes bytes) {
  co_return co_await write_new(std::move(path), std::move(bytes), true);
}

asio::awaitable<Result<void>> LocalTarget::write_new_file_deferred(std::string path, FileBytes bytes) {
  co_return co_await write_new(std::move(path), std::move(bytes), false);
}

asio::awaitable<Result<void>> LocalTarget::write_new(std::string path, FileBytes bytes, bool commit_point) {
  if (auto valid = check_path(path); !valid) co_return valid;
  if (path.empty()) co_return make_error(ErrorKind::permanent, "write_new_file: the root is not a file");
  auto where = locate(m_target_path, m_folder, path);
  auto temporary = locate(m_target_path, m_folder, temporary_path_beside(path));
  // A commit point: it and everything before it are durable when it returns.
  auto durable = commit_point ? Durable::now : Durable::deferred;
  auto work = [where, temporary, bytes = std::move(bytes), method = m_method, state_dir = m_state_dir, root = m_root,
               owed = m_owed, durable]() mutable -> std::pair<Result<void>, RenameMethod> {
    // A commit point counts from the moment its name can be seen (a journal may make the name
    // durable before this returns), so what it references is made durable before it appears.
    if (method == RenameMethod::exclusive_create) {
      if (durable == Durable::now)
        if (auto flushed = owed->flush(); !flushed) return {flushed, method};
      return {create_new_file(where, *bytes, *owed, durable), method};
    }
    // Written whole under a temporary name, then brought in by an exclusive rename: readers
    // never see a torn file, and an existing name is never replaced.
    auto drop_temporary = [&] {
      platform::remove_file(temporary.absolute);
      owed->file_removed(temporary.absolute);
    };
    auto staged = create_owed_file(temporary, *bytes, *owed);
    if (!staged) return {staged, method};
    if (durable == Durable::now) {
      if (auto flushed = owed->flush(); !flushed) {
        drop_temporary();
        return {flushed, method};
      }
    }
    auto before = method;
    auto moved = move_to_new(method, temporary, where, *owed, durable);
    if (!moved) drop_temporary();
    remember_downgrade(before, method, state_dir, root);
    return {moved, method};
  };
  auto pending = offload(m_pool, std::move(work));
  auto [written, used] = co_await std::move(pending);
  m_method = used;
  co_return written;
}

asio::awaitable<Result<std::unique_ptr<Download>>> LocalTarget::open_download(std::string path, std::uint64_t offset) {
  if (auto valid = check_path(path); !valid) co_return Unexpected(valid.error());
  auto work = [absolute = absolute(path)]() -> Result<platform::File> {
    platform::File file;
    if (int rc = file.open_read(absolute); rc != 0) return fail(rc, absolute, "cannot open");
    std::uint64_t size = 0;
    if (int rc = file.size(size); rc != 0) return fail(rc, absolute, "cannot read");
    return file;
  };
  auto pending = offload(m_pool, std::move(work));
  auto opened = co_await std::move(pending);
  if (!opened) co_return Unexpected(std::move(opened).error());
  co_return std::make_unique<LocalDownload>(m_pool, absolute(path), std::move(*opened), offset);
}

asio::awaitable<Result<void>> LocalTarget::rename_to_new(std::string from, std::string to) {
  if (auto valid = check_path(from); !valid) co_return valid;
  if (auto valid = check_path(to); !valid) co_return valid;
  auto work = [source = locate(m_target_path, m_folder, from), destination = locate(m_target_path, m_folder, to),
               method = m_method, state_dir = m_state_dir, root = m_root,
               owed = m_owed]() mutable -> std::pair<Result<void>, RenameMethod> {
    if (auto regular = check_regular_file(source); !regular) return {regular, method};
    auto before = method;
    auto moved = move_to_new(method, source, destination, *owed, Durable::deferred);
    remember_downgrade(before, method, state_dir, root);
    return {moved, method};
  };
  auto pending = offload(m_pool, std::move(work));
  auto [moved, used] = co_await std::move(pending);
  m_method = used;
  co_return moved;
}

asio::awaitable<Result<void>> LocalTarget::remove(std::string path) {
  if (auto valid = check_path(path); !valid) co_return valid;
  // What a removal assumes is a commit point, durable already (the record that stopped naming the
  // file); the removal itself is durable with the next flush.
  auto work = [absolute = absolute(path), owed = m_owed]() -> Result<void> {
    platform::FileInfo info;
    if (int rc = platform::stat_nofollow(absolute, info); rc != 0) return fail(rc, absolute, "cannot remove");
    if (info.is_directory)
      return make_error(ErrorKind::permanent, fmt::format("{}: cannot remove: is a directory", absolute.string()));
    if (int rc = platform::remove_file(absolute); rc != 0) return fail(rc, absolute, "cannot remove");
    owed->file_removed(absolute);
    owed->defer_parent(absolute);
    return {};
  };
  auto pending = offload(m_pool, std::move(work));
  co_return co_await std::move(pending);
}

asio::awaitable<Result<void>> LocalTarget::remove_directory(std::string path) {
  if (auto valid = check_path(path); !valid) co_return valid;
  // Durable with the next flush, like a file's removal: what ends a roll-forward waits for the
  // apply's make_durable(), not for this.
  auto work = [absolute = absolute(path), owed = m_owed]() -> Result<void> {
    int rc = platform::remove_directory(absolute);
    if (rc == EEXIST) rc = ENOTEMPTY;
    if (rc != 0) return fail(rc, absolute, "cannot remove directory");
    owed->forget(absolute); // what it owed went with it
    owed->defer_parent(absolute);
    return {};
  };
  auto pending = offload(m_pool, std::move(work));
  co_return co_await std::move(pending);
}

asio::awaitable<Result<void>> LocalTarget::make_durable() {
  auto work = [owed = m_owed] { return owed->flush(); };
  auto pending = offload(m_pool, std::move(work));
  co_return co_await std::move(pending);
}

asio::awaitable<Result<void>> LocalTarget::copy(std::string from, std::string to) {
  if (auto valid = check_path(from); !valid) co_return valid;
  if (auto valid = check_path(to); !valid) co_return valid;
  if (to.empty()) co_return make_error(ErrorKind::permanent, "copy: the root is not a file");
  auto temporary_path = temporary_path_beside(to);
  auto work = [source = locate(m_target_path, m_folder, from), destination = locate(m_target_path, m_folder, to),
               temporary = locate(m_target_path, m_folder, temporary_path), owed = m_owed]() -> Result<void> {
    if (auto regular = check_regular_file(source); !regular) return regular;
    if (auto made = make_parents(destination, *owed); !made) return made;
    // Copied aside and renamed over `to`, so `to` is replaced atomically (replace_is_atomic).
    if (int rc = copy_file_contents(source.absolute, temporary.absolute, true); rc != 0)
      return fail(rc, destination.absolute, fmt::format("cannot copy {} here", source.absolute.string()));
    if (auto flushed = owed->flush(); !flushed) return flushed;
    if (int rc = platform::rename_replace(temporary.absolute, destination.absolute); rc != 0) {
      platform::remove_file(temporary.absolute);
      return fail(rc, destination.absolute, "cannot rename copy");
    }
    return sync_parent(destination.absolute);
  };
  auto pending = offload(m_pool, std::move(work));
  co_return co_await std::move(pending);
}

asio::awaitable<Result<std::optional<std::uint64_t>>> LocalTarget::free_space() {
  auto work = [root = m_root, target_path = m_target_path]() -> Result<std::optional<std::uint64_t>> {
    std::uint64_t available = 0;
    int rc = platform::free_space(root, available);
    if (rc == ENOENT) rc = platform::free_space(target_path, available); // the folder is not made yet
    if (rc != 0) return fail(rc, root, "cannot read free space");
    return std::optional<std::uint64_t>(available);
  };
  auto pending = offload(m_pool, std::move(work));
  co_return co_await std::move(pending);
}

} // namespace offsite::target
