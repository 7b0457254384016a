#include "cli/commands.hpp"

#include "cli/exit_codes.hpp"

namespace offsite::cli {

// Placeholder while the command is being written.
int cmd_reinitialize(const GlobalOptions& global, const ReinitializeOptions&) {
  return cmd_not_available(global, "reinitialize", "the sync engine issue");
}

} // namespace offsite::cli
