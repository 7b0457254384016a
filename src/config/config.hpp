#pragma once
// The configuration as the rest of offsite sees it: plain structs, defaults from BRIEF §3.
// Everything here has been validated by load_config_*(); code that holds a Config may trust it.

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "config/secrets.hpp"
#include "util/log.hpp"

namespace offsite::config {

inline constexpr std::uint64_t k_mib = 1024 * 1024;

// Where a [[repository]] block starts, so runtime errors can point back at the file.
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;
};

struct Service {
  std::filesystem::path state_dir = "/var/lib/offsite";
  log::Level log_level = log::Level::info;
  std::filesystem::path metrics_file;  // empty: no metrics
  std::vector<std::string> on_failure; // argv; empty: nothing runs
};

// Minutes after local midnight. Both absent: all day. end <= start crosses midnight.
struct Window {
  std::optional<int> start_minute;
  std::optional<int> end_minute;
  bool all_day() const { return !start_minute || !end_minute; }
};

// Indexed Monday = 0 .. Sunday = 6 (ISO order), as std::chrono::weekday::iso_encoding() - 1.
using Days = std::array<bool, 7>;
inline constexpr Days k_every_day = {true, true, true, true, true, true, true};

struct LocalTarget {
  std::filesystem::path path; // absolute
};

struct SmbTarget {
  std::string server;   // from share = '\\server\share\folder'
  std::string share;    //
  std::string path;     // the folder inside the share, '/'-separated, no leading '/'; may be empty
  std::string username; // without the domain
  std::string domain;   // from DOMAIN\user, user@domain or `domain`
  Secret password;
  int port = 445;
};

struct SftpTarget {
  std::string host;
  int port = 22;
  std::string path; // absolute on the server
  std::string username;
  Secret password;
  std::filesystem::path private_key; // empty: none
  Secret private_key_passphrase;
  std::filesystem::path known_hosts; // default <state_dir>/known_hosts
};

// `explicit` is a keyword, hence the suffixes.
enum class FtpTls { none, explicit_tls, implicit_tls };

// Both `ftp` (tls = none) and `ftps` (explicit by default).
struct FtpTarget {
  std::string host;
  int port = 21; // 990 for implicit TLS
  std::string path;
  std::string username; // empty: anonymous
  Secret password;
  FtpTls tls = FtpTls::none;
  std::filesystem::path ca_file; // ftps only; empty: system CAs
};

// `virtual` is a keyword, hence virtual_hosted.
enum class S3UrlStyle { virtual_hosted, path };

struct S3Target {
  std::string bucket;
  std::string prefix;                                // no leading or trailing '/'; may be empty
  std::string region;                                // "us-east-1" when only an endpoint is given
  std::string endpoint;                              // empty: AWS's for the region; else "http(s)://host[:port]"
  S3UrlStyle url_style = S3UrlStyle::virtual_hosted; // path by default for a custom endpoint
  std::string access_key_id;                         // empty: the AWS environment variables
  Secret secret_access_key;
  Secret session_token;
  std::string storage_class;
  std::string server_side_encryption;
  std::filesystem::path ca_file;
};

struct TargetConfig {
  std::string type; // local | smb | sftp | ftp | ftps | s3
  std::variant<LocalTarget, SmbTarget, SftpTarget, FtpTarget, S3Target> settings;
};

struct Repository {
  std::string name; // unique; default describe_destination(target, folder)
  std::filesystem::path path;
  std::string folder;
  Window window;
  Days days = k_every_day;
  bool allow_backups_during_sync = false;
  bool per_folder_upload = true;
  int folder_depth = 2;
  std::vector<std::string> exclude; // glob patterns, see util/glob.hpp
  int concurrency = 4;
  std::uint64_t chunk_size = 16 * k_mib;
  std::uint64_t bandwidth_limit = 0; // bytes per second; 0 = unlimited
  std::chrono::seconds retry_budget{600};
  bool stop_at_window_end = false;
  int max_delete_percent = 50;
  int max_change_percent = 50;
  std::vector<std::string> pre_sync_command;
  std::vector<std::string> post_sync_command;
  TargetConfig target;
  SourceLocation location;
};

struct Config {
  Service service;
  std::vector<Repository> repositories;
  std::filesystem::path source; // the file it was read from (the source name for strings)
};

} // namespace offsite::config
