// A commit record read from a remote is untrusted. Invariants: reading never crashes; a rejection
// names the file; an accepted record keeps every path rule, and writing it and reading it back
// gives the same record and the same bytes.
//
// Random bytes almost never carry a valid checksum, which would leave the parser behind it
// unexplored; so each input is also tried sealed: its bytes before any checksum tail, given a
// correct tail (the rule of docs/remote-format.md).

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "manifest/manifest.hpp"
#include "manifest/remote_path.hpp"
#include "util/hash128.hpp"

namespace {

using namespace offsite::manifest;

constexpr std::string_view k_name = "fuzz/commits/1.json";
constexpr std::size_t k_tail = 48; // ,"checksum":"<32 hex>"}\n

void check(std::string_view bytes) {
  auto record = read_commit_record(bytes, k_name);
  if (!record) {
    if (!record.error().message.starts_with(std::string(k_name) + ": ")) std::abort();
    return;
  }
  for (const auto& folder : record->folders)
    if (!validate_folder_path(folder.path) || !validate_relative_path(folder.manifest)) std::abort();
  for (const auto& entry : record->pending)
    if (!validate_relative_path(entry.path) || !validate_relative_path(entry.staged)) std::abort();
  std::string text = write_commit_record(*record);
  auto again = read_commit_record(text, k_name);
  if (!again || !(*again == *record) || write_commit_record(*again) != text) std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  check(bytes);
  std::string_view body = bytes;
  if (body.size() >= k_tail && body.ends_with("\"}\n") &&
      body.substr(body.size() - k_tail).starts_with(",\"checksum\""))
    body.remove_suffix(k_tail);
  std::string sealed(body);
  sealed += ",\"checksum\":\"" + offsite::xxh3_128(body).to_hex() + "\"}\n";
  check(sealed);
  return 0;
}
