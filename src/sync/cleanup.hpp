#pragma once
// The last step of a sync that committed: nothing of the transaction stays (BRIEF §5.4), and
// records and folder manifests that the last few records no longer reach are removed.

#include <string>
#include <vector>

#include <asio/awaitable.hpp>

#include "sync/committed_state.hpp"
#include "util/error.hpp"

namespace offsite::target {
class Target;
}

namespace offsite::sync {

inline constexpr int k_records_kept = 3; // the committed record, its parent and grandparent

// Removes the transaction directories `old` and `current` ("" for none) with what remains in
// them: staged files already applied, resumable uploads nobody needs any more, journals.
asio::awaitable<Result<void>> cleanup_transactions(target::Target& target, std::vector<std::string> old,
                                                   std::string current);

// After a commit: cleanup_transactions(), then records older than the last k_records_kept of
// the chain ending at `committed`, then folder manifests no kept record names.
asio::awaitable<Result<void>> cleanup_after_commit(target::Target& target, const CommittedState& committed,
                                                   std::vector<std::string> old, std::string current);

// After the first complete commit of a takeover: removes every mirror file the committed state
// does not name (the previous owner's files, a seeded disk's leftovers) and the directories that
// become empty; `.offsite/` is left alone. Returns the removed paths. Lists the whole mirror, so
// it runs only then (BRIEF §5.8).
asio::awaitable<Result<std::vector<std::string>>> remove_unnamed_files(target::Target& target,
                                                                       const CommittedState& committed);

} // namespace offsite::sync
