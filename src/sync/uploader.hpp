#pragma once
// Uploading one file: each local byte is read once and feeds both the XXH3-128 hasher and the
// target; an interrupted upload resumes at a chunk boundary.

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <asio/awaitable.hpp>
#include <asio/thread_pool.hpp>

#include "manifest/manifest.hpp"
#include "sync/chunk_buffers.hpp"
#include "sync/plan.hpp"
#include "util/error.hpp"

namespace offsite::target {
class Target;
class RetryPolicy;
class AsyncSemaphore;
} // namespace offsite::target

namespace offsite::sync {

// Shared counters a progress display reads; updated on the event loop thread only.
struct TransferCounters {
  std::uint64_t bytes_read = 0; // local bytes read (hashed), including resumed prefixes
  std::uint64_t bytes_sent = 0; // bytes written to the target
  int files_in_flight = 0;
};

struct UploadSettings {
  std::filesystem::path repository_root;
  std::uint64_t chunk_size = 16ull << 20;
  // Shared with the retrying decorator: after a transient failure it waits the next backoff, or
  // returns the final error when this outage's retry budget is spent. Null: no retries.
  std::shared_ptr<target::RetryPolicy> retry_policy;
  // The transfer's buffers for every file together, in chunks (2 x concurrency): a file holds two
  // while it is uploaded, and borrows more for parts in flight (target::Upload::write_at) while
  // nobody waits. Null: two buffers per file, one write at a time.
  target::AsyncSemaphore* chunk_budget = nullptr;
  // Where the buffers come from and go back to (chunk_buffers.hpp). Required; the Transfer sets it.
  ChunkBufferPool* buffers = nullptr;
};

// Where a file's bytes go: `path` on the target; `staged` is the same path relative to .offsite/
// for the commit record's `pending` list ("" when uploaded straight to the final path).
struct UploadDestination {
  std::string path;
  std::string staged;
  bool direct = false;
  std::string resume_token; // from an earlier run's journal
  bool may_resume = false;  // bytes already at `path` belong to this same local file
};

// The destination of each planned file of transaction `txid`, from its Placement; a resumed file
// is found in `resumable` (recovery's uploads of earlier runs, which must outlive this object).
class Destinations {
public:
  Destinations(std::string txid, const std::map<std::string, manifest::JournalEntry>& resumable)
      : m_txid(std::move(txid)), m_resumable(&resumable) {}

  UploadDestination of(const PlannedFile& file) const;
  const std::string& txid() const { return m_txid; }

private:
  std::string m_txid;
  const std::map<std::string, manifest::JournalEntry>* m_resumable;
};

struct FileOutcome {
  enum class Kind {
    uploaded,   // committed entry ready, bytes at the destination
    same_bytes, // touched file whose bytes equal the committed ones: only the mtime changes
    changed_while_read,
    unreadable, // the local file could not be opened or read: `reason` says why
  };
  Kind kind = Kind::uploaded;
  manifest::FileEntry entry;
  std::uint64_t bytes_sent = 0;
  std::string reason;
};

// Hashes a touched file first (BRIEF §5.9): returns same_bytes when it equals its committed hash,
// else reads and uploads it. A local file that cannot be read is an outcome (unreadable), not an
// error: the sync goes on and fails only at the end. Errors are the target's, naming the path.
asio::awaitable<Result<FileOutcome>> upload_file(target::Target& target, asio::thread_pool& pool, PlannedFile file,
                                                 UploadDestination destination, const UploadSettings& settings,
                                                 TransferCounters& counters);

} // namespace offsite::sync
