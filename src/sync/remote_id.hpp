#pragma once
// The repository ID on the remote (BRIEF §5.5, §5.8): which repository owns this folder.

#include <string>
#include <vector>

#include <asio/awaitable.hpp>

#include "util/error.hpp"

namespace offsite::target {
class Target;
}

namespace offsite::sync {

enum class RemoteIdState { none, ours, foreign };

struct RemoteId {
  RemoteIdState state = RemoteIdState::none;
  std::string id; // the remote's ID, when there is one
};

// Reads .offsite/repository-id and compares it with `local_id`. A file that is not a UUID is an
// error naming it (never silently replaced).
asio::awaitable<Result<RemoteId>> read_remote_id(target::Target& target, std::string local_id);

// The entries at the top of the mirror that are not offsite's own (.offsite/): what claiming a
// folder would take over. At most `limit` names, directories with a trailing '/'.
asio::awaitable<Result<std::vector<std::string>>> foreign_entries(target::Target& target, std::size_t limit);

// Makes sure the remote folder belongs to this repository before anything is written:
//  - no ID: claim it, unless the folder already holds files (ErrorKind::refused, listing them),
//    or `take_over` (reinitialize) says to;
//  - another repository's ID: ErrorKind::id_mismatch with the three usual causes and the hint,
//    unless `take_over`, which writes ours;
//  - ours: nothing to do.
// `repository_name` is used in the hint (`offsite reinitialize NAME`).
asio::awaitable<Result<RemoteId>> claim_or_check_remote_id(target::Target& target, std::string local_id,
                                                           std::string repository_name, bool take_over);

// The error a mismatch produces (also used by verify and test-connection).
Error id_mismatch_error(const target::Target& target, const std::string& repository_name);

} // namespace offsite::sync
