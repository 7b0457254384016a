// libssh2 1.10 on the Asio loop.
//
// The pattern (libssh2_session_block_directions(3), tech-notes §3.1): call first; only after
// EAGAIN wait for the socket, in the direction libssh2 says it is blocked on, because libssh2
// buffers internally and the socket may be quiet while it holds unread data. Each wait is bounded
// by io_timeout: a server or network that stalls for that long is taken for dead (transient, so
// the retry policy reconnects), and the session is broken.
//
// Opening a session: TCP connect, SSH handshake (asking first for the host key types
// known_hosts holds for this server, tech-notes §3.6, so a known server is never "unknown"
// because libssh2 picked another of its keys), the host key check, login, then the SFTP channel.
// Tearing down never waits: a healthy session sends its disconnect message if the socket takes it
// at once; then the socket is shut down, so whatever libssh2 still tries to send while freeing
// fails at once instead of asking to be called again.

#include "net/ssh_session.hpp"

#include <variant>

#include <asio/connect.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "net/crypto_library.hpp"
#include "net/known_hosts.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"

namespace offsite::net {
namespace {

using namespace asio::experimental::awaitable_operators;
inline constexpr auto use_nothrow = asio::experimental::as_tuple(asio::use_awaitable);

// Host key algorithms libssh2 1.10 can verify, best first (ed25519, as OpenSSH clients prefer).
constexpr std::string_view k_host_key_order[] = {"ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
                                                 "ecdsa-sha2-nistp521", "ssh-rsa"};

std::string host_key_preference(const std::vector<std::string>& known) {
  std::string known_first, others;
  for (auto type : k_host_key_order) {
    bool is_known = std::find(known.begin(), known.end(), type) != known.end();
    auto& list = is_known ? known_first : others;
    if (!list.empty()) list += ',';
    list += type;
  }
  if (known_first.empty()) return others;
  return others.empty() ? known_first : known_first + "," + others;
}

// A repository name as a shell word, for the command an error suggests.
std::string shell_word(const std::string& word) {
  bool plain = !word.empty() && word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                       "0123456789._-/:@") == std::string::npos;
  if (plain) return word;
  std::string quoted = "'";
  for (char c : word)
    quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

std::string read_known_hosts(const std::filesystem::path& path) {
  std::error_code ec;
  if (path.empty() || !std::filesystem::exists(path, ec)) return {};
  auto content = fs::read_file(path, 16ull << 20);
  if (!content) {
    log::warning("ssh.known_hosts_unreadable", {{"file", path.string()}, {"error", content.error().message}});
    return {};
  }
  return std::move(*content);
}

} // namespace

SshSession::SshSession(std::shared_ptr<const SshOptions> options, asio::any_io_executor executor)
    : m_options(std::move(options)), m_socket(executor), m_timer(executor) {}

SshSession::~SshSession() { tear_down(); }

void SshSession::tear_down() {
  if (m_session && !m_broken && !m_in_call && m_socket.is_open())
    ssh2().session_disconnect_ex(m_session, SSH_DISCONNECT_BY_APPLICATION, "offsite: done",
                                 ""); // one try; EAGAIN means "never mind"
  if (m_socket.is_open()) {
    // From here every send fails at once (EPIPE), so the frees below never ask to be called again.
    ::shutdown(m_socket.native_handle(), SHUT_RDWR);
  }
  if (m_sftp) {
    for (int attempt = 0; attempt < 4 && ssh2().sftp_shutdown(m_sftp) == LIBSSH2_ERROR_EAGAIN; ++attempt) {
    }
    m_sftp = nullptr;
  }
  if (m_session) {
    for (int attempt = 0; attempt < 4 && ssh2().session_free(m_session) == LIBSSH2_ERROR_EAGAIN; ++attempt) {
    }
    m_session = nullptr;
  }
  std::error_code ignored;
  m_socket.close(ignored);
}

void SshSession::drop_handle(LIBSSH2_SFTP_HANDLE* handle) {
  m_broken = true;
  if (m_socket.is_open()) ::shutdown(m_socket.native_handle(), SHUT_RDWR);
  // The socket refuses every send now, so closing fails at once and frees the handle.
  for (int attempt = 0; attempt < 4 && ssh2().sftp_close_handle(handle) == LIBSSH2_ERROR_EAGAIN; ++attempt) {
  }
}

bool SshSession::is_transport_error(long rc) {
  if (rc >= 0) return false;
  switch (rc) {
  case LIBSSH2_ERROR_SFTP_PROTOCOL: // the server answered with a status: the session is fine
  case LIBSSH2_ERROR_BUFFER_TOO_SMALL:
  case LIBSSH2_ERROR_FILE:
  case LIBSSH2_ERROR_AUTHENTICATION_FAILED:
  case LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED:
  case LIBSSH2_ERROR_PASSWORD_EXPIRED:
  case LIBSSH2_ERROR_METHOD_NOT_SUPPORTED:
  case LIBSSH2_ERROR_INVAL: return false;
  default: return true;
  }
}

namespace {

// Asks the kernel to acknowledge what arrived at once instead of after its delayed-ACK timer
// (40 ms on Linux). sshd leaves Nagle's algorithm on until a session starts (OpenSSH sets
// TCP_NODELAY only for an interactive or subsystem channel), and during login it answers with
// two writes in a row: the second waited in the server's kernel for our ACK of the first, which
// we held back for 40 ms, hoping to send it with data we had none of. That was 40 ms of every
// connection, a third of a no-change sync of 20,000 files. The mode is not sticky (tcp(7)), so
// it is asked for before each wait to read.
void ask_quick_ack(asio::ip::tcp::socket& socket) {
#ifdef TCP_QUICKACK
  int one = 1;
  ::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
#else
  (void)socket;
#endif
}

} // namespace

asio::awaitable<long> SshSession::wait_for_socket() {
  int directions = ssh2().session_block_directions(m_session);
  bool want_write = (directions & LIBSSH2_SESSION_BLOCK_OUTBOUND) != 0;
  // Inbound, or nothing said (a partly sent packet waits for the server's window): wait to read.
  bool want_read = (directions & LIBSSH2_SESSION_BLOCK_INBOUND) != 0 || !want_write;
  if (want_read) ask_quick_ack(m_socket);
  m_timer.expires_after(m_options->io_timeout);
  std::error_code ec;
  bool timed_out = false;
  if (want_read && want_write) {
    auto readable = m_socket.async_wait(asio::ip::tcp::socket::wait_read, use_nothrow);
    auto writable = m_socket.async_wait(asio::ip::tcp::socket::wait_write, use_nothrow);
    auto expired = m_timer.async_wait(use_nothrow);
    auto which = co_await (std::move(readable) || std::move(writable) || std::move(expired));
    timed_out = which.index() == 2;
    std::visit([&](auto& result) { ec = std::get<0>(result); }, which);
  } else {
    auto ready = m_socket.async_wait(want_write ? asio::ip::tcp::socket::wait_write : asio::ip::tcp::socket::wait_read,
                                     use_nothrow);
    auto expired = m_timer.async_wait(use_nothrow);
    auto which = co_await (std::move(ready) || std::move(expired));
    timed_out = which.index() == 1;
    std::visit([&](auto& result) { ec = std::get<0>(result); }, which);
  }
  if (timed_out && !ec) co_return k_ssh_timed_out;
  if (ec == asio::error::operation_aborted) co_return k_ssh_cancelled;
  co_return 0; // other socket errors show up in libssh2's next attempt
}

std::string SshSession::error_text(long rc) const {
  if (rc == k_ssh_timed_out)
    return fmt::format("no answer from the server for {} s",
                       std::chrono::duration_cast<std::chrono::seconds>(m_options->io_timeout).count());
  if (rc == k_ssh_cancelled) return "cancelled";
  if (rc == LIBSSH2_ERROR_SFTP_PROTOCOL && m_sftp) {
    switch (ssh2().sftp_last_error(m_sftp)) {
    case LIBSSH2_FX_EOF: return "end of file";
    case LIBSSH2_FX_NO_SUCH_FILE: return "no such file or directory";
    case LIBSSH2_FX_PERMISSION_DENIED: return "permission denied";
    case LIBSSH2_FX_FAILURE: return "the server reported a failure";
    case LIBSSH2_FX_OP_UNSUPPORTED: return "operation not supported by the server";
    case LIBSSH2_FX_NO_SUCH_PATH: return "no such path";
    case LIBSSH2_FX_FILE_ALREADY_EXISTS: return "already exists";
    case LIBSSH2_FX_WRITE_PROTECT: return "write-protected";
    case LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM: return "no space left on the server's filesystem";
    case LIBSSH2_FX_QUOTA_EXCEEDED: return "quota exceeded";
    case LIBSSH2_FX_DIR_NOT_EMPTY: return "directory not empty";
    case LIBSSH2_FX_NOT_A_DIRECTORY: return "not a directory";
    default: return fmt::format("SFTP status {}", ssh2().sftp_last_error(m_sftp));
    }
  }
  char* message = nullptr;
  int length = 0;
  if (m_session) ssh2().session_last_error(m_session, &message, &length, 0);
  if (message && length > 0) return fmt::format("{} (libssh2 error {})", std::string_view(message, length), rc);
  return fmt::format("libssh2 error {}", rc);
}

unsigned long SshSession::sftp_status() const { return m_sftp ? ssh2().sftp_last_error(m_sftp) : 0; }

ErrorKind SshSession::error_kind(long rc) const {
  if (rc == k_ssh_cancelled) return ErrorKind::cancelled;
  if (rc != LIBSSH2_ERROR_SFTP_PROTOCOL) return is_transport_error(rc) ? ErrorKind::transient : ErrorKind::permanent;
  switch (sftp_status()) {
  case LIBSSH2_FX_NO_SUCH_FILE:
  case LIBSSH2_FX_NO_SUCH_PATH: return ErrorKind::not_found;
  case LIBSSH2_FX_FILE_ALREADY_EXISTS: return ErrorKind::already_exists;
  case LIBSSH2_FX_OP_UNSUPPORTED: return ErrorKind::unsupported;
  case LIBSSH2_FX_NO_CONNECTION:
  case LIBSSH2_FX_CONNECTION_LOST: return ErrorKind::transient;
  default: return ErrorKind::permanent;
  }
}

void SshSession::keep_alive() {
  if (!healthy()) return;
  int next = 0;
  if (ssh2().keepalive_send(m_session, &next) != 0) m_broken = true;
}

std::string SshSession::cipher() const {
  if (!m_session) return {};
  const char* crypt = ssh2().session_methods(m_session, LIBSSH2_METHOD_CRYPT_CS);
  const char* mac = ssh2().session_methods(m_session, LIBSSH2_METHOD_MAC_CS);
  return fmt::format("{} {}", crypt ? crypt : "?", mac ? mac : "?");
}

Error SshSession::failure(ErrorKind kind, std::string what) const {
  return Error{kind, fmt::format("{}: {}", m_options->describe, what)};
}

asio::awaitable<Result<std::unique_ptr<SshSession>>> SshSession::open(std::shared_ptr<const SshOptions> options) {
  // The libraries, opened at the first connection (ssh_library.hpp); known_hosts needs libcrypto.
  if (auto loaded = ssh_library(); !loaded) co_return Unexpected(loaded.error());
  if (auto loaded = crypto_library(); !loaded) co_return Unexpected(loaded.error());
  auto executor = co_await asio::this_coro::executor;
  std::unique_ptr<SshSession> session(new SshSession(std::move(options), executor));
  if (auto connected = co_await session->connect_socket(); !connected) co_return Unexpected(connected.error());
  if (auto shaken = co_await session->handshake(); !shaken) co_return Unexpected(shaken.error());
  if (auto trusted = session->verify_host_key(); !trusted) co_return Unexpected(trusted.error());
  if (auto logged_in = co_await session->authenticate(); !logged_in) co_return Unexpected(logged_in.error());
  if (auto started = co_await session->start_sftp(); !started) co_return Unexpected(started.error());
  ssh2().keepalive_config(session->m_session, 1, static_cast<unsigned>(session->m_options->keepalive_interval.count()));
  session->idle_since = std::chrono::steady_clock::now();
  log::debug("ssh.connected", {{"server", session->m_options->describe}, {"cipher", session->cipher()}});
  co_return session;
}

asio::awaitable<Result<void>> SshSession::connect_socket() {
  const auto& options = *m_options;
  asio::ip::tcp::resolver resolver(m_socket.get_executor());
  auto port = std::to_string(options.port);
  auto [resolve_error, endpoints] = co_await resolver.async_resolve(options.host, port, use_nothrow);
  if (resolve_error) {
    bool lasting = resolve_error == asio::error::host_not_found;
    co_return Unexpected(failure(lasting ? ErrorKind::permanent : ErrorKind::transient,
                                 fmt::format("cannot resolve host \"{}\": {}", options.host, resolve_error.message())));
  }
  m_timer.expires_after(options.io_timeout);
  auto connecting = asio::async_connect(m_socket, endpoints, use_nothrow);
  auto expired = m_timer.async_wait(use_nothrow);
  auto which = co_await (std::move(connecting) || std::move(expired));
  if (which.index() == 1) co_return Unexpected(failure(ErrorKind::transient, "connection timed out"));
  auto connect_error = std::get<0>(std::get<0>(which));
  if (connect_error)
    co_return Unexpected(failure(ErrorKind::transient, fmt::format("cannot connect: {}", connect_error.message())));
  std::error_code ignored;
  m_socket.set_option(asio::ip::tcp::no_delay(true), ignored);
  m_socket.non_blocking(true, ignored);
  co_return Result<void>{};
}

asio::awaitable<Result<void>> SshSession::handshake() {
  m_session = ssh2().session_init_ex(nullptr, nullptr, nullptr, nullptr);
  if (!m_session) co_return Unexpected(failure(ErrorKind::permanent, "cannot create an SSH session (out of memory)"));
  ssh2().session_set_blocking(m_session, 0);
  auto known = read_known_hosts(m_options->host_keys.known_hosts);
  auto preference = host_key_preference(known_key_types(known, m_options->host, m_options->port));
  ssh2().session_method_pref(m_session, LIBSSH2_METHOD_HOSTKEY, preference.c_str());
  // AES-CTR first: the fastest cipher libssh2 1.10 has (it lacks AES-GCM and ChaCha20).
  for (int direction : {LIBSSH2_METHOD_CRYPT_CS, LIBSSH2_METHOD_CRYPT_SC})
    ssh2().session_method_pref(m_session, direction, "aes128-ctr,aes192-ctr,aes256-ctr,aes256-cbc,aes128-cbc");
  for (int direction : {LIBSSH2_METHOD_MAC_CS, LIBSSH2_METHOD_MAC_SC})
    ssh2().session_method_pref(m_session, direction, "hmac-sha2-256,hmac-sha2-512,hmac-sha1");
  auto fd = m_socket.native_handle();
  auto shake = [this, fd] { return ssh2().session_handshake(m_session, fd); };
  long rc = co_await run(shake);
  if (rc != 0) {
    auto kind = rc == LIBSSH2_ERROR_KEX_FAILURE || rc == LIBSSH2_ERROR_METHOD_NONE ? ErrorKind::permanent
                                                                                   : ErrorKind::transient;
    co_return Unexpected(failure(kind, fmt::format("SSH handshake failed: {}", error_text(rc))));
  }
  co_return Result<void>{};
}

Result<void> SshSession::verify_host_key() {
  const auto& options = *m_options;
  const auto& policy = options.host_keys;
  std::size_t length = 0;
  int type = 0;
  const char* raw = ssh2().session_hostkey(m_session, &length, &type);
  if (!raw || length == 0) return Unexpected(failure(ErrorKind::permanent, "the server sent no host key"));
  HostKey key{{}, std::string(raw, length)};
  key.type = key_type_of_blob(key.blob);
  auto fingerprint = fingerprint_sha256(key.blob);
  auto name = known_hosts_name(options.host, options.port);
  auto file = policy.known_hosts.string();
  auto accept_command =
      fmt::format("offsite test-connection {} --accept-host-key={}", shell_word(options.repository_name), fingerprint);
  auto check = check_host_key(read_known_hosts(policy.known_hosts), options.host, options.port, key);
  switch (check.verdict) {
  case HostKeyVerdict::trusted: return {};
  case HostKeyVerdict::revoked:
    return Unexpected(failure(ErrorKind::permanent,
                              fmt::format("the host key of {} ({} {}) is marked @revoked in {} line {}: refusing "
                                          "to connect",
                                          name, key.type, fingerprint, file, check.line)));
  case HostKeyVerdict::changed:
    return Unexpected(failure(
        ErrorKind::permanent,
        fmt::format("WARNING: THE HOST KEY OF {} HAS CHANGED. The server now shows the {} key {}, but {} line {} holds "
                    "another {} key for it. Someone could be intercepting the connection (a man-in-the-middle "
                    "attack), or the server was reinstalled. offsite refuses to connect. If the change is expected, "
                    "confirm the new fingerprint with the server's administrator, remove the old key with "
                    "`ssh-keygen -f {} -R '{}'`, then run `{}`",
                    name, key.type, fingerprint, file, check.line, key.type, file, name, accept_command)));
  case HostKeyVerdict::unknown: break;
  }
  if (!policy.accept_unknown)
    return Unexpected(failure(
        ErrorKind::permanent,
        fmt::format("the host key of {} is unknown: the server shows the {} key {}, which {} does not hold. Check "
                    "this fingerprint with the server's administrator (on the server: ssh-keygen -lf "
                    "/etc/ssh/ssh_host_{}_key.pub), then trust it with `{}`",
                    name, key.type, fingerprint, file.empty() ? "known_hosts" : file,
                    key.type == "ssh-ed25519"         ? "ed25519"
                    : key.type.rfind("ecdsa", 0) == 0 ? "ecdsa"
                                                      : "rsa",
                    accept_command)));
  if (!policy.pinned_fingerprint.empty() && policy.pinned_fingerprint != fingerprint)
    return Unexpected(
        failure(ErrorKind::permanent, fmt::format("the host key of {} is {} {}, not the {} given to --accept-host-key: "
                                                  "nothing was trusted",
                                                  name, key.type, fingerprint, policy.pinned_fingerprint)));
  if (auto added = append_known_host(policy.known_hosts, known_hosts_line(options.host, options.port, key)); !added)
    return Unexpected(
        failure(ErrorKind::permanent, fmt::format("cannot add the host key to {}: {}", file, added.error().message)));
  log::info("ssh.host_key_accepted",
            {{"server", name}, {"type", key.type}, {"fingerprint", fingerprint}, {"file", file}});
  return {};
}

asio::awaitable<Result<void>> SshSession::start_sftp() {
  auto init = [this]() -> long {
    m_sftp = ssh2().sftp_init(m_session);
    return m_sftp ? 0 : ssh2().session_last_errno(m_session);
  };
  long rc = co_await run(init);
  if (rc != 0)
    co_return Unexpected(failure(error_kind(rc) == ErrorKind::transient ? ErrorKind::transient : ErrorKind::permanent,
                                 fmt::format("cannot start the SFTP subsystem: {}", error_text(rc))));
  co_return Result<void>{};
}

} // namespace offsite::net
