// Logging in: a private key first (when configured), then a password (the "password" method, or
// "keyboard-interactive" answering every prompt with it, as PAM-backed servers ask).
//
// Every failure says what to do, and none repeats a secret. One trap is called out by name:
// libssh2 1.10 signs with RSA keys using SHA-1 only ("ssh-rsa"), which OpenSSH 8.8 and later
// refuse by default (tech-notes §3.8), so a refused RSA key gets an error that says so and
// suggests an ed25519 key rather than a bare "authentication failed".

#include <cstdlib>
#include <cstring>
#include <optional>

#include <fmt/format.h>

#include "net/known_hosts.hpp"
#include "net/ssh_session.hpp"
#include "util/fs.hpp"

namespace offsite::net {
namespace {

struct KeyFileFacts {
  std::string type;       // "ssh-rsa", "ssh-ed25519", …; "" if unknown
  bool encrypted = false; // needs a passphrase
};

std::uint32_t read_u32(std::string_view& in) {
  if (in.size() < 4) {
    in = {};
    return 0;
  }
  std::uint32_t value = static_cast<unsigned char>(in[0]) << 24 | static_cast<unsigned char>(in[1]) << 16 |
                        static_cast<unsigned char>(in[2]) << 8 | static_cast<unsigned char>(in[3]);
  in.remove_prefix(4);
  return value;
}

std::string_view read_string(std::string_view& in) {
  auto length = read_u32(in);
  if (length > in.size()) {
    in = {};
    return {};
  }
  auto value = in.substr(0, length);
  in.remove_prefix(length);
  return value;
}

// What the key file says about itself without decrypting it: the OpenSSH format keeps the public
// key and the cipher name in the clear; PEM names RSA/EC and encryption in its headers.
KeyFileFacts inspect_key_file(const std::string& content) {
  KeyFileFacts facts;
  if (content.find("BEGIN RSA PRIVATE KEY") != std::string::npos) facts.type = "ssh-rsa";
  if (content.find("BEGIN EC PRIVATE KEY") != std::string::npos) facts.type = "ecdsa";
  if (content.find("ENCRYPTED") != std::string::npos) facts.encrypted = true;
  auto begin = content.find("-----BEGIN OPENSSH PRIVATE KEY-----");
  auto end = content.find("-----END OPENSSH PRIVATE KEY-----");
  if (begin == std::string::npos || end == std::string::npos) return facts;
  std::string body;
  for (auto i = begin + 35; i < end; ++i)
    if (content[i] != '\n' && content[i] != '\r') body += content[i];
  std::string decoded;
  if (!base64_decode(body, decoded)) return facts;
  constexpr std::string_view magic("openssh-key-v1\0", 15);
  std::string_view in(decoded);
  if (in.substr(0, magic.size()) != magic) return facts;
  in.remove_prefix(magic.size());
  auto cipher = read_string(in);
  read_string(in); // kdf name
  read_string(in); // kdf options
  if (read_u32(in) < 1) return facts;
  facts.type = key_type_of_blob(read_string(in));
  facts.encrypted = cipher != "none";
  return facts;
}

bool offers(const std::string& methods, std::string_view method) {
  std::string_view rest(methods);
  while (!rest.empty()) {
    auto comma = rest.find(',');
    if (rest.substr(0, comma) == method) return true;
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  return false;
}

// keyboard-interactive: every prompt is answered with the password (libssh2 frees the copies).
void answer_prompts(const char*, int, const char*, int, int prompts, const LIBSSH2_USERAUTH_KBDINT_PROMPT*,
                    LIBSSH2_USERAUTH_KBDINT_RESPONSE* responses, void** abstract) {
  const auto* password = static_cast<const std::string*>(*abstract);
  for (int i = 0; i < prompts; ++i) {
    auto* copy = static_cast<char*>(std::malloc(password->size() + 1));
    if (!copy) return;
    std::memcpy(copy, password->c_str(), password->size() + 1);
    responses[i].text = copy;
    responses[i].length = static_cast<unsigned int>(password->size());
  }
}

} // namespace

asio::awaitable<Result<void>> SshSession::authenticate() {
  const auto& options = *m_options;
  std::string methods;
  auto list = [this, &options, &methods]() -> long {
    const char* offered =
        ssh2().userauth_list(m_session, options.username.c_str(), static_cast<unsigned int>(options.username.size()));
    if (offered) {
      methods = offered;
      return 0;
    }
    if (ssh2().userauth_authenticated(m_session)) return 1; // "none" was enough
    return ssh2().session_last_errno(m_session);
  };
  long rc = co_await run(list);
  if (rc == 1) co_return Result<void>{};
  if (rc != 0)
    co_return Unexpected(failure(error_kind(rc), fmt::format("cannot ask for login methods: {}", error_text(rc))));

  bool key_refused = false;
  std::optional<Error> key_error;
  if (!options.credentials.private_key.empty()) {
    if (!offers(methods, "publickey")) {
      key_error =
          failure(ErrorKind::permanent, fmt::format("the server does not accept keys (it offers: {})", methods));
    } else {
      auto by_key = co_await login_with_key(key_refused);
      if (by_key) co_return by_key;
      key_error = by_key.error();
    }
  }
  if (options.credentials.password.empty()) {
    if (key_error) co_return Unexpected(*key_error);
    co_return Unexpected(failure(ErrorKind::config, "neither a password nor a private key is configured"));
  }
  // A key that could not even be read is a configuration error to report, not to paper over.
  if (key_error && !key_refused) co_return Unexpected(*key_error);
  co_return co_await login_with_password(methods);
}

asio::awaitable<Result<void>> SshSession::login_with_key(bool& refused) {
  const auto& options = *m_options;
  const auto& key_path = options.credentials.private_key;
  auto file = key_path.string();
  auto content = fs::read_file(key_path, 1 << 20);
  if (!content)
    co_return Unexpected(failure(ErrorKind::permanent,
                                 fmt::format("cannot read the private key {}: {}", file, content.error().message)));
  auto facts = inspect_key_file(*content);
  if (facts.encrypted && options.credentials.passphrase.empty())
    co_return Unexpected(failure(ErrorKind::permanent,
                                 fmt::format("the private key {} is encrypted: set private_key_passphrase", file)));
  const char* passphrase = options.credentials.passphrase.empty() ? nullptr : options.credentials.passphrase.c_str();
  auto login = [this, &options, &file, passphrase] {
    return ssh2().userauth_publickey_fromfile_ex(m_session, options.username.c_str(),
                                                 static_cast<unsigned int>(options.username.size()), nullptr,
                                                 file.c_str(), passphrase);
  };
  long rc = co_await run(login);
  if (rc == 0) co_return Result<void>{};
  if (rc == LIBSSH2_ERROR_FILE)
    co_return Unexpected(
        failure(ErrorKind::permanent,
                fmt::format("cannot use the private key {}: {}", file,
                            facts.encrypted ? "wrong private_key_passphrase, or a key format libssh2 1.10 cannot read"
                                            : "not a key libssh2 1.10 can read (use an OpenSSH or PEM key file)")));
  if (rc == LIBSSH2_ERROR_AUTHENTICATION_FAILED || rc == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED) {
    refused = true;
    if (facts.type == "ssh-rsa")
      co_return Unexpected(failure(
          ErrorKind::permanent,
          fmt::format("the server refused the RSA key {} for user \"{}\": libssh2 1.10 signs with RSA keys using "
                      "SHA-1 (ssh-rsa) only, which OpenSSH 8.8 and later refuse by default. Use an ed25519 key "
                      "(ssh-keygen -t ed25519) or an ECDSA key, and add its .pub to the server's authorized_keys",
                      file, options.username)));
    co_return Unexpected(
        failure(ErrorKind::permanent, fmt::format("the server refused the key {} for user \"{}\" (is its public key in "
                                                  "the user's authorized_keys on the server?)",
                                                  file, options.username)));
  }
  co_return Unexpected(failure(error_kind(rc), fmt::format("key login failed: {}", error_text(rc))));
}

asio::awaitable<Result<void>> SshSession::login_with_password(const std::string& methods) {
  const auto& options = *m_options;
  const auto& user = options.username;
  auto user_length = static_cast<unsigned int>(user.size());
  long rc = LIBSSH2_ERROR_METHOD_NONE;
  if (offers(methods, "password")) {
    const auto& password = options.credentials.password;
    auto login = [this, &user, user_length, &password] {
      return ssh2().userauth_password_ex(m_session, user.c_str(), user_length, password.c_str(),
                                         static_cast<unsigned int>(password.size()), nullptr);
    };
    rc = co_await run(login);
  } else if (offers(methods, "keyboard-interactive")) {
    // The callback finds the password through the session's abstract pointer.
    void** abstract = ssh2().session_abstract(m_session);
    *abstract = const_cast<std::string*>(&options.credentials.password);
    auto login = [this, &user, user_length] {
      return ssh2().userauth_keyboard_interactive_ex(m_session, user.c_str(), user_length, &answer_prompts);
    };
    rc = co_await run(login);
    *abstract = nullptr;
  } else {
    co_return Unexpected(
        failure(ErrorKind::permanent,
                fmt::format("the server does not accept passwords for user \"{}\" (it offers: {})", user, methods)));
  }
  if (rc == 0) co_return Result<void>{};
  if (rc == LIBSSH2_ERROR_AUTHENTICATION_FAILED)
    co_return Unexpected(
        failure(ErrorKind::permanent, fmt::format("the server refused the password for user \"{}\" (wrong password, or "
                                                  "no such user)",
                                                  user)));
  if (rc == LIBSSH2_ERROR_PASSWORD_EXPIRED)
    co_return Unexpected(failure(ErrorKind::permanent, fmt::format("the password of user \"{}\" has expired", user)));
  co_return Unexpected(failure(error_kind(rc), fmt::format("password login failed: {}", error_text(rc))));
}

} // namespace offsite::net
