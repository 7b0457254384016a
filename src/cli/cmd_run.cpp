#include "cli/commands.hpp"

#include "cli/context.hpp"
#include "cli/exit_codes.hpp"
#include "service/daemon.hpp"

namespace offsite::cli {

int cmd_run(const GlobalOptions& global) {
  auto config = load_config_or_report(global);
  if (!config) return k_exit_usage;
  return service::run_daemon(config_path(global), std::move(*config));
}

} // namespace offsite::cli
