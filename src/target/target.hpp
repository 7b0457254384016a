#pragma once
// The one interface every remote target implements (restic's Backend, rclone's Fs). The sync
// engine sees only `Target&` and reads `Capabilities`, never a target's type.
//
// Paths are relative to the target's root (`<target path>/<folder>`, fixed at construction),
// '/'-separated, without empty, `.` or `..` components; "" is the root itself. A path that breaks
// these rules is refused with ErrorKind::permanent before anything touches the remote, so nothing
// is ever written outside the root. Every error message names the remote path (as describe()
// spells it) and never holds a secret.
//
// Cancellation: every operation honours Asio's per-operation cancellation at its suspension points
// (a cancelled coroutine throws `operation_aborted` at its next co_await, as Asio does). Blocking
// work already handed to a thread pool runs to its end first; each such step is bounded.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>

#include "util/error.hpp"

namespace offsite::target {

// Asio operations that report errors as values: `auto [ec, n] = co_await op(use_nothrow);`.
inline constexpr auto use_nothrow = asio::experimental::as_tuple(asio::use_awaitable);

struct RemoteEntry {
  std::string name; // last path component ("" for the root)
  bool is_directory = false;
  std::uint64_t size = 0;    // 0 for directories
  std::int64_t mtime_ns = 0; // the server's clock where known, else 0
};

struct Capabilities {
  bool replace_is_atomic = false;   // a rename or PUT over an existing name is atomic (local, S3)
  bool partial_is_visible = true;   // an upload in progress is visible under its name (not S3)
  bool exclusive_rename = false;    // rename_to_new fails with already_exists when `to` exists
  bool direct_upload_safe = false;  // an upload appears only when complete (S3), so a NEW path may
                                    // be uploaded straight to its final name
  bool server_side_copy = false;    // copy() works without moving the bytes through us
  bool reports_free_space = false;  // free_space() returns a value
  bool rediscovers_uploads = false; // uploaded_size(path, "") finds an unfinished upload an earlier
                                    // run left at `path` (S3 lists its multipart uploads), so a
                                    // journal entry needs no resume token to be continued
  bool cheap_reads = false;         // reading back what was written moves no bytes over a network
                                    // (local): worth it to check a resumed upload's kept bytes
  int max_connections = 4;          // operations worth running at once
  std::uint64_t max_file_size = 0;  // 0 = unlimited; FAT32: 4 GiB - 1
};

// Pass it to start_upload() as a named local, never as a braced temporary inside the co_await
// expression: g++ 12 mis-copies such a temporary into the coroutine's parameter (a bad free).
struct UploadOptions {
  // Where this session starts writing. 0 creates or truncates the file; more continues a partial
  // upload whose confirmed size (uploaded_size()) is at least `offset`, dropping what lies after.
  std::uint64_t offset = 0;
  // The final size if known (0 = unknown): a hint for part sizing and an early "too large".
  std::uint64_t expected_size = 0;
  // From a previous session's resume_token(), to continue it (e.g. an S3 upload ID); "" otherwise.
  std::string resume_token;
};

// One streaming upload: the engine reads each local byte once, feeds the hasher and write().
// Sessions are independent: several may be open on one target at once.
class Upload {
public:
  virtual ~Upload() = default;

  // Appends `bytes`, which must stay valid until the returned awaitable completes. On error the
  // session is broken: abort() it, ask uploaded_size() and start a new session to resume.
  virtual asio::awaitable<Result<void>> write(std::span<const std::byte> bytes) = 0;

  // Completes the upload; returns the size the server confirms. After finish() the file is
  // visible under its path on every target. Its bytes and its name may become durable only with
  // the next write_new_file, copy or make_durable on the same target (completed at once on S3
  // and SFTP; the local target batches its file and directory fsyncs until then): the commit
  // protocol only ever relies on them after such a call.
  virtual asio::awaitable<Result<std::uint64_t>> finish() = 0;

  // Ends the session without completing it. What the server confirmed so far stays (resumable
  // through uploaded_size() and resume_token()); to discard it, remove(path). Idempotent.
  virtual asio::awaitable<Result<void>> abort() = 0;

  // An opaque string to store in the journal so a later run can resume this upload (an S3 upload
  // ID); "" where the partial file itself is enough (local, SFTP, FTP, SMB).
  virtual std::string resume_token() const = 0;

  // Parallel parts. How many write_at() calls may be in flight at once; 1 (the default) means the
  // session only takes write(), one call at a time. A session answers more than 1 only when every
  // part it takes is exactly `part_size` bytes (the last one of the file may be shorter), where
  // `part_size` is the chunk size the engine reads in: S3's multipart upload, whose parts are
  // numbered and may arrive in any order.
  virtual int max_parallel_writes(std::uint64_t part_size) const {
    (void)part_size;
    return 1;
  }

  // Writes the part at `offset` (the session's start plus a multiple of part_size), while other
  // parts may still be in flight. The engine issues them in file order and waits for every one
  // before finish() or abort(); `bytes` stays valid until this call completes. A failure breaks
  // the session as write()'s does; parts confirmed before the first gap stay resumable.
  virtual asio::awaitable<Result<void>> write_at(std::uint64_t offset, std::span<const std::byte> bytes) {
    (void)offset;
    co_return co_await write(bytes);
  }
};

// A sequential reader of one remote file.
class Download {
public:
  virtual ~Download() = default;
  // Reads up to bytes.size() bytes into `bytes` (kept valid until completion); 0 at the end.
  virtual asio::awaitable<Result<std::size_t>> read(std::span<std::byte> bytes) = 0;
};

// The bytes of a file written whole (write_new_file()): records, manifests, journals; a journal of
// a first sync of many files runs to tens of MiB. Shared, never copied, by the decorators and
// by each retried attempt. Made implicitly from a std::string, which it takes over.
class FileBytes {
public:
  FileBytes(std::string bytes) : m_bytes(std::make_shared<const std::string>(std::move(bytes))) {}
  FileBytes(const char* text) : FileBytes(std::string(text)) {}

  const std::string& operator*() const { return *m_bytes; }
  const std::string* operator->() const { return m_bytes.get(); }

private:
  std::shared_ptr<const std::string> m_bytes;
};

class Target {
public:
  virtual ~Target() = default;

  // What this target can promise. Complete only after connect() succeeded (some fields are probed).
  virtual Capabilities capabilities() const = 0;

  // "local:/mnt/usb/offsite/SiteManager1", "sftp://backup@nas:22/srv/offsite/…": for people and
  // messages. Never holds a secret.
  virtual std::string describe() const = 0;

  // Connects and checks that the configured target path exists and is a directory (an error naming
  // it otherwise), and that the root, if present, is a directory. Leaves nothing behind: the root
  // is created by make_directory(""). Call once before any other operation.
  virtual asio::awaitable<Result<void>> connect() = 0;

  // ErrorKind::not_found if `path` does not exist.
  virtual asio::awaitable<Result<RemoteEntry>> stat(std::string path) = 0;

  // The entries directly inside `dir`, in no particular order (one level; no "." or "..").
  // ErrorKind::not_found if `dir` does not exist. Listings may lag on some stores (S3-compatible
  // ones): a name just created may be missing, so never conclude absence from a listing alone.
  virtual asio::awaitable<Result<std::vector<RemoteEntry>>> list(std::string dir) = 0;

  // Creates `path` and its missing parents. Idempotent: an existing directory is success; an
  // existing file there is ErrorKind::permanent. A no-op where directories do not exist (S3).
  virtual asio::awaitable<Result<void>> make_directory(std::string path) = 0;

  // Opens an upload session to `path` (parents created as needed). Where partial_is_visible, the
  // bytes appear under `path` as they are written and an existing file there is replaced
  // non-atomically: upload only to names nobody reads (staging), or to new names where
  // direct_upload_safe. ErrorKind::permanent if options.offset exceeds the confirmed size.
  virtual asio::awaitable<Result<std::unique_ptr<Upload>>> start_upload(std::string path, UploadOptions options) = 0;

  // The size the server has confirmed for a partial or complete upload of `path` (given the
  // session's resume_token, "" if it had none): resume at the largest chunk boundary at or below
  // it. ErrorKind::not_found if nothing of that upload exists.
  virtual asio::awaitable<Result<std::uint64_t>> uploaded_size(std::string path, std::string resume_token) = 0;

  // The whole content of a small file (records, manifests, IDs). ErrorKind::not_found if missing;
  // ErrorKind::permanent if it holds more than `max_size` bytes.
  virtual asio::awaitable<Result<std::string>> read_file(std::string path, std::uint64_t max_size) = 0;

  // Creates `path` (parents as needed) holding `bytes`, whole or not at all where the target can
  // promise it; durable when it returns, together with every earlier operation on this target,
  // and, where the target can order it, those before its name can be seen (it is how commit
  // points are made; docs/sftp.md says what an SFTP server cannot promise).
  // ErrorKind::already_exists if `path` exists, where capabilities().exclusive_rename (elsewhere
  // it may be replaced). After a crash, a file whose name contains k_temporary_marker may remain
  // in the same directory: garbage, see is_temporary_name().
  virtual asio::awaitable<Result<void>> write_new_file(std::string path, FileBytes bytes) = 0;

  // write_new_file() for a file that only a later write_new_file() makes reachable (a folder
  // manifest, referenced by the commit record written next): its name may become durable only
  // with that call, as an upload's does (see Upload::finish()). The default is write_new_file();
  // the local target batches the directory syncs.
  virtual asio::awaitable<Result<void>> write_new_file_deferred(std::string path, FileBytes bytes);

  // A reader of `path` starting at byte `offset`. ErrorKind::not_found if missing.
  virtual asio::awaitable<Result<std::unique_ptr<Download>>> open_download(std::string path, std::uint64_t offset) = 0;

  // Moves the file `from` to the new name `to` (to's parents created as needed), durable no later
  // than the next write_new_file, copy or make_durable returns (see finish()).
  // ErrorKind::not_found if `from` is missing. ErrorKind::already_exists if `to` exists, where
  // capabilities().exclusive_rename, and then both files are left as they were; elsewhere the
  // target may replace `to`, so the commit protocol never relies on this alone (BRIEF §5.1, §6).
  // Not atomic on every target (a copy where renames cannot be exclusive): after a crash `to` may
  // be torn while `from` still exists whole.
  virtual asio::awaitable<Result<void>> rename_to_new(std::string from, std::string to) = 0;

  // Removes the file `path`, durable no later than the next write_new_file, copy or make_durable
  // returns. ErrorKind::not_found if it is missing: the caller decides whether that is fine
  // (it usually is when cleaning up). ErrorKind::permanent for a directory.
  virtual asio::awaitable<Result<void>> remove(std::string path) = 0;

  // Removes the empty directory `path`, durable no later than the next write_new_file, copy or
  // make_durable returns. ErrorKind::not_found if missing; ErrorKind::permanent if it is not
  // empty. Success where directories do not exist (S3).
  virtual asio::awaitable<Result<void>> remove_directory(std::string path) = 0;

  // Makes every earlier operation on this target durable: success at once where each one is
  // durable when it returns (S3, SFTP), the batched fsyncs on the local target. The apply calls it
  // last, since removing its transaction directory ends its roll-forward: after that, a power cut
  // must not undo one of its moves or removals (BRIEF §5.3). Every decorator forwards it.
  virtual asio::awaitable<Result<void>> make_durable() = 0;

  // Copies `from` to `to` on the server (to's parents created as needed), replacing `to`
  // (atomically where replace_is_atomic). ErrorKind::unsupported unless server_side_copy.
  virtual asio::awaitable<Result<void>> copy(std::string from, std::string to) = 0;

  // Bytes available to us under the root; nullopt unless reports_free_space.
  virtual asio::awaitable<Result<std::optional<std::uint64_t>>> free_space() = 0;

  // Paths under the root where an upload was started and neither finished nor discarded, on
  // targets that keep such uploads out of sight (S3's multipart uploads, which cost storage until
  // aborted); empty elsewhere, where a partial upload is an ordinary file.
  virtual asio::awaitable<Result<std::vector<std::string>>> unfinished_uploads();
  // Discards the unfinished uploads at `path` (not a finished file there). Success if none, where
  // the target could discard one (S3 checks the permission); the probe calls it first.
  virtual asio::awaitable<Result<void>> discard_unfinished_uploads(std::string path);
};

// --- Remote path helpers, shared by every target ------------------------------------------------

// Success if `path` is "" or relative components joined by '/', none empty, ".", ".." or holding
// a NUL; ErrorKind::permanent naming the path otherwise.
Result<void> check_path(std::string_view path);
// "a/b/c" → "a/b"; "c" → ""; "" → "".
std::string_view parent_path(std::string_view path);
// "a/b/c" → "c"; "" → "".
std::string_view last_component(std::string_view path);
// join("a", "b") → "a/b"; join("", "b") → "b".
std::string join_path(std::string_view dir, std::string_view name);

// Marks the temporary names write_new_file() uses; whoever finds one may remove it.
inline constexpr std::string_view k_temporary_marker = ".offsite-tmp-";
bool is_temporary_name(std::string_view name);
// A fresh temporary name beside `path`: "a/b/.c.offsite-tmp-1f2e3d4c" for "a/b/c".
std::string temporary_path_beside(std::string_view path);

} // namespace offsite::target
