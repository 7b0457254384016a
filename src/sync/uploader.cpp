// Uploading one file, reading each byte once.
//
// A changed file is read once per sync (BRIEF §5.9): the same read feeds the hasher (on the pool
// thread that read it) and the target's upload session. Two buffers of chunk_size alternate, so
// the next chunk is read while the previous one is being written; all files in flight together
// hold at most 2 x concurrency x chunk_size (BRIEF §8).
//
// Resuming. A transient failure (a cut connection) breaks the upload session. After the retry
// policy's backoff, the target says how many bytes it has confirmed; the upload continues at the
// largest chunk boundary at or below that, so at most one chunk is sent again. The bytes before
// that point are read locally once more only to rebuild the hash state: still one read of the
// file per attempt, and no upload of them. The same happens across runs, when recovery kept a
// partial upload whose local file did not change.
//
// Kept bytes are checked where that is cheap. Across runs, the kept bytes are trusted only
// because the journal's size and mtime match the local file; nothing says they reached the disk
// intact. A USB disk unplugged or a power cut mid-upload can leave a file system without
// ordered writes (FAT, exFAT) with a staged file whose size is right and whose last clusters hold
// garbage, which the commit would then name with the local file's hash. Where reading back costs
// no network (Capabilities::cheap_reads: the local target), the kept prefix is read and hashed
// before the upload continues, and on any difference the file is uploaded again from its start.
// Elsewhere it would cost a download as large as what is saved (SFTP), or the store checks each
// part itself (S3's per-part hashes); `verify --deep` is the check there.
//
// Parts in flight. Where the target takes several parts of one upload at once (S3's multipart
// upload says so through max_parallel_writes), a chunk is handed over as soon as it is read and
// the next one is read into another buffer while earlier ones are still in flight. Reads and
// hashing stay in file order on this coroutine; only the writes overlap. Besides its own two
// buffers a file borrows more from the transfer's chunk budget (2 x concurrency chunks for every
// file together) while nobody else waits for it, and gives them back when another file needs its
// two: a large file uploaded alone still keeps every connection busy, and memory stays within
// the bound of BRIEF §8 whatever the mix. Each part runs as a task of its own; whatever happens
// (a failed part, the sync's stop), this coroutine waits for every task it started before it
// returns, since they write from its buffers.
//
// Chunk hashes. A file larger than one chunk is also hashed chunk by chunk, in the same read,
// and its entry keeps those hashes (chunk_size, chunks: docs/remote-format.md). A touched file
// (same size, new mtime) must be hashed before it is uploaded, lest an unchanged file be sent
// again; with its committed chunk hashes that stops at the first chunk that differs, so a full
// rewritten in place is read about once, not twice (once to hash it, once to upload it). The
// chunks read to compare are read again for the upload, from the page cache.
//
// Drop behind. What the upload has read is dropped from the page cache at once
// (POSIX_FADV_DONTNEED): a night's sync reads gigabytes of images that nobody reads again soon, and
// should not push the NAS's useful cache out. It also keeps the sync from growing the page cache
// by the repository's size: the pages just dropped serve the next reads and writes. On this
// project's VM, whose host takes back free memory and faults it in again page by page, that is
// most of the gain: cold, 4 rotating rounds each, the next day of the bench repository went from
// 0.82-1.00 s to 0.66-0.72 s and its first sync from 3.1-4.9 s to 2.8-3.4 s. A touched file's
// compare keeps its chunks until it knows whether the upload will read them again.
//
// A file that changes while it is read (backups allowed during the sync) is never committed
// torn: its size, mtime and ctime are compared after the last read, and on a difference its upload
// is discarded and its committed version stays (BRIEF §5.6).

#include "sync/uploader.hpp"

#include <list>
#include <memory>
#include <optional>
#include <vector>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <fmt/format.h>

#include "repo/file_reader.hpp"
#include "sync/remote_layout.hpp"
#include "sync/verify.hpp"
#include "target/async_semaphore.hpp"
#include "target/retry_policy.hpp"
#include "target/target.hpp"
#include "util/hash128.hpp"
#include "util/log.hpp"
#include "util/offload.hpp"

namespace offsite::sync {
namespace {

using namespace asio::experimental::awaitable_operators;

struct ReadState {
  repo::FileReader reader;
  Xxh3Hasher hasher;
  // A file of more than one chunk also gets the hash of each chunk (reads start at chunk
  // boundaries and are a chunk long, but for the last): see "Chunk hashes" above.
  bool hash_chunks = false;
  std::vector<Hash128> chunk_hashes{};
  // Bytes read for the upload leave the page cache at once (see "Drop behind" above); not while
  // a touched file is compared, since its upload reads those chunks again.
  bool drop_behind = false;

  void restart() {
    hasher.reset();
    chunk_hashes.clear();
  }
};

// Reads [offset, offset + buffer.size()) and hashes it, on the pool.
asio::awaitable<Result<std::size_t>> read_and_hash(asio::thread_pool& pool, ReadState& state, std::uint64_t offset,
                                                   std::span<std::byte> buffer) {
  auto work = [&state, offset, buffer]() -> Result<std::size_t> {
    auto got = state.reader.read_at(offset, buffer);
    if (got) {
      state.hasher.update(buffer.first(*got));
      if (state.hash_chunks && *got > 0) state.chunk_hashes.push_back(xxh3_128(buffer.first(*got)));
      if (state.drop_behind && *got > 0) {
        // All of it up to here, not this chunk alone: the page cache holds a file in folios of up
        // to a few MiB, and drops only whole ones. At the end, to the end (its last partial page).
        std::uint64_t end = offset + *got;
        state.reader.drop_cache(0, end >= state.reader.stat_at_open().size ? 0 : end);
      }
    }
    return got;
  };
  co_return co_await offload(pool, std::move(work));
}

// Hashes [0, length) without uploading it: the prefix a resumed upload already holds, or a touched
// file before its upload. Given `expected` chunk hashes (the committed ones, of this chunk size),
// it stops at the first chunk that differs or reads short, and returns false.
asio::awaitable<Result<bool>> hash_prefix(asio::thread_pool& pool, ReadState& state, std::uint64_t length,
                                          std::span<std::byte> buffer, TransferCounters& counters,
                                          std::span<const Hash128> expected = {}) {
  std::uint64_t offset = 0;
  for (std::size_t chunk = 0; offset < length; ++chunk) {
    auto span = buffer.first(static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), length - offset)));
    auto got = co_await read_and_hash(pool, state, offset, span);
    if (!got) co_return Unexpected(std::move(got).error());
    counters.bytes_read += *got;
    bool short_read = *got != span.size();
    if (!expected.empty() && (short_read || chunk >= expected.size() || state.chunk_hashes.back() != expected[chunk]))
      co_return false;
    if (short_read)
      co_return make_error(ErrorKind::permanent,
                           fmt::format("{}: shorter than expected", state.reader.path().string()));
    offset += *got;
  }
  co_return true;
}

asio::awaitable<Result<std::size_t>> nothing_to_read() { co_return std::size_t{0}; }

// The parts of one file in flight, shared with their tasks' completion handlers.
struct PartsInFlight {
  struct Buffer {
    std::span<std::byte> bytes;                           // a whole chunk
    ChunkBuffer owned;                                    // storage of a borrowed buffer
    std::optional<target::AsyncSemaphore::Permit> permit; // its share of the budget
    bool busy = false;                                    // a part is being written from it
  };

  explicit PartsInFlight(const asio::any_io_executor& executor) : wakeup(executor) {}

  std::list<Buffer> buffers;                    // stable addresses: tasks point into it
  std::list<asio::cancellation_signal> signals; // one per task, kept until all have ended
  asio::steady_timer wakeup;                    // cancelled whenever a task ends
  int running = 0;
  std::optional<Error> error; // the first part that failed

  Buffer* free_buffer() {
    for (auto& buffer : buffers)
      if (!buffer.busy) return &buffer;
    return nullptr;
  }

  // Until a task ends, or the waiting coroutine is cancelled.
  asio::awaitable<void> wait() {
    wakeup.expires_at(asio::steady_timer::time_point::max());
    [[maybe_unused]] auto [ec] = co_await wakeup.async_wait(target::use_nothrow);
  }

  void cancel_all() {
    for (auto& signal : signals)
      signal.emit(asio::cancellation_type::terminal);
  }
};

asio::awaitable<bool> is_cancelled() {
  auto state = co_await asio::this_coro::cancellation_state;
  co_return state.cancelled() != asio::cancellation_type::none;
}

// From `position` to `size` in parts of `chunk` bytes, several in flight (see the top of this
// file). Returns the bytes the target confirmed, or the first error.
asio::awaitable<Result<std::uint64_t>> send_parts(target::Upload& upload, asio::thread_pool& pool, ReadState& state,
                                                  std::uint64_t position, std::uint64_t size, std::uint64_t chunk,
                                                  int max_in_flight, target::AsyncSemaphore& budget,
                                                  ChunkBufferPool& buffers, ChunkBuffer& front, ChunkBuffer& back,
                                                  TransferCounters& counters, bool& local_failure) {
  // A stop must not unwind this frame while tasks still write from its buffers: cancellation is
  // seen as a value here, the tasks are cancelled and awaited, and the error is returned.
  co_await asio::this_coro::throw_if_cancelled(false);
  auto executor = co_await asio::this_coro::executor;
  auto flight = std::make_shared<PartsInFlight>(executor);
  flight->buffers.push_back({front.bytes(), {}, {}, false});
  flight->buffers.push_back({back.bytes(), {}, {}, false});
  std::size_t most_buffers = static_cast<std::size_t>(std::max(max_in_flight, 1)) + 1; // one more being read
  std::uint64_t sent = 0;
  std::optional<Error> failure;

  while (position < size && !flight->error && !failure) {
    if (co_await is_cancelled()) {
      failure = Error{ErrorKind::cancelled, "stopped"};
      break;
    }
    // Another file waits for its two buffers: give back what we borrowed and do not borrow more.
    if (budget.waiting() > 0)
      flight->buffers.remove_if([](const PartsInFlight::Buffer& b) { return b.permit && !b.busy; });
    auto* buffer = flight->free_buffer();
    if (!buffer && flight->buffers.size() < most_buffers) {
      if (auto permit = budget.try_acquire()) {
        auto& added = flight->buffers.emplace_back();
        added.owned = buffers.take(static_cast<std::size_t>(chunk));
        added.bytes = added.owned.bytes();
        added.permit = std::move(permit);
        buffer = &added;
      }
    }
    if (!buffer) {
      co_await flight->wait();
      continue;
    }
    auto span = buffer->bytes.first(static_cast<std::size_t>(std::min<std::uint64_t>(chunk, size - position)));
    auto got = co_await read_and_hash(pool, state, position, span);
    if (!got || *got != span.size()) {
      local_failure = true;
      failure = got ? Error{ErrorKind::permanent, fmt::format("{}: shorter than expected (changed while it was read)",
                                                              state.reader.path().string())}
                    : got.error();
      break;
    }
    counters.bytes_read += *got;
    buffer->busy = true;
    ++flight->running;
    auto write = [&upload, at = position, span]() { return upload.write_at(at, span); };
    auto done = [flight, buffer, bytes = span.size(), &counters, &sent](std::exception_ptr thrown,
                                                                        Result<void> written) {
      --flight->running;
      buffer->busy = false;
      if (thrown && !flight->error)
        flight->error = Error{ErrorKind::cancelled, "a part upload ended by an exception (stopped)"};
      else if (!thrown && !written && !flight->error)
        flight->error = std::move(written).error();
      else if (!thrown && written) {
        counters.bytes_sent += bytes;
        sent += bytes;
      }
      flight->wakeup.cancel();
    };
    asio::co_spawn(executor, std::move(write),
                   asio::bind_cancellation_slot(flight->signals.emplace_back().slot(), std::move(done)));
    position += span.size();
  }

  // Every task ends before this frame does.
  if (failure) flight->cancel_all();
  while (flight->running > 0) {
    co_await flight->wait();
    if (!failure && co_await is_cancelled()) {
      failure = Error{ErrorKind::cancelled, "stopped"};
      flight->cancel_all();
    }
  }
  if (!failure && flight->error) failure = std::move(flight->error);
  if (failure) {
    co_await upload.abort();
    co_await asio::this_coro::throw_if_cancelled(true);
    co_return Unexpected(std::move(*failure));
  }
  co_await asio::this_coro::throw_if_cancelled(true);
  auto confirmed = co_await upload.finish();
  if (!confirmed) co_return Unexpected(std::move(confirmed).error());
  if (*confirmed != size)
    co_return make_error(ErrorKind::transient, fmt::format("the server confirmed {} bytes of {}", *confirmed, size));
  co_return sent;
}

// One attempt: a session from `offset` to the end. Returns the bytes sent, or the error.
asio::awaitable<Result<std::uint64_t>> send_from(target::Target& target, asio::thread_pool& pool, ReadState& state,
                                                 const UploadDestination& destination, std::uint64_t offset,
                                                 std::uint64_t size, std::string& resume_token, ChunkBuffer& front,
                                                 ChunkBuffer& back, const UploadSettings& settings,
                                                 TransferCounters& counters, bool& local_failure) {
  target::UploadOptions options{offset, size, resume_token};
  auto session = co_await target.start_upload(destination.path, options);
  if (!session) co_return Unexpected(std::move(session).error());
  auto& upload = **session;
  resume_token = upload.resume_token();

  int parallel = upload.max_parallel_writes(settings.chunk_size);
  if (parallel > 1 && settings.chunk_budget && size - offset > settings.chunk_size &&
      front.size() == settings.chunk_size) {
    auto confirmed =
        co_await send_parts(upload, pool, state, offset, size, settings.chunk_size, parallel, *settings.chunk_budget,
                            *settings.buffers, front, back, counters, local_failure);
    co_return confirmed;
  }

  std::uint64_t sent = 0;
  std::uint64_t position = offset;
  auto first = front.bytes().first(static_cast<std::size_t>(std::min<std::uint64_t>(front.size(), size - position)));
  auto got = co_await read_and_hash(pool, state, position, first);
  while (true) {
    if (!got) {
      local_failure = true;
      co_await upload.abort();
      co_return Unexpected(std::move(got).error());
    }
    std::size_t chunk = *got;
    counters.bytes_read += chunk;
    if (chunk == 0) break;
    auto to_write = std::span<const std::byte>(front.data(), chunk);
    position += chunk;
    std::uint64_t remaining = size > position ? size - position : 0;
    auto next = back.bytes().first(static_cast<std::size_t>(std::min<std::uint64_t>(back.size(), remaining)));
    // Write this chunk while the next one is read.
    auto write_op = upload.write(to_write);
    auto read_op = next.empty() ? nothing_to_read() : read_and_hash(pool, state, position, next);
    auto [written, read_next] = co_await (std::move(write_op) && std::move(read_op));
    if (!written) {
      co_await upload.abort();
      co_return Unexpected(std::move(written).error());
    }
    sent += chunk;
    counters.bytes_sent += chunk;
    got = std::move(read_next);
    std::swap(front, back);
  }
  auto confirmed = co_await upload.finish();
  if (!confirmed) co_return Unexpected(std::move(confirmed).error());
  if (*confirmed != position)
    co_return make_error(ErrorKind::transient, fmt::format("{}: the server confirmed {} bytes of {}", destination.path,
                                                           *confirmed, position));
  co_return sent;
}

} // namespace

UploadDestination Destinations::of(const PlannedFile& file) const {
  UploadDestination destination;
  switch (file.placement) {
  case Placement::resumed: {
    // A resumed upload stays where the transaction that started it put it (its journal names it).
    const auto& kept = m_resumable->at(file.local.path);
    destination.direct = kept.direct;
    destination.staged = kept.direct ? "" : kept.staged;
    destination.path = kept.direct ? file.local.path : layout::meta_path(kept.staged);
    destination.resume_token = kept.resume_token;
    destination.may_resume = true;
    break;
  }
  case Placement::direct:
    destination.direct = true;
    destination.path = file.local.path;
    break;
  case Placement::staged:
    destination.staged = layout::staged_file(m_txid, file.local.path);
    destination.path = layout::meta_path(destination.staged);
    break;
  }
  return destination;
}

asio::awaitable<Result<FileOutcome>> upload_file(target::Target& target, asio::thread_pool& pool, PlannedFile file,
                                                 UploadDestination destination, const UploadSettings& settings,
                                                 TransferCounters& counters) {
  FileOutcome outcome;
  outcome.entry.path = file.local.path;
  outcome.entry.size = file.local.size;
  outcome.entry.mtime_ns = file.local.mtime_ns;

  auto opener = [root = settings.repository_root, relative = file.local.path] {
    return repo::FileReader::open_beneath(root, relative);
  };
  auto unreadable = [&](const Error& error) {
    outcome.kind = FileOutcome::Kind::unreadable;
    outcome.reason = error.message;
    return outcome;
  };
  auto opened = co_await offload(pool, std::move(opener));
  if (!opened) co_return unreadable(opened.error());
  ReadState state{std::move(*opened), Xxh3Hasher{}};
  state.hash_chunks = file.local.size > settings.chunk_size;
  const auto& at_open = state.reader.stat_at_open();
  if (at_open.size != file.local.size || at_open.mtime_ns != file.local.mtime_ns) {
    outcome.kind = FileOutcome::Kind::changed_while_read;
    co_return outcome;
  }

  // After the last read: the outcome so far, unless the file changed since it was opened (then it
  // is not committed: its old version stays, BRIEF §5.6) or can no longer be looked at.
  auto checked = [&]() -> FileOutcome {
    auto now = state.reader.stat();
    if (!now) return unreadable(now.error());
    if (!(*now == at_open)) outcome.kind = FileOutcome::Kind::changed_while_read;
    return std::move(outcome);
  };

  state.reader.advise_sequential();
  bool hash_first = (file.change == FileChange::touched && file.committed) || file.change == FileChange::adopted;
  ChunkBufferPool& buffers = *settings.buffers;
  ChunkBuffer front;
  if (hash_first) {
    // Against committed chunk hashes of this chunk size, the read stops at the first chunk that
    // differs; otherwise the whole file is hashed, its chunks too, so that the next touch can stop
    // at the first chunk that differs.
    std::span<const Hash128> expected;
    if (file.committed && state.hash_chunks && file.committed->chunks.chunk_size() == settings.chunk_size)
      expected = file.committed->chunks.hashes();
    front = buffers.take(static_cast<std::size_t>(std::min<std::uint64_t>(settings.chunk_size, file.local.size)));
    auto whole = co_await hash_prefix(pool, state, file.local.size, front.bytes(), counters, expected);
    if (!whole) co_return unreadable(whole.error());
    auto hash = state.hasher.digest();
    // An adopted file without a committed hash (a mirror seeded by hand) is matched by size.
    if (*whole && (!file.committed || hash == file.committed->xxh3_128)) {
      auto drop = [&state, size = file.local.size] { state.reader.drop_cache(0, size); };
      co_await offload(pool, std::move(drop));
      outcome.kind = FileOutcome::Kind::same_bytes;
      outcome.entry.xxh3_128 = hash;
      if (state.hash_chunks)
        outcome.entry.chunks = manifest::ChunkHashes(settings.chunk_size, std::move(state.chunk_hashes));
      co_return checked();
    }
    state.restart();
  }

  auto buffer_size = static_cast<std::size_t>(
      std::min<std::uint64_t>(settings.chunk_size, std::max<std::uint64_t>(file.local.size, 1)));
  if (front.data())
    front.resize(buffer_size);
  else
    front = buffers.take(buffer_size);
  ChunkBuffer back = buffers.take(buffer_size);
  std::string resume_token = destination.resume_token;
  // Where uploads stay apart until finished, an earlier upload continues through its token, or
  // through its path where the target can find its own unfinished uploads (S3); otherwise what
  // sits at the path is a finished object that cannot be appended to.
  auto caps = target.capabilities();
  bool resuming =
      destination.may_resume && (!resume_token.empty() || caps.partial_is_visible || caps.rediscovers_uploads);
  state.drop_behind = true;
  target::RetryAttempts attempts;
  auto may_retry = [&](const Error& error) { return error.kind == ErrorKind::transient && settings.retry_policy; };
  for (;;) {
    std::uint64_t offset = 0;
    if (resuming) {
      auto confirmed = co_await target.uploaded_size(destination.path, resume_token);
      if (confirmed)
        offset = std::min(*confirmed, file.local.size) / settings.chunk_size * settings.chunk_size;
      else if (may_retry(confirmed.error())) {
        auto wait = co_await settings.retry_policy->wait_before_retry(confirmed.error(), attempts);
        if (!wait) co_return Unexpected(std::move(wait).error());
        continue;
      } else {
        resume_token.clear();
      }
    }
    state.restart();
    if (auto prefix = co_await hash_prefix(pool, state, offset, front.bytes(), counters); !prefix)
      co_return unreadable(prefix.error());
    if (offset > 0 && caps.cheap_reads) {
      // See "Kept bytes are checked" above: a read error counts as a difference. Named arguments:
      // no braced temporary inside a co_await (GCC 12).
      ChunkSink no_sink;
      auto kept = co_await hash_remote_file(target, destination.path, nullptr, std::move(no_sink), offset);
      if (!kept || kept->size != offset || kept->hash != state.hasher.digest()) {
        log::warning("upload.kept_bytes_differ",
                     {{"path", destination.path},
                      {"kept", std::to_string(offset)},
                      {"why", kept ? "they differ from the local file's" : kept.error().message}});
        counters.bytes_read -= offset;
        offset = 0;
        resume_token.clear();
        state.restart();
      }
    }
    bool local_failure = false;
    auto sent = co_await send_from(target, pool, state, destination, offset, file.local.size, resume_token, front, back,
                                   settings, counters, local_failure);
    if (!sent && local_failure) {
      // A read that came up short is a file that changed under us, not an unreadable one.
      auto now = state.reader.stat();
      if (now && !(*now == at_open)) {
        outcome.kind = FileOutcome::Kind::changed_while_read;
        co_return outcome;
      }
      co_return unreadable(sent.error());
    }
    if (sent) {
      outcome.bytes_sent += *sent;
      if (settings.retry_policy) settings.retry_policy->note_success();
      break;
    }
    if (!may_retry(sent.error())) co_return Unexpected(std::move(sent).error());
    auto wait = co_await settings.retry_policy->wait_before_retry(sent.error(), attempts);
    if (!wait) co_return Unexpected(std::move(wait).error());
    resuming = true;
  }
  outcome.entry.xxh3_128 = state.hasher.digest();
  if (state.hash_chunks)
    outcome.entry.chunks = manifest::ChunkHashes(settings.chunk_size, std::move(state.chunk_hashes));

  co_return checked();
}

} // namespace offsite::sync
