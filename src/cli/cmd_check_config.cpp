#include "cli/commands.hpp"

#include <fmt/format.h>

#include "cli/context.hpp"
#include "cli/exit_codes.hpp"
#include "config/load.hpp"

namespace offsite::cli {

int cmd_check_config(const GlobalOptions& global) {
  auto config = load_config_or_report(global);
  if (!config) return k_exit_usage;
  fmt::print("{}: OK, {} repositor{}\n", config_path(global).string(), config->repositories.size(),
             config->repositories.size() == 1 ? "y" : "ies");
  for (const auto& repository : config->repositories)
    fmt::print("  {}\n", config::summarize(repository));
  return k_exit_success;
}

} // namespace offsite::cli
