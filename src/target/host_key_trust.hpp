#pragma once
// `offsite test-connection NAME --accept-host-key[=SHA256:…]`: trust an SFTP server's unknown
// host key (writing it to known_hosts), optionally only the one with this fingerprint. Only the
// SFTP target reads it; no other target has host keys.

#include <string>

namespace offsite::target {

struct HostKeyTrust {
  bool accept_unknown = false;
  std::string pinned_fingerprint; // "SHA256:…"; empty: whichever key the server shows
};

} // namespace offsite::target
