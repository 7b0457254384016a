#pragma once
// How the local target brings a file under a new name without ever replacing an existing one.
//
// The commit protocol creates names that must not exist yet (commit records, the remote ID) and
// moves staged files into place; a rename that silently replaced a file would defeat its fence.
// Three methods, best first:
//   renameat2   renameat2(RENAME_NOREPLACE): atomic and exclusive (ext4, xfs, btrfs, tmpfs);
//   link        link() then unlink(): exclusive, and atomic enough (NFS, where renameat2 says
//               EINVAL): a crash between the two leaves both names, the same bytes;
//   exclusive_create  open(O_EXCL) the new name, copy the bytes in, fsync, remove the old name
//               (FAT, exFAT, some NAS mounts, where link() fails with EPERM): exclusive but not
//               atomic; a crash leaves `to` torn and `from` whole, which recovery handles.
// Which one works is probed once per root (a probe directory, cleaned up) and cached in the
// state directory; a method that later fails as unsupported (a different disk mounted at the same
// path) is downgraded on the spot and the cache rewritten.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>

#include "util/error.hpp"

namespace offsite::target {

enum class RenameMethod { renameat2, link, exclusive_create };

std::string_view to_string(RenameMethod method);
std::optional<RenameMethod> parse_rename_method(std::string_view text);

// Moves the regular file `from` to `to`, which must not exist: 0, EEXIST (both files untouched),
// or another errno. Downgrades `method` in place when the filesystem refuses it as unsupported.
// Neither creates parents nor syncs directories. Blocking.
int move_exclusively(RenameMethod& method, const std::filesystem::path& from, const std::filesystem::path& to);

// Creates `to` (failing with EEXIST if it exists when `exclusive`, else truncating it), copies the
// content of `from` into it and fsyncs it; removes a partial `to` on failure. Blocking.
int copy_file_contents(const std::filesystem::path& from, const std::filesystem::path& to, bool exclusive);

// Finds the best method that works in `dir` (which must exist), using a probe directory inside it
// that is removed again. Blocking.
Result<RenameMethod> probe_rename_method(const std::filesystem::path& dir);

// The cache of probe results: one small file per root under `state_dir` ("" disables caching).
std::filesystem::path probe_cache_file(const std::filesystem::path& state_dir, const std::filesystem::path& root);
std::optional<RenameMethod> read_probe_cache(const std::filesystem::path& state_dir, const std::filesystem::path& root);
Result<void> write_probe_cache(const std::filesystem::path& state_dir, const std::filesystem::path& root,
                               RenameMethod method);

} // namespace offsite::target
