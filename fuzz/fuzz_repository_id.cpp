// The remote's .offsite/repository-id is untrusted: anything may sit there.
// Invariants: parsing never crashes; an accepted ID is canonical and re-parses to itself.

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "util/uuid.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = offsite::parse_uuid(text);
  if (parsed) {
    auto again = offsite::parse_uuid(*parsed);
    if (!again || *again != *parsed) std::abort();
  }
  return 0;
}
