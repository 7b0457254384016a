// Opening libssh2 at run time (ssh_library.hpp says why): the soname of libssh2 1.x, whose
// headers we compile against.

#include "net/ssh_library.hpp"

#include <fmt/format.h>

#include "util/shared_library.hpp"

namespace offsite::net {
namespace {

Result<SshLibrary> load_ssh() {
  auto library = SharedLibrary::open("libssh2.so.1", "SFTP targets", "libssh2-1");
  if (!library) return Unexpected(library.error());
  SshLibrary lib{};
  library->resolve("libssh2_init", lib.init);
  library->resolve("libssh2_session_init_ex", lib.session_init_ex);
  library->resolve("libssh2_session_free", lib.session_free);
  library->resolve("libssh2_session_disconnect_ex", lib.session_disconnect_ex);
  library->resolve("libssh2_session_set_blocking", lib.session_set_blocking);
  library->resolve("libssh2_session_method_pref", lib.session_method_pref);
  library->resolve("libssh2_session_methods", lib.session_methods);
  library->resolve("libssh2_session_handshake", lib.session_handshake);
  library->resolve("libssh2_session_hostkey", lib.session_hostkey);
  library->resolve("libssh2_session_block_directions", lib.session_block_directions);
  library->resolve("libssh2_session_last_errno", lib.session_last_errno);
  library->resolve("libssh2_session_last_error", lib.session_last_error);
  library->resolve("libssh2_session_abstract", lib.session_abstract);
  library->resolve("libssh2_keepalive_config", lib.keepalive_config);
  library->resolve("libssh2_keepalive_send", lib.keepalive_send);
  library->resolve("libssh2_userauth_list", lib.userauth_list);
  library->resolve("libssh2_userauth_authenticated", lib.userauth_authenticated);
  library->resolve("libssh2_userauth_publickey_fromfile_ex", lib.userauth_publickey_fromfile_ex);
  library->resolve("libssh2_userauth_password_ex", lib.userauth_password_ex);
  library->resolve("libssh2_userauth_keyboard_interactive_ex", lib.userauth_keyboard_interactive_ex);
  library->resolve("libssh2_sftp_init", lib.sftp_init);
  library->resolve("libssh2_sftp_shutdown", lib.sftp_shutdown);
  library->resolve("libssh2_sftp_last_error", lib.sftp_last_error);
  library->resolve("libssh2_sftp_open_ex", lib.sftp_open_ex);
  library->resolve("libssh2_sftp_close_handle", lib.sftp_close_handle);
  library->resolve("libssh2_sftp_read", lib.sftp_read);
  library->resolve("libssh2_sftp_write", lib.sftp_write);
  library->resolve("libssh2_sftp_fsync", lib.sftp_fsync);
  library->resolve("libssh2_sftp_seek64", lib.sftp_seek64);
  library->resolve("libssh2_sftp_fstat_ex", lib.sftp_fstat_ex);
  library->resolve("libssh2_sftp_stat_ex", lib.sftp_stat_ex);
  library->resolve("libssh2_sftp_statvfs", lib.sftp_statvfs);
  library->resolve("libssh2_sftp_readdir_ex", lib.sftp_readdir_ex);
  library->resolve("libssh2_sftp_mkdir_ex", lib.sftp_mkdir_ex);
  library->resolve("libssh2_sftp_rmdir_ex", lib.sftp_rmdir_ex);
  library->resolve("libssh2_sftp_rename_ex", lib.sftp_rename_ex);
  library->resolve("libssh2_sftp_unlink_ex", lib.sftp_unlink_ex);
  if (auto complete = library->complete(); !complete) return Unexpected(complete.error());
  // Global and not thread-safe: once, here, under the static's initialisation guard.
  if (int rc = lib.init(0); rc != 0)
    return make_error(ErrorKind::permanent, fmt::format("libssh2_init failed ({})", rc));
  return lib;
}

} // namespace

Result<const SshLibrary*> ssh_library() { return load_once<SshLibrary, load_ssh>(); }

const SshLibrary& ssh2() { return loaded_or_throw(ssh_library()); }

} // namespace offsite::net
