#include "cli/context.hpp"

#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

#include "cli/exit_codes.hpp"
#include "config/load.hpp"
#include "sync/result.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"

namespace offsite::cli {

std::filesystem::path config_path(const GlobalOptions& global) {
  if (!global.config_path.empty()) return global.config_path;
  if (const char* from_env = std::getenv("OFFSITE_CONFIG"); from_env && *from_env) return from_env;
  return "/etc/offsite/offsite.toml";
}

std::optional<config::Config> load_config_or_report(const GlobalOptions& global) {
  auto loaded = config::load_config_file(config_path(global));
  for (const auto& warning : loaded.warnings)
    fmt::print(stderr, "warning: {}\n", warning.to_string());
  for (const auto& error : loaded.errors)
    fmt::print(stderr, "{}\n", error.to_string());
  if (!loaded.ok()) {
    fmt::print(stderr, "offsite: {} problem(s) in {}; nothing was run\n", loaded.errors.size(),
               config_path(global).string());
    return std::nullopt;
  }
  return std::move(loaded.config);
}

const config::Repository* find_repository_or_report(const config::Config& config, const std::string& name_or_path) {
  auto found = config::find_repository(config, name_or_path);
  if (!found) {
    fmt::print(stderr, "offsite: {}\n", found.error().message);
    return nullptr;
  }
  return *found;
}

std::optional<RepositoryCommand> open_repository(const GlobalOptions& global, const std::string& name, int& exit_code) {
  exit_code = k_exit_usage;
  auto config = load_config_or_report(global);
  if (!config) return std::nullopt;
  const auto* repository = find_repository_or_report(*config, name);
  if (!repository) return std::nullopt;
  log::set_level(config->service.log_level);
  RepositoryCommand command;
  command.index = static_cast<std::size_t>(repository - config->repositories.data());
  command.state = sync::repository_state_dir(config->service.state_dir, repository->name);
  command.config = std::move(*config);
  if (auto made = fs::create_directories(command.state, 0750); !made) {
    fmt::print(stderr, "offsite: {}\n", made.error().message);
    exit_code = k_exit_failed;
    return std::nullopt;
  }
  return command;
}

std::optional<target::BuiltTarget> build_target_or_report(const RepositoryCommand& command, Runtime& runtime,
                                                          int& exit_code, const target::HostKeyTrust& trust) {
  auto built = target::make_target(command.repository(), runtime.pool(), command.state, trust);
  if (!built) {
    fmt::print(stderr, "offsite: {}: {}\n", command.repository().name, built.error().message);
    exit_code = exit_code_for(built.error());
    return std::nullopt;
  }
  return std::move(*built);
}

std::string describe_schedule(const config::Repository& repository) {
  static constexpr const char* k_day_names[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
  std::string days;
  int count = 0;
  for (int day = 0; day < 7; ++day) {
    if (!repository.days[static_cast<size_t>(day)]) continue;
    if (!days.empty()) days += ',';
    days += k_day_names[day];
    ++count;
  }
  if (count == 7)
    days = "every day";
  else
    days = "on " + days;
  const auto& window = repository.window;
  if (!window.start_minute || !window.end_minute) return fmt::format("all day, {}", days);
  return fmt::format("{:02}:{:02}-{:02}:{:02}, {}", *window.start_minute / 60, *window.start_minute % 60,
                     *window.end_minute / 60, *window.end_minute % 60, days);
}

} // namespace offsite::cli
