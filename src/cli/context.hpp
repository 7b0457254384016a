#pragma once
// What every command needs first: the configuration, loaded and checked, and a repository by name.

#include <filesystem>
#include <optional>

#include "cli/commands.hpp"
#include "config/config.hpp"

namespace offsite::cli {

// --config, else $OFFSITE_CONFIG, else /etc/offsite/offsite.toml (BRIEF §2).
std::filesystem::path config_path(const GlobalOptions& global);

// Loads the configuration; prints warnings, and on failure every problem (file:line:col: key:
// message) to stderr and returns nullopt: nothing runs on a bad config.
std::optional<config::Config> load_config_or_report(const GlobalOptions& global);

// The repository `name_or_path` names, or nullopt after printing why not.
const config::Repository* find_repository_or_report(const config::Config& config, const std::string& name_or_path);

// "22:00–06:00 on mon,tue,wed" / "all day, every day".
std::string describe_schedule(const config::Repository& repository);

} // namespace offsite::cli
