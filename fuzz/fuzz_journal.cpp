// A transaction journal read from a remote is untrusted: recovery decides from it what to keep
// and what to delete. Invariants: reading never crashes; a rejection names the file; an accepted
// journal keeps every path rule (nothing it names leaves the mirror or its staging), and writing
// it and reading it back gives the same journal and the same bytes.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "manifest/manifest.hpp"
#include "manifest/remote_path.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace offsite::manifest;
  constexpr std::string_view k_name = "fuzz/tx/t/journal.json";
  auto journal = read_journal(std::string_view(reinterpret_cast<const char*>(data), size), k_name);
  if (!journal) {
    if (!journal.error().message.starts_with(std::string(k_name) + ": ")) std::abort();
    return 0;
  }
  for (const auto& entry : journal->entries) {
    if (!validate_relative_path(entry.path) || !validate_relative_path(entry.staged)) std::abort();
    if (!entry.direct && !entry.staged.starts_with("tx/" + journal->txid + "/")) std::abort();
  }
  std::string text = write_journal(*journal);
  auto again = read_journal(text, k_name);
  if (!again || !(*again == *journal) || write_journal(*again) != text) std::abort();
  return 0;
}
