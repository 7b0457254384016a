#pragma once
// One SSH connection with its SFTP channel: libssh2 1.10 in non-blocking mode, driven by the Asio
// loop (research/tech-notes.md §3). Each libssh2 call is made, and when it says EAGAIN the
// coroutine waits for the socket in the direction libssh2_session_block_directions() names, then
// makes the same call again. No thread per connection, no polling.
//
// libssh2 keeps the state of a non-blocking SFTP call in the LIBSSH2_SFTP object, so one session
// runs ONE call at a time, from its first attempt to its result (§3.2); the SFTP target gives each
// concurrent operation a session of its own (target/sftp_pool.hpp). A call that times out, is
// cancelled or fails at the transport level leaves libssh2 half-way: the session is then broken
// and is only ever torn down, never reused.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include "net/ssh_library.hpp"
#include "util/error.hpp"

namespace offsite::net {

// What a session needs to log in. Holds secrets: never formatted, logged or copied into errors.
struct SshCredentials {
  std::string password;              // empty: none
  std::filesystem::path private_key; // empty: none
  std::string passphrase;            // of the private key; empty: none
};

// `--accept-host-key[=SHA256:…]` (test-connection only) and where trusted keys live.
struct HostKeyPolicy {
  std::filesystem::path known_hosts;
  bool accept_unknown = false;
  std::string pinned_fingerprint; // "SHA256:…"; empty: whichever key the server shows
};

struct SshOptions {
  std::string host;
  int port = 22;
  std::string username;
  SshCredentials credentials;
  HostKeyPolicy host_keys;
  std::string repository_name; // for the command an error suggests
  std::string describe;        // "sftp://user@host:port", prefixed to every message
  // No progress in a socket wait for this long: the connection is taken for dead (transient).
  std::chrono::milliseconds io_timeout = std::chrono::seconds(30);
  std::chrono::seconds keepalive_interval = std::chrono::seconds(30);
};

// libssh2 results other than its own codes.
inline constexpr long k_ssh_timed_out = -1001;
inline constexpr long k_ssh_cancelled = -1002;

class SshSession final {
public:
  // Connects, checks the host key, logs in and opens the SFTP subsystem. Errors: transient for
  // network trouble, permanent for a refused host key or login (with what to do about it).
  static asio::awaitable<Result<std::unique_ptr<SshSession>>> open(std::shared_ptr<const SshOptions> options);

  SshSession(const SshSession&) = delete;
  SshSession& operator=(const SshSession&) = delete;
  // Says goodbye when healthy; otherwise drops the connection. Never blocks.
  ~SshSession();

  // Runs `call` (returning a libssh2 code, EAGAIN meaning "again") until it completes. Returns its
  // result, or k_ssh_timed_out / k_ssh_cancelled (the session is then broken).
  template <class Call> asio::awaitable<long> run(Call call) {
    InCall guard(*this);
    for (;;) {
      long rc = static_cast<long>(call());
      if (rc != LIBSSH2_ERROR_EAGAIN) {
        if (is_transport_error(rc)) m_broken = true;
        guard.done();
        co_return rc;
      }
      long waited = co_await wait_for_socket();
      if (waited != 0) {
        m_broken = true;
        guard.done();
        co_return waited;
      }
    }
  }

  LIBSSH2_SESSION* session() const { return m_session; }
  LIBSSH2_SFTP* sftp() const { return m_sftp; }
  const SshOptions& options() const { return *m_options; }

  // False once broken (transport error, timeout, cancelled mid-call): tear it down.
  bool healthy() const { return !m_broken && !m_in_call; }
  void mark_broken() { m_broken = true; }

  // A message for a failed call: libssh2's own text, or the SFTP status for SFTP_PROTOCOL.
  std::string error_text(long rc) const;
  // The SFTP status code after LIBSSH2_ERROR_SFTP_PROTOCOL.
  unsigned long sftp_status() const;
  // The ErrorKind a failed call deserves (transport trouble is transient).
  ErrorKind error_kind(long rc) const;

  // Waits for the socket as libssh2 last asked (for a call that returned without EAGAIN but
  // needs the server first). 0, or k_ssh_timed_out / k_ssh_cancelled.
  asio::awaitable<long> wait_for_socket();

  // Frees `handle` without a round trip, breaking the session (writes or read-ahead may be in
  // flight on it): for files abandoned half-way.
  void drop_handle(LIBSSH2_SFTP_HANDLE* handle);

  // Sends a keepalive if the session has been idle for the interval. Only on an idle session.
  void keep_alive();

  // The negotiated client-to-server cipher and MAC, for logs and benchmarks.
  std::string cipher() const;

  std::chrono::steady_clock::time_point idle_since;

  static bool is_transport_error(long rc);

private:
  explicit SshSession(std::shared_ptr<const SshOptions> options, asio::any_io_executor executor);

  struct InCall {
    explicit InCall(SshSession& session) : m_session(session) { m_session.m_in_call = true; }
    ~InCall() {
      // Left by an exception (a cancelled coroutine): libssh2 is half-way through the call.
      if (!m_done) m_session.m_broken = true;
      m_session.m_in_call = false;
    }
    void done() { m_done = true; }
    SshSession& m_session;
    bool m_done = false;
  };

  asio::awaitable<Result<void>> connect_socket();
  asio::awaitable<Result<void>> handshake();
  Result<void> verify_host_key();
  asio::awaitable<Result<void>> authenticate();
  asio::awaitable<Result<void>> login_with_key(bool& refused);
  asio::awaitable<Result<void>> login_with_password(const std::string& methods);
  asio::awaitable<Result<void>> start_sftp();
  Error failure(ErrorKind kind, std::string what) const;
  void tear_down();

  std::shared_ptr<const SshOptions> m_options;
  asio::ip::tcp::socket m_socket;
  asio::steady_timer m_timer;
  LIBSSH2_SESSION* m_session = nullptr;
  LIBSSH2_SFTP* m_sftp = nullptr;
  bool m_broken = false;
  bool m_in_call = false;
};

} // namespace offsite::net
