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
// A file that changes while it is read (backups allowed during the sync) is never committed
// torn: its size, mtime and ctime are compared after the last read, and on a difference its upload
// is discarded and its committed version stays (BRIEF §5.6).

#include "sync/uploader.hpp"

#include <vector>

#include <asio/experimental/awaitable_operators.hpp>
#include <fmt/format.h>

#include "repo/file_hasher.hpp"
#include "repo/file_reader.hpp"
#include "target/retry_policy.hpp"
#include "target/target.hpp"
#include "util/hash128.hpp"
#include "util/offload.hpp"

namespace offsite::sync {
namespace {

using namespace asio::experimental::awaitable_operators;

struct ReadState {
  repo::FileReader reader;
  Xxh3Hasher hasher;
};

// Reads [offset, offset + buffer.size()) and hashes it, on the pool.
asio::awaitable<Result<std::size_t>> read_and_hash(asio::thread_pool& pool, ReadState& state, std::uint64_t offset,
                                                   std::span<std::byte> buffer) {
  auto work = [&state, offset, buffer]() -> Result<std::size_t> {
    auto got = state.reader.read_at(offset, buffer);
    if (got) state.hasher.update(buffer.first(*got));
    return got;
  };
  co_return co_await offload(pool, std::move(work));
}

// Hashes [0, length) without uploading it: the prefix a resumed upload already holds.
asio::awaitable<Result<void>> hash_prefix(asio::thread_pool& pool, ReadState& state, std::uint64_t length,
                                          std::span<std::byte> buffer, TransferCounters& counters) {
  std::uint64_t offset = 0;
  while (offset < length) {
    auto span = buffer.first(static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), length - offset)));
    auto got = co_await read_and_hash(pool, state, offset, span);
    if (!got) co_return Unexpected(std::move(got).error());
    if (*got != span.size())
      co_return make_error(ErrorKind::permanent,
                           fmt::format("{}: shorter than expected", state.reader.path().string()));
    offset += *got;
    counters.bytes_read += *got;
  }
  co_return Result<void>{};
}

asio::awaitable<Result<std::size_t>> nothing_to_read() { co_return std::size_t{0}; }

// One attempt: a session from `offset` to the end. Returns the bytes sent, or the error.
asio::awaitable<Result<std::uint64_t>> send_from(target::Target& target, asio::thread_pool& pool, ReadState& state,
                                                 const UploadDestination& destination, std::uint64_t offset,
                                                 std::uint64_t size, std::string& resume_token,
                                                 std::vector<std::byte>& front, std::vector<std::byte>& back,
                                                 TransferCounters& counters, bool& local_failure) {
  target::UploadOptions options{offset, size, resume_token};
  auto session = co_await target.start_upload(destination.path, options);
  if (!session) co_return Unexpected(std::move(session).error());
  auto& upload = **session;
  resume_token = upload.resume_token();

  std::uint64_t sent = 0;
  std::uint64_t position = offset;
  auto first = std::span<std::byte>(front).first(
      static_cast<std::size_t>(std::min<std::uint64_t>(front.size(), size - position)));
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
    auto next =
        std::span<std::byte>(back).first(static_cast<std::size_t>(std::min<std::uint64_t>(back.size(), remaining)));
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
  const auto& at_open = state.reader.stat_at_open();
  if (at_open.size != file.local.size || at_open.mtime_ns != file.local.mtime_ns) {
    outcome.kind = FileOutcome::Kind::changed_while_read;
    co_return outcome;
  }

  bool hash_first = (file.change == FileChange::touched && file.committed) || file.change == FileChange::adopted;
  if (hash_first) {
    auto hasher = [&state, size = file.local.size]() { return repo::hash_file(state.reader, size); };
    auto hash = co_await offload(pool, std::move(hasher));
    if (!hash) co_return unreadable(hash.error());
    counters.bytes_read += file.local.size;
    // An adopted file without a committed hash (a mirror seeded by hand) is matched by size.
    if (!file.committed || *hash == file.committed->xxh3_128) {
      outcome.kind = FileOutcome::Kind::same_bytes;
      outcome.entry.xxh3_128 = *hash;
      co_return outcome;
    }
  }
  state.reader.advise_sequential();

  std::vector<std::byte> front(static_cast<std::size_t>(
      std::min<std::uint64_t>(settings.chunk_size, std::max<std::uint64_t>(file.local.size, 1))));
  std::vector<std::byte> back(front.size());
  std::string resume_token = destination.resume_token;
  // Where uploads stay apart until finished, an earlier upload continues through its token, or
  // through its path where the target can find its own unfinished uploads (S3); otherwise what
  // sits at the path is a finished object that cannot be appended to.
  auto caps = target.capabilities();
  bool resuming =
      destination.may_resume && (!resume_token.empty() || caps.partial_is_visible || caps.rediscovers_uploads);
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
    state.hasher.reset();
    if (auto prefix = co_await hash_prefix(pool, state, offset, front, counters); !prefix)
      co_return unreadable(prefix.error());
    bool local_failure = false;
    auto sent = co_await send_from(target, pool, state, destination, offset, file.local.size, resume_token, front, back,
                                   counters, local_failure);
    if (!sent && local_failure) co_return unreadable(sent.error());
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

  auto now = state.reader.stat();
  if (!now) co_return unreadable(now.error());
  if (!(*now == at_open)) {
    outcome.kind = FileOutcome::Kind::changed_while_read;
    co_return outcome;
  }
  co_return outcome;
}

} // namespace offsite::sync
