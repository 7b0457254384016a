#include "sync/remote_layout.hpp"

#include <fmt/format.h>

#include "manifest/manifest.hpp"
#include "util/hash128.hpp"

namespace offsite::sync::layout {

std::string commit_record(std::uint64_t generation) { return fmt::format("{}/{}.json", k_commits, generation); }

std::optional<std::uint64_t> parse_commit_record_name(std::string_view name) {
  constexpr std::string_view suffix = ".json";
  if (name.size() <= suffix.size() || name.substr(name.size() - suffix.size()) != suffix) return std::nullopt;
  auto digits = name.substr(0, name.size() - suffix.size());
  if (digits.empty() || digits.size() > 19 || (digits.size() > 1 && digits[0] == '0')) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (value == 0) return std::nullopt;
  return value;
}

std::string folder_manifest(std::string_view txid, std::string_view folder) {
  // Named by a hash, not the folder path: folder paths may hold characters a target cannot
  // hold twice (case) or at all, and the record stores the folder path itself.
  return fmt::format("folders/{}/{}.json", txid, xxh3_128(folder).to_hex().substr(0, 16));
}

std::string transaction_dir(std::string_view txid) { return fmt::format("{}/{}", k_tx, txid); }
std::string journal(std::string_view txid) { return fmt::format("{}/{}/journal.json", k_tx, txid); }
std::string staged_file(std::string_view txid, std::string_view relative_path) {
  return manifest::default_staged_path(txid, relative_path); // the journal's default (remote-format.md §7)
}
std::string meta_path(std::string_view relative_to_meta) { return fmt::format("{}/{}", k_meta, relative_to_meta); }

} // namespace offsite::sync::layout
