#include "cli/commands.hpp"

#include <fmt/format.h>

#include "cli/exit_codes.hpp"

namespace offsite::cli {

int cmd_not_available(const GlobalOptions&, std::string_view command, std::string_view landing_with) {
  fmt::print(stderr, "offsite: `{}` is not available in this build yet (it lands with {})\n", command, landing_with);
  return k_exit_usage;
}

} // namespace offsite::cli
