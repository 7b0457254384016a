// A folder manifest read from a remote is untrusted (its size and hash are checked against the
// commit record first, but a damaged or hostile record may vouch for anything). Invariants:
// reading never crashes; a rejection names the file; an accepted manifest keeps every path rule,
// and writing it and reading it back gives the same manifest and the same bytes.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "manifest/manifest.hpp"
#include "manifest/remote_path.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace offsite::manifest;
  constexpr std::string_view k_name = "fuzz/folders/m.json";
  auto manifest = read_folder_manifest(std::string_view(reinterpret_cast<const char*>(data), size), k_name);
  if (!manifest) {
    if (!manifest.error().message.starts_with(std::string(k_name) + ": ")) std::abort();
    return 0;
  }
  if (!validate_folder_path(manifest->folder)) std::abort();
  for (const auto& file : manifest->files)
    if (!validate_relative_path(file.path) || !is_within(manifest->folder, file.path)) std::abort();
  std::string text = write_folder_manifest(*manifest);
  auto again = read_folder_manifest(text, k_name);
  if (!again || !(*again == *manifest) || write_folder_manifest(*again) != text) std::abort();
  return 0;
}
