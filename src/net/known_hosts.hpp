#pragma once
// Trusting an SSH server's host key: OpenSSH's `known_hosts` format, read by our own small parser
// rather than libssh2's (whose 1.10 matcher reports a key of another type as "not found" and whose
// writer drops every line it cannot parse). Hashed names (`|1|salt|hash`), `[host]:port` names,
// `*`/`?` wildcards, `!` negations and `@revoked` are understood; `@cert-authority` lines are
// ignored (libssh2 1.10 cannot check host certificates).

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace offsite::net {

// A server's public host key as the SSH wire format carries it.
struct HostKey {
  std::string type; // "ssh-ed25519", "ecdsa-sha2-nistp256", …: the blob's first string
  std::string blob; // the raw public key blob
};

// The type a key blob names (its first SSH string); "" if the blob is malformed.
std::string key_type_of_blob(std::string_view blob);

// "SHA256:…", as `ssh-keygen -l` prints it (unpadded base64 of the blob's SHA-256).
std::string fingerprint_sha256(std::string_view blob);

// The name known_hosts uses for a server: "host" on port 22, "[host]:port" elsewhere.
std::string known_hosts_name(std::string_view host, int port);

enum class HostKeyVerdict {
  trusted, // a line names this host with exactly this key
  unknown, // no line names this host with a key of this type
  changed, // a line names this host with a different key of the same type: refuse loudly
  revoked, // an @revoked line holds this key
};

struct HostKeyCheck {
  HostKeyVerdict verdict = HostKeyVerdict::unknown;
  int line = 0;                       // where the matching or conflicting key is (1-based; 0: none)
  std::vector<std::string> key_types; // the key types known for this host, in file order
};

// Looks `key` up for `host`:`port` in the text of a known_hosts file.
HostKeyCheck check_host_key(std::string_view known_hosts, std::string_view host, int port, const HostKey& key);

// The key types `known_hosts` holds for `host`:`port` (to ask the server for one of them first).
std::vector<std::string> known_key_types(std::string_view known_hosts, std::string_view host, int port);

// One known_hosts line (with its newline) that trusts `key` for `host`:`port`.
std::string known_hosts_line(std::string_view host, int port, const HostKey& key);

// Adds `line` to the file at `path`, keeping every existing line, atomically (a temporary file
// renamed over it); creates the file (0644) and its directory if missing.
Result<void> append_known_host(const std::filesystem::path& path, std::string_view line);

// Base64 as OpenSSH writes it; decode returns false on a malformed input.
std::string base64_encode(std::string_view bytes, bool pad = true);
bool base64_decode(std::string_view text, std::string& out);

} // namespace offsite::net
