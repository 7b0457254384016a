#pragma once
// libssh2, opened when offsite first connects to an SFTP server rather than when it starts
// (util/shared_library.hpp says why: libssh2 brings libcrypto and zlib, about 10 ms of a cold
// start that a sync to a local disk or S3 never uses).
//
// Compiled against libssh2 1.10's headers; every call goes through this table, by the function's
// name without its `libssh2_` prefix (`ssh2().sftp_read(...)` is `libssh2_sftp_read(...)`). The
// header's convenience macros (libssh2_sftp_open, libssh2_session_init, ...) would call the
// linked functions, so the code spells out the `_ex` functions they stand for.

#include <libssh2.h>
#include <libssh2_sftp.h>

#include "util/error.hpp"

namespace offsite::net {

struct SshLibrary {
  decltype(&::libssh2_init) init;
  decltype(&::libssh2_session_init_ex) session_init_ex;
  decltype(&::libssh2_session_free) session_free;
  decltype(&::libssh2_session_disconnect_ex) session_disconnect_ex;
  decltype(&::libssh2_session_set_blocking) session_set_blocking;
  decltype(&::libssh2_session_method_pref) session_method_pref;
  decltype(&::libssh2_session_methods) session_methods;
  decltype(&::libssh2_session_handshake) session_handshake;
  decltype(&::libssh2_session_hostkey) session_hostkey;
  decltype(&::libssh2_session_block_directions) session_block_directions;
  decltype(&::libssh2_session_last_errno) session_last_errno;
  decltype(&::libssh2_session_last_error) session_last_error;
  decltype(&::libssh2_session_abstract) session_abstract;
  decltype(&::libssh2_keepalive_config) keepalive_config;
  decltype(&::libssh2_keepalive_send) keepalive_send;
  decltype(&::libssh2_userauth_list) userauth_list;
  decltype(&::libssh2_userauth_authenticated) userauth_authenticated;
  decltype(&::libssh2_userauth_publickey_fromfile_ex) userauth_publickey_fromfile_ex;
  decltype(&::libssh2_userauth_password_ex) userauth_password_ex;
  decltype(&::libssh2_userauth_keyboard_interactive_ex) userauth_keyboard_interactive_ex;
  decltype(&::libssh2_sftp_init) sftp_init;
  decltype(&::libssh2_sftp_shutdown) sftp_shutdown;
  decltype(&::libssh2_sftp_last_error) sftp_last_error;
  decltype(&::libssh2_sftp_open_ex) sftp_open_ex;
  decltype(&::libssh2_sftp_close_handle) sftp_close_handle;
  decltype(&::libssh2_sftp_read) sftp_read;
  decltype(&::libssh2_sftp_write) sftp_write;
  decltype(&::libssh2_sftp_fsync) sftp_fsync;
  decltype(&::libssh2_sftp_seek64) sftp_seek64;
  decltype(&::libssh2_sftp_fstat_ex) sftp_fstat_ex;
  decltype(&::libssh2_sftp_stat_ex) sftp_stat_ex;
  decltype(&::libssh2_sftp_statvfs) sftp_statvfs;
  decltype(&::libssh2_sftp_readdir_ex) sftp_readdir_ex;
  decltype(&::libssh2_sftp_mkdir_ex) sftp_mkdir_ex;
  decltype(&::libssh2_sftp_rmdir_ex) sftp_rmdir_ex;
  decltype(&::libssh2_sftp_rename_ex) sftp_rename_ex;
  decltype(&::libssh2_sftp_unlink_ex) sftp_unlink_ex;
};

// The loaded library, libssh2_init() done, or why it could not be loaded. Loaded once,
// thread-safely; SshSession::open() calls it before anything else.
Result<const SshLibrary*> ssh_library();

// The loaded library, for code that runs on an open SshSession (which proves it loaded); a failed
// load there is a programming error: it throws.
const SshLibrary& ssh2();

} // namespace offsite::net
