#include "cli/context.hpp"

#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

#include "config/load.hpp"

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
