#include "cli/commands.hpp"

#include "cli/exit_codes.hpp"

namespace offsite::cli {

// Placeholder while the command is being written.
int cmd_restore(const GlobalOptions& global, const RestoreOptions&) {
  return cmd_not_available(global, "restore", "the sync engine issue");
}

} // namespace offsite::cli
