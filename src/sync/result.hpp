#pragma once
// What every finished sync leaves (BRIEF §7): success or the error, bytes, files; written
// atomically under state_dir and appended to a history, printed by `sync --json`.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "util/error.hpp"

namespace offsite::sync {

enum class Outcome { success, failed, incomplete, abandoned };
std::string_view to_string(Outcome outcome);

struct SkippedFile {
  std::string path;
  std::string reason;
  bool is_error = false; // an unreadable file or a name the target cannot hold: outcome failed
};

struct SyncResult {
  std::string repository;
  std::string started; // RFC 3339 UTC
  std::string finished;
  Outcome outcome = Outcome::success;
  std::optional<Error> error;
  bool dry_run = false;
  std::uint64_t bytes_uploaded = 0;
  std::vector<std::string> files_uploaded;
  std::vector<std::string> files_deleted;
  std::vector<SkippedFile> files_skipped;
  std::vector<std::string> warnings;
  std::uint64_t folders_committed = 0;
  std::uint64_t generation = 0; // the committed generation when the sync ended
};

// Long file lists are capped at `list_cap` entries; the full counts are kept beside them.
std::string result_to_json(const SyncResult& result, std::size_t list_cap = 1000);

// `<state_dir>/repositories/<key>/`: this repository's results, progress, hash cache and locks.
// The key is the name made safe for a file name, plus a short hash so names never collide.
std::filesystem::path repository_state_dir(const std::filesystem::path& state_dir, const std::string& name);

// Writes last-result.json atomically (0640) and appends one line to history.jsonl.
Result<void> store_result(const std::filesystem::path& repository_state, const SyncResult& result);

} // namespace offsite::sync
