// Another writer's lease read from a remote is untrusted. Invariants: reading never crashes; a
// rejection names the file; an accepted lease round-trips to the same lease and bytes, and its
// file name holds only [A-Za-z0-9._-].

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "manifest/manifest.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace offsite::manifest;
  constexpr std::string_view k_name = "fuzz/lock/l.json";
  auto lease = read_lease(std::string_view(reinterpret_cast<const char*>(data), size), k_name);
  if (!lease) {
    if (!lease.error().message.starts_with(std::string(k_name) + ": ")) std::abort();
    return 0;
  }
  std::string text = write_lease(*lease);
  auto again = read_lease(text, k_name);
  if (!again || !(*again == *lease) || write_lease(*again) != text) std::abort();
  for (char c : lease_file_name(*lease)) {
    bool plain =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!plain) std::abort();
  }
  return 0;
}
