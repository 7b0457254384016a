// Uploads and downloads over SFTP.
//
// Pipelined writes (tech-notes §3.3): libssh2_sftp_write() cuts what it is given into 30,000-byte
// WRITE packets, sends as many as the channel takes and returns the bytes the server has ACKed;
// the next call must pass the same bytes again from there, libssh2 skipping what it has already
// queued. So we hand it a sliding window of k_window bytes over the chunk: the depth of the
// pipeline. At one OpenSSH channel window (2 MiB) the queue ran dry each time the server's window
// adjust arrived before its SFTP ACKs had let us queue more; three windows (6 MB) keep data
// queued, and measured faster on a single 400 MiB file in 6 of 7 paired runs (docs/
// performance.md). The bytes libssh2 copies into packets stay bounded by the window whatever
// the chunk size (6 MB per connection). A write() returns when all its bytes are
// ACKed, so the caller may reuse its buffer, and what the server reports as the file's size is
// always a prefix of what we sent (OpenSSH handles requests in order).
//
// A session whose write failed half-way has packets in flight: it is broken and dropped, and the
// engine resumes from the size the server reports on a fresh connection (BRIEF §5.7).

#include "target/sftp_files.hpp"

#include <fmt/format.h>

#include "util/log.hpp"

namespace offsite::target::sftp {
namespace {

constexpr std::size_t k_window = 200 * 30000; // 6 MB: 200 WRITE packets

class SftpUpload final : public Upload {
public:
  SftpUpload(SessionLease lease, LIBSSH2_SFTP_HANDLE* handle, std::string shown, std::uint64_t position,
             std::shared_ptr<SftpTarget::ServerFeatures> features)
      : m_lease(std::move(lease)), m_handle(handle), m_shown(std::move(shown)), m_position(position),
        m_features(std::move(features)) {}

  ~SftpUpload() override {
    if (m_handle) m_lease->drop_handle(m_handle); // never finished nor aborted: do not reuse it
  }

  asio::awaitable<Result<void>> write(std::span<const std::byte> bytes) override {
    if (!m_handle) co_return make_error(ErrorKind::permanent, fmt::format("{}: upload closed", m_shown));
    auto written = co_await write_all(*m_lease, m_handle, bytes, m_shown);
    if (!written) {
      m_failed = true;
      co_return written;
    }
    m_position += bytes.size();
    co_return written;
  }

  asio::awaitable<Result<std::uint64_t>> finish() override {
    if (!m_handle || m_failed) co_return make_error(ErrorKind::permanent, fmt::format("{}: upload closed", m_shown));
    if (auto synced = co_await sync_file(*m_lease, m_handle, *m_features, m_shown); !synced)
      co_return Unexpected(synced.error());
    LIBSSH2_SFTP_ATTRIBUTES attributes{};
    auto handle = m_handle;
    auto fstat = [handle, &attributes] { return net::ssh2().sftp_fstat_ex(handle, &attributes, 0); };
    long rc = co_await m_lease->run(fstat);
    if (rc != 0) co_return Unexpected(failure(*m_lease, rc, m_shown, "cannot read the size"));
    m_handle = nullptr;
    rc = co_await close_handle(*m_lease, handle);
    if (rc != 0) co_return Unexpected(failure(*m_lease, rc, m_shown, "cannot close"));
    co_return static_cast<std::uint64_t>(attributes.filesize);
  }

  asio::awaitable<Result<void>> abort() override {
    if (!m_handle) co_return Result<void>{};
    auto handle = m_handle;
    m_handle = nullptr;
    if (m_failed || !m_lease->healthy()) {
      m_lease->drop_handle(handle); // writes may be in flight: this connection is done
      co_return Result<void>{};
    }
    co_await close_handle(*m_lease, handle);
    co_return Result<void>{};
  }

  std::string resume_token() const override { return {}; }

private:
  SessionLease m_lease;
  LIBSSH2_SFTP_HANDLE* m_handle;
  std::string m_shown;
  std::uint64_t m_position;
  std::shared_ptr<SftpTarget::ServerFeatures> m_features;
  bool m_failed = false;
};

class SftpDownload final : public Download {
public:
  SftpDownload(SessionLease lease, LIBSSH2_SFTP_HANDLE* handle, std::string shown)
      : m_lease(std::move(lease)), m_handle(handle), m_shown(std::move(shown)) {}

  ~SftpDownload() override {
    if (m_handle) m_lease->drop_handle(m_handle); // read-ahead may be in flight
  }

  asio::awaitable<Result<std::size_t>> read(std::span<std::byte> bytes) override {
    if (!m_handle || bytes.empty()) co_return std::size_t{0};
    auto handle = m_handle;
    auto* data = reinterpret_cast<char*>(bytes.data());
    auto size = bytes.size();
    auto read = [handle, data, size] { return net::ssh2().sftp_read(handle, data, size); };
    long rc = co_await m_lease->run(read);
    if (rc < 0) co_return Unexpected(failure(*m_lease, rc, m_shown, "cannot read"));
    if (rc == 0) {
      m_handle = nullptr;
      co_await close_handle(*m_lease, handle);
    }
    co_return static_cast<std::size_t>(rc);
  }

private:
  SessionLease m_lease;
  LIBSSH2_SFTP_HANDLE* m_handle;
  std::string m_shown;
};

} // namespace

Error failure(const net::SshSession& session, long rc, std::string_view where, std::string_view action) {
  return Error{session.error_kind(rc), fmt::format("{}: {}: {}", where, action, session.error_text(rc))};
}

asio::awaitable<LIBSSH2_SFTP_HANDLE*> open_handle(net::SshSession& session, std::string path, unsigned long flags,
                                                  long mode, int type, long& rc) {
  LIBSSH2_SFTP_HANDLE* handle = nullptr;
  auto* sftp = session.sftp();
  auto* raw = session.session();
  auto open = [&handle, sftp, raw, &path, flags, mode, type]() -> long {
    handle = net::ssh2().sftp_open_ex(sftp, path.c_str(), static_cast<unsigned int>(path.size()), flags, mode, type);
    return handle ? 0 : net::ssh2().session_last_errno(raw);
  };
  rc = co_await session.run(open);
  co_return rc == 0 ? handle : nullptr;
}

asio::awaitable<long> close_handle(net::SshSession& session, LIBSSH2_SFTP_HANDLE* handle) {
  if (!session.healthy()) {
    session.drop_handle(handle);
    co_return 0;
  }
  auto close = [handle] { return net::ssh2().sftp_close_handle(handle); };
  co_return co_await session.run(close);
}

asio::awaitable<Result<void>> write_all(net::SshSession& session, LIBSSH2_SFTP_HANDLE* handle,
                                        std::span<const std::byte> bytes, const std::string& shown) {
  const auto* data = reinterpret_cast<const char*>(bytes.data());
  std::size_t done = 0;
  while (done < bytes.size()) {
    const char* at = data + done;
    std::size_t window = std::min(k_window, bytes.size() - done);
    auto write = [handle, at, window] { return net::ssh2().sftp_write(handle, at, window); };
    long rc = co_await session.run(write);
    if (rc < 0) {
      // Packets may be in flight: the session cannot carry another call.
      session.mark_broken();
      co_return Unexpected(failure(session, rc, shown, fmt::format("cannot write at byte {}", done)));
    }
    if (rc == 0) {
      // Queued but nothing ACKed yet, and libssh2 did not say EAGAIN: the channel window is
      // full, and the server's window adjust arrives inbound.
      long waited = co_await session.wait_for_socket();
      if (waited != 0) {
        session.mark_broken();
        co_return Unexpected(failure(session, waited, shown, fmt::format("cannot write at byte {}", done)));
      }
      continue;
    }
    done += static_cast<std::size_t>(rc);
  }
  co_return Result<void>{};
}

asio::awaitable<Result<void>> sync_file(net::SshSession& session, LIBSSH2_SFTP_HANDLE* handle,
                                        SftpTarget::ServerFeatures& features, const std::string& shown) {
  if (!features.fsync) co_return Result<void>{};
  auto fsync = [handle] { return net::ssh2().sftp_fsync(handle); };
  long rc = co_await session.run(fsync);
  if (rc == 0) co_return Result<void>{};
  if (rc == LIBSSH2_ERROR_SFTP_PROTOCOL && session.sftp_status() == LIBSSH2_FX_OP_UNSUPPORTED) {
    features.fsync = false;
    log::warning("sftp.no_fsync", {{"server", session.options().describe},
                                   {"note", "the server lacks fsync@openssh.com: uploads are not synced to its disk"}});
    co_return Result<void>{};
  }
  co_return Unexpected(failure(session, rc, shown, "cannot sync to the server's disk"));
}

std::unique_ptr<Upload> make_upload(SessionLease lease, LIBSSH2_SFTP_HANDLE* handle, std::string shown,
                                    std::uint64_t position, std::shared_ptr<SftpTarget::ServerFeatures> features) {
  return std::make_unique<SftpUpload>(std::move(lease), handle, std::move(shown), position, std::move(features));
}

std::unique_ptr<Download> make_download(SessionLease lease, LIBSSH2_SFTP_HANDLE* handle, std::string shown) {
  return std::make_unique<SftpDownload>(std::move(lease), handle, std::move(shown));
}

} // namespace offsite::target::sftp
