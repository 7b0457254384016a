#pragma once
// The SFTP target (OpenSSH's sftp-server and compatible servers), on libssh2 1.10 driven by the
// Asio loop (net/ssh_session.hpp), one pooled SSH connection per operation in flight
// (target/sftp_pool.hpp).
//
// What it can promise (tech-notes §3.4, §8.1), and therefore what capabilities() says:
// - no atomic replace: libssh2 1.10 cannot send posix-rename@openssh.com (that came in 1.11.1),
//   and SFTP v3's RENAME never replaces;
// - exclusive rename: SFTP v3 defines RENAME onto an existing name as an error, and OpenSSH
//   implements it with link(2)+unlink(2), so bringing a new name into being is exclusive and
//   whole (a crash between the two leaves both names on one inode: the same bytes twice);
// - durability through fsync@openssh.com where the server offers it (finish(), write_new_file());
//   there is no directory fsync over SFTP;
// - free space through statvfs@openssh.com where offered.

#include <memory>
#include <string>

#include "net/ssh_session.hpp"
#include "target/target.hpp"

namespace offsite::target {

class SessionPool;

struct SftpSettings {
  net::SshOptions ssh; // host, port, user, credentials, host key policy
  std::string path;    // the target path, absolute on the server; must exist
  std::string folder;  // the root is path/folder
  int concurrency = 4; // connections kept open
};

class SftpTarget final : public Target {
public:
  explicit SftpTarget(SftpSettings settings);
  ~SftpTarget() override;

  Capabilities capabilities() const override;
  std::string describe() const override;
  asio::awaitable<Result<void>> connect() override;
  asio::awaitable<Result<RemoteEntry>> stat(std::string path) override;
  asio::awaitable<Result<std::vector<RemoteEntry>>> list(std::string dir) override;
  asio::awaitable<Result<void>> make_directory(std::string path) override;
  asio::awaitable<Result<std::unique_ptr<Upload>>> start_upload(std::string path, UploadOptions options) override;
  asio::awaitable<Result<std::uint64_t>> uploaded_size(std::string path, std::string resume_token) override;
  asio::awaitable<Result<std::string>> read_file(std::string path, std::uint64_t max_size) override;
  asio::awaitable<Result<void>> write_new_file(std::string path, FileBytes bytes) override;
  asio::awaitable<Result<std::unique_ptr<Download>>> open_download(std::string path, std::uint64_t offset) override;
  asio::awaitable<Result<void>> rename_to_new(std::string from, std::string to) override;
  asio::awaitable<Result<void>> remove(std::string path) override;
  asio::awaitable<Result<void>> remove_directory(std::string path) override;
  asio::awaitable<Result<void>> copy(std::string from, std::string to) override;
  asio::awaitable<Result<void>> make_durable() override;
  asio::awaitable<Result<std::optional<std::uint64_t>>> free_space() override;

  // The negotiated cipher and MAC of the first connection ("aes128-ctr hmac-sha2-256").
  const std::string& cipher() const { return m_cipher; }

  // Shared with uploads: whether the server answered fsync@openssh.com (probed on first use).
  struct ServerFeatures {
    bool fsync = true;
    bool statvfs = false;
  };

private:
  // The absolute server path of a remote path (root-relative; "" is the root).
  std::string absolute(std::string_view path) const;
  // "sftp://user@host:port/srv/offsite/Folder/a/b": how errors name a remote path.
  std::string shown(std::string_view path) const;
  // Opens `path` for writing: at 0 created or truncated, else continued at `offset`.
  asio::awaitable<Result<std::unique_ptr<Upload>>> open_upload(std::string path, UploadOptions options);
  // Positions a freshly opened upload at `offset` (at most the confirmed size; what lies beyond
  // is cut off).
  asio::awaitable<Result<void>> resume_at(net::SshSession& session, LIBSSH2_SFTP_HANDLE* handle, std::uint64_t offset,
                                          std::string name);
  // One RENAME; `parent_missing` says whether creating to's parent may help.
  asio::awaitable<Result<void>> rename_once(std::string from, std::string to, bool& parent_missing);

  SftpSettings m_settings;
  std::string m_root; // absolute: path/folder
  std::string m_describe;
  std::shared_ptr<SessionPool> m_pool;
  std::shared_ptr<ServerFeatures> m_features;
  std::string m_cipher;
};

} // namespace offsite::target
