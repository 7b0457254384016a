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

// One of the result's lists of paths (uploaded, deleted): how many there are, and the first
// `cap` of them. A result names at most 1000 paths a list (result_to_json), so a sync of 200,000
// files does not hold a second copy of every path only to report a thousand (BRIEF §8, memory).
class PathList {
public:
  static constexpr std::size_t k_default_cap = 1000;
  explicit PathList(std::size_t cap = k_default_cap) : m_cap(cap) {}

  void add(std::string path) {
    ++m_count;
    if (m_listed.size() < m_cap) m_listed.push_back(std::move(path));
  }
  std::uint64_t count() const { return m_count; }
  bool empty() const { return m_count == 0; }
  const std::vector<std::string>& listed() const { return m_listed; } // the first min(count, cap)

private:
  std::size_t m_cap;
  std::uint64_t m_count = 0;
  std::vector<std::string> m_listed;
};

struct SyncResult {
  std::string repository;
  std::string started; // RFC 3339 UTC
  std::string finished;
  Outcome outcome = Outcome::success;
  std::optional<Error> error;
  bool dry_run = false;
  std::uint64_t bytes_uploaded = 0;
  PathList files_uploaded; // a dry run lists them all (sync.cpp, describe_plan)
  PathList files_deleted;
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
