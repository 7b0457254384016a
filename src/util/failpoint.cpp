#include "util/failpoint.hpp"

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <string>
#include <unistd.h>

namespace offsite {
namespace {

struct Armed {
  std::string name;
  long at = 0;
  std::atomic<long> hits{0};
};

Armed* armed() {
  static Armed* point = []() -> Armed* {
    const char* spec = std::getenv("OFFSITE_FAILPOINT");
    if (!spec || !*spec) return nullptr;
    std::string text(spec);
    auto colon = text.rfind(':');
    auto* result = new Armed;
    result->name = text.substr(0, colon);
    result->at = colon == std::string::npos ? 1 : std::atol(text.c_str() + colon + 1);
    if (result->at < 1) result->at = 1;
    return result;
  }();
  return point;
}

} // namespace

void failpoint(std::string_view name) {
  Armed* point = armed();
  if (!point || point->name != name) return;
  if (point->hits.fetch_add(1) + 1 == point->at) ::kill(::getpid(), SIGKILL);
}

} // namespace offsite
