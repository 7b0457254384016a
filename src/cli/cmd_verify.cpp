#include "cli/commands.hpp"

#include "cli/exit_codes.hpp"

namespace offsite::cli {

// Placeholder while the command is being written.
int cmd_verify(const GlobalOptions& global, const VerifyOptions&) {
  return cmd_not_available(global, "verify", "the sync engine issue");
}

} // namespace offsite::cli
