// The SFTP target's operations. Each borrows a pooled session for one or a few SFTP calls; a
// session that dies while idle in the pool (a server restart, a firewall's idle timeout) is noticed
// by the first call on it, and that operation is tried once more on a fresh connection before any
// error reaches the retry policy.
//
// SFTP reports few distinct errors (OpenSSH maps most errno values to FAILURE or NO_SUCH_FILE), so
// where the Target contract needs a precise kind, the failure is followed by a stat: a RENAME that
// failed because the new name exists becomes already_exists, a missing parent of the new name is
// created and the RENAME tried again.

#include "target/sftp.hpp"

#include <span>
#include <type_traits>

#include <asio/this_coro.hpp>
#include <fmt/format.h>

#include "target/sftp_files.hpp"
#include "target/sftp_pool.hpp"
#include "util/log.hpp"

namespace offsite::target {
namespace {

using sftp::failure;

RemoteEntry entry_from(std::string name, const LIBSSH2_SFTP_ATTRIBUTES& attributes) {
  RemoteEntry entry;
  entry.name = std::move(name);
  entry.is_directory =
      (attributes.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) && LIBSSH2_SFTP_S_ISDIR(attributes.permissions);
  entry.size = entry.is_directory || !(attributes.flags & LIBSSH2_SFTP_ATTR_SIZE) ? 0 : attributes.filesize;
  if (attributes.flags & LIBSSH2_SFTP_ATTR_ACMODTIME)
    entry.mtime_ns = static_cast<std::int64_t>(attributes.mtime) * 1'000'000'000;
  return entry;
}

std::string trimmed_path(std::string path) {
  while (path.size() > 1 && path.back() == '/')
    path.pop_back();
  return path;
}

// One stat (lstat: a symlink is not followed) on `session`; `rc` is libssh2's result.
asio::awaitable<long> stat_on(net::SshSession& session, const std::string& absolute,
                              LIBSSH2_SFTP_ATTRIBUTES& attributes) {
  auto* sftp = session.sftp();
  auto call = [sftp, &absolute, &attributes] {
    return net::ssh2().sftp_stat_ex(sftp, absolute.c_str(), static_cast<unsigned int>(absolute.size()),
                                    LIBSSH2_SFTP_LSTAT, &attributes);
  };
  co_return co_await session.run(call);
}

// Runs `operation(lease)` on a pooled session; once more on a fresh session when a reused one
// turned out to have died while idle. The operation may keep the lease (an open file).
template <class Operation>
std::invoke_result_t<Operation&, SessionLease&> with_session(std::shared_ptr<SessionPool> pool, Operation operation) {
  for (int attempt = 0;; ++attempt) {
    auto lease = co_await pool->acquire();
    if (!lease) co_return Unexpected(std::move(lease).error());
    bool reused = lease->reused();
    auto result = co_await operation(*lease);
    if (result || attempt > 0 || !reused || (*lease)->healthy()) co_return result;
    log::debug("sftp.idle_session_lost", {{"error", result.error().message}});
  }
}

} // namespace

SftpTarget::SftpTarget(SftpSettings settings)
    : m_settings(std::move(settings)), m_features(std::make_shared<ServerFeatures>()) {
  m_settings.path = trimmed_path(m_settings.path);
  m_root = m_settings.folder.empty() ? m_settings.path
           : m_settings.path == "/"  ? "/" + m_settings.folder
                                     : m_settings.path + "/" + m_settings.folder;
  m_describe = m_settings.ssh.describe + m_root;
}

SftpTarget::~SftpTarget() = default;

Capabilities SftpTarget::capabilities() const {
  Capabilities caps;
  caps.replace_is_atomic = false;
  caps.partial_is_visible = true;
  caps.exclusive_rename = true; // SFTP v3 RENAME refuses an existing name (OpenSSH: link(2))
  caps.direct_upload_safe = false;
  caps.server_side_copy = false;
  caps.reports_free_space = m_features->statvfs;
  caps.max_connections = std::max(m_settings.concurrency, 1);
  return caps;
}

std::string SftpTarget::describe() const { return m_describe; }

std::string SftpTarget::absolute(std::string_view path) const {
  return path.empty() ? m_root : m_root + "/" + std::string(path);
}

std::string SftpTarget::shown(std::string_view path) const {
  return path.empty() ? m_describe : m_describe + "/" + std::string(path);
}

asio::awaitable<Result<void>> SftpTarget::connect() {
  if (auto valid = check_path(m_settings.folder); !valid)
    co_return make_error(ErrorKind::config,
                         fmt::format("invalid folder \"{}\": {}", m_settings.folder, valid.error().message));
  if (!m_pool) {
    auto executor = co_await asio::this_coro::executor;
    auto options = std::make_shared<const net::SshOptions>(m_settings.ssh);
    m_pool = std::make_shared<SessionPool>(options, executor, static_cast<std::size_t>(m_settings.concurrency));
  }
  auto lease = co_await m_pool->acquire();
  if (!lease) co_return Unexpected(std::move(lease).error());
  auto& session = **lease;
  m_cipher = session.cipher();
  log::info("sftp.connected", {{"target", m_describe}, {"cipher", m_cipher}});

  LIBSSH2_SFTP_ATTRIBUTES attributes{};
  auto target_path = m_settings.path;
  auto target_shown = m_settings.ssh.describe + target_path;
  long rc = co_await stat_on(session, target_path, attributes);
  if (rc != 0 && session.error_kind(rc) == ErrorKind::not_found)
    co_return make_error(ErrorKind::permanent, fmt::format("{}: the target path does not exist", target_shown));
  if (rc != 0) co_return Unexpected(failure(session, rc, target_shown, "cannot read the target path"));
  // A symlink to a directory is a fine target path: follow it for this check.
  if (!LIBSSH2_SFTP_S_ISDIR(attributes.permissions) && LIBSSH2_SFTP_S_ISLNK(attributes.permissions)) {
    auto* sftp = session.sftp();
    auto follow = [sftp, &target_path, &attributes] {
      return net::ssh2().sftp_stat_ex(sftp, target_path.c_str(), static_cast<unsigned int>(target_path.size()),
                                      LIBSSH2_SFTP_STAT, &attributes);
    };
    rc = co_await session.run(follow);
    if (rc != 0) co_return Unexpected(failure(session, rc, target_shown, "cannot read the target path"));
  }
  if (!LIBSSH2_SFTP_S_ISDIR(attributes.permissions))
    co_return make_error(ErrorKind::permanent, fmt::format("{}: the target path is not a directory", target_shown));
  rc = co_await stat_on(session, m_root, attributes);
  if (rc == 0 && !LIBSSH2_SFTP_S_ISDIR(attributes.permissions))
    co_return make_error(ErrorKind::permanent, fmt::format("{}: exists and is not a directory", m_describe));
  if (rc != 0 && session.error_kind(rc) != ErrorKind::not_found)
    co_return Unexpected(failure(session, rc, m_describe, "cannot read"));

  LIBSSH2_SFTP_STATVFS space{};
  auto* sftp = session.sftp();
  auto statvfs = [sftp, &target_path, &space] {
    return net::ssh2().sftp_statvfs(sftp, target_path.c_str(), target_path.size(), &space);
  };
  rc = co_await session.run(statvfs);
  m_features->statvfs = rc == 0;
  co_return Result<void>{};
}

asio::awaitable<Result<RemoteEntry>> SftpTarget::stat(std::string path) {
  if (auto valid = check_path(path); !valid) co_return Unexpected(valid.error());
  auto where = absolute(path);
  auto operation = [&](SessionLease& lease) -> asio::awaitable<Result<RemoteEntry>> {
    LIBSSH2_SFTP_ATTRIBUTES attributes{};
    long rc = co_await stat_on(*lease, where, attributes);
    if (rc != 0) co_return Unexpected(failure(*lease, rc, shown(path), "cannot stat"));
    co_return entry_from(std::string(last_component(path)), attributes);
  };
  auto pending = with_session(m_pool, std::move(operation));
  co_return co_await std::move(pending);
}

asio::awaitable<Result<std::vector<RemoteEntry>>> SftpTarget::list(std::string dir) {
  if (auto valid = check_path(dir); !valid) co_return Unexpected(valid.error());
  auto where = absolute(dir);
  auto operation = [&](SessionLease& lease) -> asio::awaitable<Result<std::vector<RemoteEntry>>> {
    auto& session = *lease;
    long rc = 0;
    auto* handle = co_await sftp::open_handle(session, where, 0, 0, LIBSSH2_SFTP_OPENDIR, rc);
    if (!handle) co_return Unexpected(failure(session, rc, shown(dir), "cannot list"));
    std::vector<RemoteEntry> entries;
    std::string name(4096, '\0');
    for (;;) {
      LIBSSH2_SFTP_ATTRIBUTES attributes{};
      auto read = [handle, &name, &attributes] {
        return net::ssh2().sftp_readdir_ex(handle, name.data(), name.size(), nullptr, 0, &attributes);
      };
      rc = co_await session.run(read);
      if (rc == 0) break;
      if (rc < 0) {
        auto error = failure(session, rc, shown(dir), "cannot list");
        session.drop_handle(handle);
        co_return Unexpected(error);
      }
      std::string entry_name(name.data(), static_cast<std::size_t>(rc));
      if (entry_name == "." || entry_name == "..") continue;
      entries.push_back(entry_from(std::move(entry_name), attributes));
    }
    co_await sftp::close_handle(session, handle);
    co_return entries;
  };
  auto pending = with_session(m_pool, std::move(operation));
  co_return co_await std::move(pending);
}

asio::awaitable<Result<void>> SftpTarget::make_directory(std::string path) {
  if (auto valid = check_path(path); !valid) co_return valid;
  // Components from the target path down: the target path itself is never created (BRIEF §4).
  auto relative = join_path(m_settings.folder, path);
  auto operation = [&](SessionLease& lease) -> asio::awaitable<Result<void>> {
    auto& session = *lease;
    LIBSSH2_SFTP_ATTRIBUTES attributes{};
    long rc = co_await stat_on(session, absolute(path), attributes);
    if (rc == 0 && LIBSSH2_SFTP_S_ISDIR(attributes.permissions)) co_return Result<void>{};
    if (rc != 0 && !session.healthy()) co_return Unexpected(failure(session, rc, shown(path), "cannot stat"));
    std::string current = m_settings.path == "/" ? "" : m_settings.path;
    std::string_view rest = relative;
    while (!rest.empty()) {
      auto slash = rest.find('/');
      current += "/" + std::string(rest.substr(0, slash));
      rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
      auto* sftp = session.sftp();
      auto mkdir = [sftp, &current] {
        return net::ssh2().sftp_mkdir_ex(sftp, current.c_str(), static_cast<unsigned int>(current.size()), 0755);
      };
      rc = co_await session.run(mkdir);
      if (rc == 0) continue;
      auto shown_here = m_settings.ssh.describe + current;
      auto error = failure(session, rc, shown_here, "cannot create directory");
      if (!session.healthy()) co_return Unexpected(error);
      long exists = co_await stat_on(session, current, attributes);
      if (exists == 0 && LIBSSH2_SFTP_S_ISDIR(attributes.permissions)) continue;
      if (exists == 0)
        co_return make_error(ErrorKind::permanent, fmt::format("{}: exists and is not a directory", shown_here));
      if (error.kind == ErrorKind::not_found || error.kind == ErrorKind::already_exists)
        error.kind = ErrorKind::permanent;
      co_return Unexpected(error);
    }
    co_return Result<void>{};
  };
  auto pending = with_session(m_pool, std::move(operation));
  co_return co_await std::move(pending);
}

asio::awaitable<Result<std::unique_ptr<Upload>>> SftpTarget::start_upload(std::string path, UploadOptions options) {
  if (auto valid = check_path(path); !valid) co_return Unexpected(valid.error());
  if (path.empty()) co_return make_error(ErrorKind::permanent, "start_upload: the root is not a file");
  auto opened = co_await open_upload(path, options);
  if (opened || opened.error().kind != ErrorKind::not_found) co_return opened;
  auto parent = std::string(parent_path(path));
  if (auto made = co_await make_directory(parent); !made) co_return Unexpected(made.error());
  co_return co_await open_upload(path, options);
}

asio::awaitable<Result<std::unique_ptr<Upload>>> SftpTarget::open_upload(std::string path, UploadOptions options) {
  auto where = absolute(path);
  auto name = shown(path);
  auto operation = [&](SessionLease& lease) -> asio::awaitable<Result<std::unique_ptr<Upload>>> {
    auto& session = *lease;
    unsigned long flags = LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | (options.offset == 0 ? LIBSSH2_FXF_TRUNC : 0);
    long rc = 0;
    auto* handle = co_await sftp::open_handle(session, where, flags, 0644, LIBSSH2_SFTP_OPENFILE, rc);
    if (!handle) co_return Unexpected(failure(session, rc, name, "cannot open for upload"));
    if (options.offset > 0) {
      auto positioned = co_await resume_at(session, handle, options.offset, name);
      if (!positioned) {
        co_await sftp::close_handle(session, handle);
        co_return Unexpected(positioned.error());
      }
    }
    co_return sftp::make_upload(std::move(lease), handle, name, options.offset, m_features);
  };
  auto pending = with_session(m_pool, std::move(operation));
  co_return co_await std::move(pending);
}

asio::awaitable<Result<void>> SftpTarget::resume_at(net::SshSession& session, LIBSSH2_SFTP_HANDLE* handle,
                                                    std::uint64_t offset, std::string name) {
  LIBSSH2_SFTP_ATTRIBUTES attributes{};
  auto fstat = [handle, &attributes] { return net::ssh2().sftp_fstat_ex(handle, &attributes, 0); };
  long rc = co_await session.run(fstat);
  if (rc != 0) co_return Unexpected(failure(session, rc, name, "cannot read the size"));
  if (offset > attributes.filesize)
    co_return make_error(ErrorKind::permanent, fmt::format("{}: cannot resume at byte {}: only {} bytes uploaded", name,
                                                           offset, attributes.filesize));
  if (attributes.filesize != offset) {
    LIBSSH2_SFTP_ATTRIBUTES truncate{};
    truncate.flags = LIBSSH2_SFTP_ATTR_SIZE;
    truncate.filesize = offset;
    auto setstat = [handle, &truncate] { return net::ssh2().sftp_fstat_ex(handle, &truncate, 1); };
    rc = co_await session.run(setstat);
    if (rc != 0) co_return Unexpected(failure(session, rc, name, "cannot truncate"));
  }
  net::ssh2().sftp_seek64(handle, offset); // local only: no packet is sent
  co_return Result<void>{};
}

asio::awaitable<Result<std::uint64_t>> SftpTarget::uploaded_size(std::string path, std::string /*resume_token*/) {
  auto entry = co_await stat(std::move(path));
  if (!entry) co_return Unexpected(std::move(entry).error());
  co_return entry->size;
}

asio::awaitable<Result<std::string>> SftpTarget::read_file(std::string path, std::uint64_t max_size) {
  if (auto valid = check_path(path); !valid) co_return Unexpected(valid.error());
  auto where = absolute(path);
  auto name = shown(path);
  auto operation = [&](SessionLease& lease) -> asio::awaitable<Result<std::string>> {
    auto& session = *lease;
    long rc = 0;
    auto* handle = co_await sftp::open_handle(session, where, LIBSSH2_FXF_READ, 0, LIBSSH2_SFTP_OPENFILE, rc);
    if (!handle) co_return Unexpected(failure(session, rc, name, "cannot open"));
    LIBSSH2_SFTP_ATTRIBUTES attributes{};
    auto fstat = [handle, &attributes] { return net::ssh2().sftp_fstat_ex(handle, &attributes, 0); };
    rc = co_await session.run(fstat);
    if (rc == 0 && attributes.filesize > max_size) {
      co_await sftp::close_handle(session, handle);
      co_return make_error(ErrorKind::permanent, fmt::format("{}: file is {} bytes, more than the {} allowed", name,
                                                             attributes.filesize, max_size));
    }
    std::string content;
    std::string buffer(64 << 10, '\0');
    while (rc == 0) {
      auto read = [handle, &buffer] { return net::ssh2().sftp_read(handle, buffer.data(), buffer.size()); };
      long got = co_await session.run(read);
      if (got < 0) rc = got;
      if (got <= 0) break;
      content.append(buffer.data(), static_cast<std::size_t>(got));
      if (content.size() > max_size) {
        session.drop_handle(handle);
        co_return make_error(ErrorKind::permanent,
                             fmt::format("{}: file grew past the {} bytes allowed", name, max_size));
      }
    }
    if (rc != 0) {
      auto error = failure(session, rc, name, "cannot read");
      session.drop_handle(handle);
      co_return Unexpected(error);
    }
    co_await sftp::close_handle(session, handle);
    co_return content;
  };
  auto pending = with_session(m_pool, std::move(operation));
  co_return co_await std::move(pending);
}

asio::awaitable<Result<void>> SftpTarget::write_new_file(std::string path, FileBytes bytes) {
  if (auto valid = check_path(path); !valid) co_return valid;
  if (path.empty()) co_return make_error(ErrorKind::permanent, "write_new_file: the root is not a file");
  auto temporary = temporary_path_beside(path);
  // Written whole under a temporary name and synced, then brought in by an exclusive RENAME:
  // readers never see a torn file, and an existing name is never replaced.
  UploadOptions options;
  options.expected_size = bytes->size();
  auto started = co_await start_upload(temporary, options);
  if (!started) co_return Unexpected(std::move(started).error());
  Result<void> written;
  if (!bytes->empty()) {
    auto span = std::as_bytes(std::span(bytes->data(), bytes->size()));
    written = co_await (*started)->write(span);
  }
  if (written) {
    auto finished = co_await (*started)->finish();
    if (!finished) written = Unexpected(std::move(finished).error());
  }
  if (!written) {
    co_await (*started)->abort();
    started->reset();
    co_await remove(temporary);
    co_return written;
  }
  started->reset();
  auto moved = co_await rename_to_new(temporary, path);
  if (!moved) co_await remove(temporary);
  co_return moved;
}

asio::awaitable<Result<std::unique_ptr<Download>>> SftpTarget::open_download(std::string path, std::uint64_t offset) {
  if (auto valid = check_path(path); !valid) co_return Unexpected(valid.error());
  auto where = absolute(path);
  auto name = shown(path);
  auto operation = [&](SessionLease& lease) -> asio::awaitable<Result<std::unique_ptr<Download>>> {
    long rc = 0;
    auto* handle = co_await sftp::open_handle(*lease, where, LIBSSH2_FXF_READ, 0, LIBSSH2_SFTP_OPENFILE, rc);
    if (!handle) co_return Unexpected(failure(*lease, rc, name, "cannot open"));
    if (offset > 0) net::ssh2().sftp_seek64(handle, offset);
    co_return sftp::make_download(std::move(lease), handle, name);
  };
  auto pending = with_session(m_pool, std::move(operation));
  co_return co_await std::move(pending);
}

asio::awaitable<Result<void>> SftpTarget::rename_to_new(std::string from, std::string to) {
  if (auto valid = check_path(from); !valid) co_return valid;
  if (auto valid = check_path(to); !valid) co_return valid;
  bool parent_missing = false;
  auto moved = co_await rename_once(from, to, parent_missing);
  if (moved || !parent_missing) co_return moved;
  auto parent = std::string(parent_path(to));
  if (auto made = co_await make_directory(parent); !made) co_return made;
  co_return co_await rename_once(from, to, parent_missing);
}

asio::awaitable<Result<void>> SftpTarget::rename_once(std::string from, std::string to, bool& parent_missing) {
  auto source = absolute(from), destination = absolute(to);
  auto operation = [&](SessionLease& lease) -> asio::awaitable<Result<void>> {
    auto& session = *lease;
    auto* sftp = session.sftp();
    // No flags: SFTP v3 has none, and its RENAME refuses an existing name.
    auto rename = [sftp, &source, &destination] {
      return net::ssh2().sftp_rename_ex(sftp, source.c_str(), static_cast<unsigned int>(source.size()),
                                        destination.c_str(), static_cast<unsigned int>(destination.size()), 0);
    };
    long rc = co_await session.run(rename);
    if (rc == 0) co_return Result<void>{};
    auto error = failure(session, rc, shown(to), fmt::format("cannot move {} here", shown(from)));
    if (!session.healthy()) co_return Unexpected(error);
    // SFTP says FAILURE or NO_SUCH_FILE for most causes: find out which.
    LIBSSH2_SFTP_ATTRIBUTES attributes{};
    if (co_await stat_on(session, source, attributes) != 0)
      co_return make_error(ErrorKind::not_found, fmt::format("{}: cannot move: not found", shown(from)));
    if (co_await stat_on(session, destination, attributes) == 0)
      co_return make_error(ErrorKind::already_exists, fmt::format("{}: already exists", shown(to)));
    parent_missing = error.kind == ErrorKind::not_found;
    if (error.kind == ErrorKind::not_found) error.kind = ErrorKind::permanent;
    co_return Unexpected(error);
  };
  auto pending = with_session(m_pool, std::move(operation));
  co_return co_await std::move(pending);
}

asio::awaitable<Result<void>> SftpTarget::remove(std::string path) {
  if (auto valid = check_path(path); !valid) co_return valid;
  auto where = absolute(path);
  auto operation = [&](SessionLease& lease) -> asio::awaitable<Result<void>> {
    auto* sftp = lease->sftp();
    auto unlink = [sftp, &where] {
      return net::ssh2().sftp_unlink_ex(sftp, where.c_str(), static_cast<unsigned int>(where.size()));
    };
    long rc = co_await lease->run(unlink);
    if (rc == 0) co_return Result<void>{};
    auto error = failure(*lease, rc, shown(path), "cannot remove");
    if (error.kind == ErrorKind::already_exists) error.kind = ErrorKind::permanent;
    co_return Unexpected(error);
  };
  auto pending = with_session(m_pool, std::move(operation));
  co_return co_await std::move(pending);
}

// Whatever the server promises for each operation it has answered (docs/sftp.md); SFTP has no
// request that makes earlier renames or removals durable.
asio::awaitable<Result<void>> SftpTarget::make_durable() { co_return Result<void>{}; }

asio::awaitable<Result<void>> SftpTarget::remove_directory(std::string path) {
  if (auto valid = check_path(path); !valid) co_return valid;
  auto where = absolute(path);
  auto operation = [&](SessionLease& lease) -> asio::awaitable<Result<void>> {
    auto* sftp = lease->sftp();
    auto rmdir = [sftp, &where] {
      return net::ssh2().sftp_rmdir_ex(sftp, where.c_str(), static_cast<unsigned int>(where.size()));
    };
    long rc = co_await lease->run(rmdir);
    if (rc == 0) co_return Result<void>{};
    auto error = failure(*lease, rc, shown(path), "cannot remove directory");
    if (error.kind == ErrorKind::already_exists) error.kind = ErrorKind::permanent;
    co_return Unexpected(error);
  };
  auto pending = with_session(m_pool, std::move(operation));
  co_return co_await std::move(pending);
}

asio::awaitable<Result<void>> SftpTarget::copy(std::string from, std::string /*to*/) {
  co_return make_error(ErrorKind::unsupported, fmt::format("{}: SFTP has no server-side copy", shown(from)));
}

asio::awaitable<Result<std::optional<std::uint64_t>>> SftpTarget::free_space() {
  if (!m_features->statvfs) co_return std::optional<std::uint64_t>();
  auto where = m_settings.path;
  auto operation = [&](SessionLease& lease) -> asio::awaitable<Result<std::optional<std::uint64_t>>> {
    LIBSSH2_SFTP_STATVFS space{};
    auto* sftp = lease->sftp();
    auto statvfs = [sftp, &where, &space] {
      return net::ssh2().sftp_statvfs(sftp, where.c_str(), where.size(), &space);
    };
    long rc = co_await lease->run(statvfs);
    if (rc != 0) co_return Unexpected(failure(*lease, rc, m_settings.ssh.describe + where, "cannot read free space"));
    co_return std::optional<std::uint64_t>(space.f_bavail * space.f_frsize);
  };
  auto pending = with_session(m_pool, std::move(operation));
  co_return co_await std::move(pending);
}

} // namespace offsite::target
