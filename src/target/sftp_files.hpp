#pragma once
// Open remote files of the SFTP target: uploads (pipelined writes) and downloads, each holding its
// own pooled session for its lifetime, and the small helpers sftp.cpp shares with them.

#include <memory>
#include <string>

#include "target/sftp.hpp"
#include "target/sftp_pool.hpp"
#include "target/target.hpp"

namespace offsite::target::sftp {

// An Error for libssh2 result `rc` of `action` on the remote path shown as `where`.
Error failure(const net::SshSession& session, long rc, std::string_view where, std::string_view action);

// Opens a file or directory handle; nullptr with `rc` set on failure.
asio::awaitable<LIBSSH2_SFTP_HANDLE*> open_handle(net::SshSession& session, std::string path, unsigned long flags,
                                                  long mode, int type, long& rc);

// Closes `handle`; on a broken session just frees it.
asio::awaitable<long> close_handle(net::SshSession& session, LIBSSH2_SFTP_HANDLE* handle);

// Uploads to an open handle positioned at `position`. `shown` names the file in errors.
std::unique_ptr<Upload> make_upload(SessionLease lease, LIBSSH2_SFTP_HANDLE* handle, std::string shown,
                                    std::uint64_t position, std::shared_ptr<SftpTarget::ServerFeatures> features);

std::unique_ptr<Download> make_download(SessionLease lease, LIBSSH2_SFTP_HANDLE* handle, std::string shown);

// Writes all of `bytes` through the pipeline (used by uploads and write_new_file()).
asio::awaitable<Result<void>> write_all(net::SshSession& session, LIBSSH2_SFTP_HANDLE* handle,
                                        std::span<const std::byte> bytes, const std::string& shown);

// fsync@openssh.com where the server has it; remembers when it does not.
asio::awaitable<Result<void>> sync_file(net::SshSession& session, LIBSSH2_SFTP_HANDLE* handle,
                                        SftpTarget::ServerFeatures& features, const std::string& shown);

} // namespace offsite::target::sftp
