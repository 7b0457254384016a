#pragma once
// The files offsite leaves under `<target path>/<folder>/.offsite/` (BRIEF §4), as plain structs,
// with their deterministic writers and strict readers. docs/remote-format.md describes every
// file byte by byte; keep it true when anything here changes.
//
// Everything read from a remote is untrusted: each read_* function parses, checks types, and then
// runs the matching check_* function, so a value a reader returns always satisfies the rules
// below. Writers do not check: callers that build records call check_* first if in doubt.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"
#include "util/hash128.hpp"

namespace offsite::manifest {

inline constexpr std::string_view k_format = "offsite/1";
// Sizes, counts, generations and sequences above this are rejected as absurd: no real file or
// repository comes near, and it keeps every sum of two values far from overflow.
inline constexpr std::uint64_t k_max_count = std::uint64_t{1} << 62;

// Path fields hold raw bytes (any name a local filesystem can hold); see docs/remote-format.md,
// "Names that are not UTF-8", for how they survive JSON.

// A file's optional chunk hashes: chunk_size, and the XXH3-128 of each aligned chunk_size block,
// ceil(size / chunk_size) of them. Held out of line, one pointer: most files have none (a file of
// one chunk is its own hash), and every entry of a 200,000-file repository is in memory at once.
class ChunkHashes {
public:
  ChunkHashes() = default;
  ChunkHashes(std::uint64_t chunk_size, std::vector<Hash128> hashes);
  ChunkHashes(const ChunkHashes& other);
  ChunkHashes& operator=(const ChunkHashes& other);
  ChunkHashes(ChunkHashes&&) noexcept = default;
  ChunkHashes& operator=(ChunkHashes&&) noexcept = default;
  ~ChunkHashes();

  std::uint64_t chunk_size() const { return m_data ? m_data->chunk_size : 0; } // 0: none
  const std::vector<Hash128>& hashes() const;
  bool empty() const { return chunk_size() == 0 && hashes().empty(); }
  // A reader sets what it finds, member by member (a checker then rejects a bad mix).
  void set_chunk_size(std::uint64_t chunk_size);
  std::vector<Hash128>& mutable_hashes();

  friend bool operator==(const ChunkHashes& a, const ChunkHashes& b) {
    return a.chunk_size() == b.chunk_size() && a.hashes() == b.hashes();
  }

private:
  struct Data {
    std::uint64_t chunk_size = 0;
    std::vector<Hash128> hashes;
  };
  std::unique_ptr<Data> m_data;
};

struct FileEntry {
  std::string path; // relative to the mirror root, '/'-separated
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0; // nanoseconds since the Unix epoch (negative before 1970)
  Hash128 xxh3_128;
  ChunkHashes chunks; // optional
  friend bool operator==(const FileEntry&, const FileEntry&) = default;
};

// `.offsite/folders/…`: one folder's files as one transaction committed them; never rewritten.
struct FolderManifest {
  std::string folder; // "" for the repository root
  std::string txid;
  std::vector<FileEntry> files; // each strictly inside `folder`, no path twice
  friend bool operator==(const FolderManifest&, const FolderManifest&) = default;
};

struct FolderRef {
  std::string path;
  std::uint64_t generation = 0; // of the record that last changed this folder
  std::string manifest;         // "folders/….json", relative to .offsite/
  std::uint64_t manifest_size = 0;
  Hash128 manifest_xxh3_128;
  std::uint64_t files = 0;
  std::uint64_t bytes = 0;
  friend bool operator==(const FolderRef&, const FolderRef&) = default;
};

// A committed file whose bytes still sit in staging until the apply step moves them into place.
struct PendingEntry {
  std::string path;   // relative to the mirror root
  std::string staged; // "tx/<txid>/…", relative to .offsite/
  friend bool operator==(const PendingEntry&, const PendingEntry&) = default;
};

// `.offsite/commits/<generation>.json`: the commit point. Self-checksummed (docs/remote-format.md).
struct CommitRecord {
  std::string repository_id;
  std::uint64_t generation = 0; // >= 1
  std::uint64_t parent = 0;     // 0 = none; always < generation
  std::string txid;
  std::string committed_at; // RFC 3339 UTC, "2026-11-24T22:13:05Z"
  std::vector<FolderRef> folders;
  std::vector<PendingEntry> pending;
  friend bool operator==(const CommitRecord&, const CommitRecord&) = default;
};

struct JournalEntry {
  std::string path; // final path, relative to the mirror root
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  // Where the bytes are uploaded: "tx/<txid>/…" relative to .offsite/, or, when `direct` (S3: a
  // new key written in place), the final path itself, equal to `path`.
  std::string staged;
  bool direct = false;
  std::string resume_token; // opaque, target-specific, may be empty
  friend bool operator==(const JournalEntry&, const JournalEntry&) = default;
};

// Where a transaction stages the upload of mirror path `path`: "tx/<txid>/files/<path>",
// relative to .offsite/. A journal entry whose `staged` is this (or, direct, its path) omits it.
std::string default_staged_path(std::string_view txid, std::string_view path);

// `.offsite/tx/<txid>/journal.json`: written once, before the transaction's first upload.
struct Journal {
  std::string repository_id;
  std::string txid;
  std::string created_at;
  std::uint64_t base_generation = 0; // the committed generation the transaction started from
  std::vector<JournalEntry> entries;
  friend bool operator==(const Journal&, const Journal&) = default;
};

// `.offsite/lock/<lease_file_name>`: the writer's lease, a new file at each renewal (BRIEF §6).
struct Lease {
  std::string repository_id;
  std::string host;
  std::string process;
  std::int64_t pid = 0;
  std::string taken_at;
  std::uint64_t sequence = 0; // counts the renewals of one writer
  friend bool operator==(const Lease&, const Lease&) = default;
};

// "<YYYYMMDD>T<HHMMSS>Z-<host>-<pid>-<sequence, 20 digits>.json", from `taken_at`: a new name at
// every renewal that sorts by time, holding only [A-Za-z0-9._-] (other host bytes become '_',
// the host is cut to 63 bytes). The file's content, not its name, is what readers trust.
std::string lease_file_name(const Lease& lease);

// `time` as RFC 3339 UTC with whole seconds: "2026-11-24T22:13:05Z".
std::string format_timestamp(std::chrono::system_clock::time_point time);
// "YYYY-MM-DDTHH:MM:SS[.fraction]Z" with fields in range: the only timestamps readers accept.
bool is_timestamp(std::string_view text);

// XXH3-128 of a folder manifest's exact bytes, as recorded in FolderRef::manifest_xxh3_128.
Hash128 manifest_hash(std::string_view bytes);

// Deterministic writers (json_write.cpp): equal values give equal bytes. One line of compact
// JSON with the members in a fixed order, ending in "\n".
std::string write_commit_record(const CommitRecord& record);
std::string write_folder_manifest(const FolderManifest& manifest);
std::string write_journal(const Journal& journal);
std::string write_lease(const Lease& lease);

// write_journal() an entry at a time, for a journal too large to build as a Journal first (a
// first sync of many files). `header` gives everything but the entries, which it ignores;
// `expected_bytes` is only a hint for the buffer.
class JournalWriter {
public:
  explicit JournalWriter(const Journal& header, std::size_t expected_bytes = 0);
  ~JournalWriter();
  JournalWriter(const JournalWriter&) = delete;
  JournalWriter& operator=(const JournalWriter&) = delete;

  void add(const JournalEntry& entry);
  std::string finish() &&; // the bytes write_journal() gives for the same journal

private:
  struct Output;
  std::unique_ptr<Output> m_out;
};

// Strict readers (json_read.cpp). `remote_name` names the file in errors, which are all
// ErrorKind::permanent: "<remote_name>: folders[2].manifest_size: expected an unsigned integer".
Result<CommitRecord> read_commit_record(std::string_view bytes, std::string_view remote_name);
Result<FolderManifest> read_folder_manifest(std::string_view bytes, std::string_view remote_name);
Result<Journal> read_journal(std::string_view bytes, std::string_view remote_name);
Result<Lease> read_lease(std::string_view bytes, std::string_view remote_name);

// The rules a value must keep beyond its JSON types (check.cpp, listed in docs/remote-format.md):
// paths, UUIDs, timestamps, ranges, uniqueness, generation/parent order, chunk counts.
Result<void> check_commit_record(const CommitRecord& record, std::string_view remote_name);
Result<void> check_folder_manifest(const FolderManifest& manifest, std::string_view remote_name);
Result<void> check_journal(const Journal& journal, std::string_view remote_name);
Result<void> check_lease(const Lease& lease, std::string_view remote_name);

} // namespace offsite::manifest
