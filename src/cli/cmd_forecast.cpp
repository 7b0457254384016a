#include "cli/commands.hpp"

#include <ctime>
#include <vector>

#include <fmt/format.h>

#include "cli/context.hpp"
#include "cli/exit_codes.hpp"
#include "manifest/manifest.hpp"
#include "service/scheduler.hpp"
#include "util/json_writer.hpp"

namespace offsite::cli {
namespace {

std::string local_text(service::Clock::time_point time) {
  std::time_t t = service::Clock::to_time_t(time);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char text[64];
  std::strftime(text, sizeof(text), "%a %Y-%m-%d %H:%M %Z", &tm);
  return text;
}

} // namespace

int cmd_forecast(const GlobalOptions& global, const ForecastOptions& options) {
  auto config = load_config_or_report(global);
  if (!config) return k_exit_usage;
  std::vector<const config::Repository*> selected;
  if (options.name) {
    auto* repository = find_repository_or_report(*config, *options.name);
    if (!repository) return k_exit_usage;
    selected.push_back(repository);
  } else {
    for (const auto& repository : config->repositories)
      selected.push_back(&repository);
  }
  auto now = service::Clock::now();
  JsonWriter json;
  json.begin_array();
  for (const auto* repository : selected) {
    // The same function the scheduler uses, so the forecast is what will happen.
    auto windows = service::upcoming_windows(repository->window, repository->days, now, options.days);
    if (options.json) {
      json.begin_object().field("repository", repository->name).key("windows").begin_array();
      for (const auto& window : windows)
        json.begin_object()
            .field("start", manifest::format_timestamp(window.start))
            .field("end", manifest::format_timestamp(window.end))
            .field("start_local", local_text(window.start))
            .field("end_local", local_text(window.end))
            .field("open_now", window.start <= now && now < window.end)
            .end_object();
      json.end_array().end_object();
      continue;
    }
    fmt::print("{} ({})\n", repository->name, describe_schedule(*repository));
    if (windows.empty()) fmt::print("  no window in the next {} days\n", options.days);
    for (const auto& window : windows)
      fmt::print("  {} -> {}{}\n", local_text(window.start), local_text(window.end),
                 window.start <= now && now < window.end ? "  (open now)" : "");
  }
  json.end_array();
  if (options.json) fmt::print("{}\n", json.str());
  return k_exit_success;
}

} // namespace offsite::cli
