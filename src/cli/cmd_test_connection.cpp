#include "cli/commands.hpp"

#include "cli/exit_codes.hpp"

namespace offsite::cli {

// Placeholder while the command is being written.
int cmd_test_connection(const GlobalOptions& global, const TestConnectionOptions&) {
  return cmd_not_available(global, "test-connection", "the sync engine issue");
}

} // namespace offsite::cli
