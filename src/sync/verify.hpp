#pragma once
// `offsite verify` (BRIEF §2): checks the remote against its own committed state, read-only.
// Also the two readers of committed bytes that `restore` shares: where a committed file's bytes
// are now (its final path, or its staged copy while the apply step is pending), and a streaming
// hash of a remote file.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/thread_pool.hpp>

#include "manifest/manifest.hpp"
#include "sync/committed_state.hpp"
#include "util/error.hpp"
#include "util/hash128.hpp"

namespace offsite::target {
class Target;
}

namespace offsite::sync {

struct VerifyRequest {
  // This repository's ID; "" when the local repository has none (lost, or never synced from
  // here): a remote with an ID is then another repository's, as a sync would find (exit 3).
  std::string local_id;
  std::string repository_name; // for the `offsite reinitialize NAME` hint of a mismatch
  bool deep = false;           // download and hash every file
};

// A committed file that is missing or different: what makes verify fail.
struct VerifyProblem {
  std::string path;   // mirror path
  std::string remote; // where it was looked for, as describe() spells it
  std::string reason; // "missing", "size 12, committed 13", "content differs: …"
};

struct VerifyReport {
  std::string remote_id;
  std::uint64_t generation = 0; // 0: nothing committed yet
  std::string committed_at;
  std::uint64_t files_checked = 0;
  std::uint64_t bytes_checked = 0; // committed bytes of the files checked
  std::uint64_t bytes_read = 0;    // downloaded by --deep
  std::vector<VerifyProblem> problems;
  std::vector<std::string> warnings; // apply pending, files no manifest names, records skipped

  bool ok() const { return problems.empty(); }
};

// The caller has connected. Errors: ErrorKind::not_found when the folder has no repository ID
// (never synced), ErrorKind::id_mismatch (id_mismatch_error) when it is another repository's;
// failures of the remote itself (a lost connection after the retry budget) as they are. Missing
// or different files are not errors: they are the report's problems.
asio::awaitable<Result<VerifyReport>> verify_remote(target::Target& target, VerifyRequest request);

// Where the committed bytes of a file are now, as a target path.
struct CommittedCopy {
  std::string remote_path;
  bool apply_pending = false; // the bytes are still in staging: the next sync moves them
};

// Looks at the staged copy first when `staged` is given (BRIEF §5.3: while it exists, it holds
// the committed bytes, and the final path may hold an older file of the same size), then at the
// final path. ErrorKind::not_found ("missing") or ErrorKind::permanent ("size …") when neither
// holds `entry.size` bytes; other errors as the target gives them.
asio::awaitable<Result<CommittedCopy>> locate_committed_copy(target::Target& target, manifest::FileEntry entry,
                                                             std::optional<std::string> staged);

// The pending entries of `state`'s record: mirror path → staged `.offsite` path.
std::map<std::string, std::string> pending_by_path(const CommittedState& state);

struct RemoteHash {
  Hash128 hash;
  std::uint64_t size = 0;
};

// Writes one downloaded chunk somewhere (restore: into the restored file); runs on the pool.
using ChunkSink = std::function<Result<void>(std::span<const std::byte>)>;

// Downloads `remote_path` in chunks and hashes it. Nothing is kept, unless `sink` is given: then
// each chunk also goes to it, on `pool`, and the first error it returns ends the download. With
// `limit`, only the first `limit` bytes (fewer if the file is shorter: see the size).
asio::awaitable<Result<RemoteHash>> hash_remote_file(target::Target& target, std::string remote_path,
                                                     asio::thread_pool* pool = nullptr, ChunkSink sink = {},
                                                     std::uint64_t limit = UINT64_MAX);

// Reads the remote ID and the committed state it owns, checking the ID against `local_id`
// (nullopt: any ID is taken as it is). The errors of verify_remote().
struct OwnedState {
  std::string remote_id;
  CommitScan scan;
};
asio::awaitable<Result<OwnedState>> read_owned_state(target::Target& target, std::optional<std::string> local_id,
                                                     std::string repository_name);

} // namespace offsite::sync
