#include "cli/cli.hpp"

#include <cstdio>

namespace offsite::cli {

int run(int, char**) {
  std::fputs("offsite: not built yet\n", stderr);
  return 2;
}

} // namespace offsite::cli
