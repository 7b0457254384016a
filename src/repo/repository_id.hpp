#pragma once
// The repository's own ID, `<root>/.offsite/repository-id`: one line holding a UUID. The remote
// folder records the ID of the repository that owns it (BRIEF §5.5); a lost ID file means a new
// ID, which the remote then refuses, so a damaged repository cannot overwrite a good copy.

#include <filesystem>
#include <optional>
#include <string>

#include "util/error.hpp"

namespace offsite::repo {

// `<root>/.offsite/repository-id`.
std::filesystem::path repository_id_file(const std::filesystem::path& repository_root);

// The ID, or nullopt if the file does not exist; writes nothing (dry-run, status). A file that
// does not hold a UUID is an error naming it and saying how to fix it.
Result<std::optional<std::string>> read_repository_id(const std::filesystem::path& repository_root);

// The ID, creating `.offsite/` (0750) and the file (atomically, 0640) with a new UUID if missing.
// The root itself must exist. An existing file that does not hold a UUID is an error, never
// silently replaced: replacing it would orphan every remote this repository owns.
Result<std::string> load_or_create_repository_id(const std::filesystem::path& repository_root);

} // namespace offsite::repo
