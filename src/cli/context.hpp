#pragma once
// What every command needs first: the configuration, loaded and checked, and a repository by name.

#include <filesystem>
#include <optional>

#include "cli/commands.hpp"
#include "cli/runtime.hpp"
#include "config/config.hpp"
#include "target/factory.hpp"

namespace offsite::cli {

// --config, else $OFFSITE_CONFIG, else /etc/offsite/offsite.toml (BRIEF §2).
std::filesystem::path config_path(const GlobalOptions& global);

// Loads the configuration; prints warnings, and on failure every problem (file:line:col: key:
// message) to stderr and returns nullopt: nothing runs on a bad config.
std::optional<config::Config> load_config_or_report(const GlobalOptions& global);

// The repository `name_or_path` names, or nullopt after printing why not.
const config::Repository* find_repository_or_report(const config::Config& config, const std::string& name_or_path);

// What every command on one repository starts with: the configuration, the repository by name,
// the log level set, and its state directory created.
struct RepositoryCommand {
  config::Config config;
  std::size_t index = 0;
  std::filesystem::path state; // sync::repository_state_dir()
  const config::Repository& repository() const { return config.repositories[index]; }
};

// nullopt after printing why, with `exit_code` set (2 for a bad config or name, 1 otherwise).
std::optional<RepositoryCommand> open_repository(const GlobalOptions& global, const std::string& name, int& exit_code);

// The repository's target on `runtime`'s pool; nullopt after printing why, with `exit_code` set.
std::optional<target::BuiltTarget> build_target_or_report(const RepositoryCommand& command, Runtime& runtime,
                                                          int& exit_code, const target::HostKeyTrust& trust = {});

// "22:00–06:00 on mon,tue,wed" / "all day, every day".
std::string describe_schedule(const config::Repository& repository);

} // namespace offsite::cli
