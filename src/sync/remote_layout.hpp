#pragma once
// Where things live on the remote, relative to the target root `<target path>/<folder>`
// (BRIEF §4; docs/remote-format.md). The only place in the engine that spells these names.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace offsite::sync::layout {

inline constexpr std::string_view k_meta = ".offsite";
inline constexpr std::string_view k_repository_id = ".offsite/repository-id";
inline constexpr std::string_view k_commits = ".offsite/commits";
inline constexpr std::string_view k_folders = ".offsite/folders";
inline constexpr std::string_view k_tx = ".offsite/tx";
inline constexpr std::string_view k_lock = ".offsite/lock";
inline constexpr std::string_view k_manifest_copy = ".offsite/manifest.json";

// ".offsite/commits/42.json"
std::string commit_record(std::uint64_t generation);
// The generation a name in .offsite/commits/ stands for ("42.json" → 42); nullopt for any other
// name (temporary files, garbage): leading zeros, signs and non-digits are not generations.
std::optional<std::uint64_t> parse_commit_record_name(std::string_view name);

// "folders/<txid>/<16 hex digits of the folder path's hash>.json", relative to .offsite/ as the
// record names it; prefix with k_meta for a target path.
std::string folder_manifest(std::string_view txid, std::string_view folder);

// ".offsite/tx/<txid>", its journal, and where a file's bytes are staged inside it.
std::string transaction_dir(std::string_view txid);
std::string journal(std::string_view txid);
// Relative to .offsite/ as records and journals name it: "tx/<txid>/files/<relative path>".
std::string staged_file(std::string_view txid, std::string_view relative_path);

// A path relative to .offsite/ ("tx/…", "folders/…") as a target path.
std::string meta_path(std::string_view relative_to_meta);

} // namespace offsite::sync::layout
