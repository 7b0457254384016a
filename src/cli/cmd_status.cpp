#include "cli/commands.hpp"

#include <vector>

#include <fmt/format.h>

#include "cli/context.hpp"
#include "cli/exit_codes.hpp"
#include "config/load.hpp"
#include "util/json_writer.hpp"

namespace offsite::cli {

int cmd_status(const GlobalOptions& global, const StatusOptions& options) {
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

  if (options.json) {
    JsonWriter json;
    json.begin_array();
    for (const auto* repository : selected) {
      json.begin_object()
          .field("repository", repository->name)
          .field("path", repository->path.string())
          .field("target", config::describe_target(repository->target))
          .field("folder", repository->folder)
          .field("schedule", describe_schedule(*repository))
          .field("state", "idle");
      json.key("last_result").null();
      json.end_object();
    }
    json.end_array();
    fmt::print("{}\n", json.str());
    return k_exit_success;
  }
  for (const auto* repository : selected) {
    fmt::print("{}\n  state:       idle\n  target:      {} (folder {})\n  schedule:    {}\n  last result: none "
               "recorded\n",
               repository->name, config::describe_target(repository->target), repository->folder,
               describe_schedule(*repository));
  }
  return k_exit_success;
}

} // namespace offsite::cli
