#pragma once
// XXH3-128 of a repository file, read in large sequential blocks. The goal (BRIEF §8) is at least
// 80% of `xxhsum -H2` on a cached file; tests/bench/bench-hash.sh measures it.

#include <cstdint>
#include <filesystem>
#include <stop_token>

#include "repo/file_reader.hpp"
#include "util/error.hpp"
#include "util/hash128.hpp"

namespace offsite::repo {

// Large enough that the per-read cost vanishes, small enough to stay in the CPU's cache between
// the copy out of the page cache and the hash: on a cached 1 GiB file, 256 KiB and 1 MiB blocks
// measured alike, 64 KiB 3% and 4 MiB 13% slower.
inline constexpr std::size_t k_read_block_size = 1024 * 1024;

enum class CacheUse {
  keep,        // leave what was read in the page cache (the file may be read again soon)
  drop_behind, // drop each block once hashed: a large image read once must not evict everything else
};

// Hashes `file`, which the scan saw with `expected_size` bytes. Errors name the file:
//   - ErrorKind::transient if the file changed while it was read (another size than expected,
//     or its size or mtime moved during the read): the sync skips it with a warning and the
//     next one picks it up (BRIEF §5.6);
//   - ErrorKind::not_found if it vanished, ErrorKind::cancelled if `stop` was requested,
//     ErrorKind::permanent if it cannot be read (or is a symlink or not a regular file).
Result<Hash128> hash_file(const std::filesystem::path& file, std::uint64_t expected_size,
                          const std::stop_token& stop = {}, CacheUse cache = CacheUse::keep);

// The same on a file already open (the upload path's reader), from offset 0.
Result<Hash128> hash_file(const FileReader& reader, std::uint64_t expected_size, const std::stop_token& stop = {},
                          CacheUse cache = CacheUse::keep);

} // namespace offsite::repo
