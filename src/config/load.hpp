#pragma once
// Reading and validating the TOML config (BRIEF §3). Every problem is reported at once, each
// naming file, line, column and key, because an administrator fixes a config in one pass; a
// config with any error yields no Config, so nothing runs on it.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "util/error.hpp"

namespace offsite::config {

struct Diagnostic {
  std::string file;
  int line = 0; // 1-based; 0 when the problem has no position (an unreadable file)
  int column = 0;
  std::string key; // "repository[2].target.port" (arrays count from 1); empty if none
  std::string message;

  // "FILE:LINE:COL: KEY: MESSAGE"; the key part is left out when empty, LINE:COL when 0.
  std::string to_string() const;
};

struct LoadResult {
  std::optional<Config> config;
  std::vector<Diagnostic> errors;
  std::vector<Diagnostic> warnings;
  bool ok() const { return config && errors.empty(); }
};

// Relative paths in the file are resolved against the file's directory. Warns when the file
// holds an inline secret and is readable by group or others.
LoadResult load_config_file(const std::filesystem::path& path);

// As load_config_file, for text; relative paths resolve against the current directory and no
// permission check is made. `source_name` names the text in diagnostics.
LoadResult load_config_string(std::string_view toml, std::string source_name);

// The repository named `name_or_path`, else the only one whose local path it is; an
// ErrorKind::config error listing the names otherwise.
Result<const Repository*> find_repository(const Config& config, std::string_view name_or_path);

// Where the target points, without any secret: "sftp://backup@nas.example:22/srv/offsite",
// "s3://bucket/prefix (https://endpoint)", "smb://server/share/path", "/mnt/usb/offsite".
std::string describe_target(const TargetConfig& target);

// The target location joined with `folder`, where the copy lives: "sftp://u@nas:22/srv/offsite/Site1",
// "s3://bucket/prefix/Site1 (https://endpoint)". A repository's default name.
std::string describe_destination(const TargetConfig& target, std::string_view folder);

// One line for `offsite check-config`: name, local path, target and folder, window and days,
// commit granularity.
std::string summarize(const Repository& repository);

// "mon-fri", "every day", "mon,wed,sat"; and "all day" or "22:00-06:00".
std::string describe_days(const Days& days);
std::string describe_window(const Window& window);

} // namespace offsite::config
