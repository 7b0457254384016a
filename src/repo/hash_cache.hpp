#pragma once
// Remembers the XXH3-128 of files under what the scan saw of them, so that a file is not read
// twice for one change (BRIEF §5.9). The key is (path, size, mtime_ns, inode, ctime_ns): a file
// rewritten in place keeps its inode but moves its ctime, and a touch -d that restores an old
// mtime still moves the ctime, so any change to the file's bytes misses.
//
// It holds only what the committed state cannot say. The plan asks it about a file whose
// committed entry has the same size and another mtime (touched), nothing else, and once a sync
// commits a file, the committed entry describes it. So the sync keeps (retain_only's predicate)
// and adds (sync/transfer.cpp) only the hashes of touched files whose bytes a sync found equal
// but could not commit, because a commit failed or the sync was stopped: after a sync that
// commits everything, the cache is empty. (Caching every file cost a 200,000-file repository
// about 94 bytes per file in memory, and a 16 MB file, for hits that could not happen.)
//
// The file under state_dir is only a cache: anything wrong with it (missing, truncated, corrupt,
// another program's, another version) means starting empty, never trusting it. Its format is
// little-endian binary:
//   "OFSHASHC" (8 bytes), version (u32) = 1, reserved (u32) = 0, entry count (u64),
//   per entry: path length (u32), path bytes, size (u64), mtime_ns (i64), inode (u64),
//              ctime_ns (i64), hash high (u64), hash low (u64),
//   XXH3-128 of every byte above (high, low; u64 each).
//
// In memory, paths live in one arena and entries in one vector indexed by an open-addressing
// table of 32-bit slots: about 70 bytes plus the path per entry.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "repo/scanner.hpp"
#include "util/error.hpp"
#include "util/hash128.hpp"

namespace offsite::repo {

class HashCache {
public:
  // Missing file: empty, no reason. Unreadable, corrupt, truncated, foreign or wrong-version file:
  // empty, and discarded_reason() says why (for a log line).
  static HashCache load(const std::filesystem::path& file);

  // The hash stored for `file`, if its whole key still matches.
  std::optional<Hash128> lookup(const LocalFile& file) const;
  // Stores or replaces the hash for `file`'s path.
  void store(const LocalFile& file, Hash128 hash);
  // Keeps only entries that `view` still hits (the rest, paths gone or files changed since, can
  // never hit again) and, given `still_useful`, that it approves.
  using KeepIf = std::function<bool(const LocalFolder& folder, const LocalFile& file)>;
  void retain_only(const LocalView& view, const KeepIf& still_useful = {});
  // Forgets every entry and gives their memory back.
  void clear();
  // Writes the cache atomically (util/fs.hpp), mode 0640. The message names the file.
  Result<void> save(const std::filesystem::path& file) const;

  // Makes room for `entries` entries whose paths total `path_bytes` at once (no growth slack
  // when the count is known).
  void reserve(std::size_t entries, std::size_t path_bytes = 0);

  std::size_t size() const { return m_entries.size(); }
  const std::string& discarded_reason() const { return m_discarded_reason; }

private:
  struct Entry {
    std::uint32_t path_offset; // into m_paths
    std::uint32_t path_size;
    std::uint64_t size;
    std::int64_t mtime_ns;
    std::uint64_t inode;
    std::int64_t ctime_ns;
    Hash128 hash;
  };
  static constexpr std::uint32_t k_empty_slot = UINT32_MAX;

  std::string_view path_of(const Entry& entry) const { return {m_paths.data() + entry.path_offset, entry.path_size}; }
  // The slot holding `path`, or the empty slot where it would go.
  std::size_t find_slot(std::string_view path) const;
  void rebuild_index(std::size_t slot_count);
  bool append(std::string_view path, const Entry& fields); // false if the arena is full
  bool parse(std::istream& file, std::uint64_t size);      // sets m_discarded_reason on failure

  std::string m_paths;
  std::vector<Entry> m_entries;
  std::vector<std::uint32_t> m_slots; // indices into m_entries; size is a power of two
  std::string m_discarded_reason;
};

} // namespace offsite::repo
