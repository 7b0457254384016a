#pragma once
// `offsite restore` (BRIEF §2): downloads the committed state into a local directory and checks
// every hash. Needs only the target: the local repository and its ID may be gone.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/thread_pool.hpp>

#include "util/error.hpp"

namespace offsite::target {
class Target;
}

namespace offsite::sync {

struct RestoreRequest {
  std::filesystem::path destination; // must be empty or not exist
  std::optional<std::string> folder; // only this committed folder ("" is the root folder)
};

// A file that was not restored (nothing is left under its name).
struct RestoreFailure {
  std::string path;   // mirror path
  std::string remote; // where it was read from, as describe() spells it
  std::string reason;
};

struct RestoreReport {
  std::string remote_id;
  std::uint64_t generation = 0;
  std::string committed_at;
  std::vector<std::string> folders; // the folders restored
  std::uint64_t files_restored = 0;
  std::uint64_t bytes_restored = 0;
  std::vector<RestoreFailure> failures;
  std::vector<std::string> warnings; // records skipped, files read from staging

  bool ok() const { return failures.empty(); }
};

// Checks that `destination` is empty or missing (creating it), before anything is read from the
// remote: ErrorKind::permanent naming it otherwise. Blocking; restore_committed() runs it itself.
Result<void> prepare_destination(const std::filesystem::path& destination);

// The caller has connected. Errors: the destination is not empty (permanent); the folder has no
// repository ID or nothing is committed (not_found); `folder` is not committed (config, naming
// the committed folders); remote failures that stop the whole restore. Files that fail on their
// own (a download error, a hash that differs) are the report's failures.
asio::awaitable<Result<RestoreReport>> restore_committed(target::Target& target, asio::thread_pool& pool,
                                                         RestoreRequest request);

} // namespace offsite::sync
