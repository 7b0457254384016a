#include "target/limited.hpp"

#include <algorithm>
#include <type_traits>

#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>

namespace offsite::target {
namespace {

// Runs `operation` (a callable returning the inner awaitable) while holding one slot.
template <class Operation> std::invoke_result_t<Operation&> with_slot(AsyncSemaphore& slots, Operation operation) {
  auto slot = co_await slots.acquire();
  if (!slot) co_return Unexpected(std::move(slot).error());
  co_return co_await operation();
}

asio::awaitable<Result<void>> sleep_for(std::chrono::nanoseconds delay) {
  if (delay <= std::chrono::nanoseconds(0)) co_return Result<void>{};
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor, delay);
  auto [ec] = co_await timer.async_wait(use_nothrow);
  if (ec) co_return make_error(ErrorKind::cancelled, "cancelled while limiting bandwidth");
  co_return Result<void>{};
}

class LimitedUpload final : public Upload {
public:
  LimitedUpload(std::unique_ptr<Upload> inner, AsyncSemaphore& slots, TokenBucket& bucket, std::size_t slice)
      : m_inner(std::move(inner)), m_slots(slots), m_bucket(bucket), m_slice(slice) {}

  asio::awaitable<Result<void>> write(std::span<const std::byte> bytes) override {
    while (!bytes.empty()) {
      auto piece = bytes.first(std::min(bytes.size(), m_slice));
      bytes = bytes.subspan(piece.size());
      // Tokens first, slot second: a session waiting for bandwidth holds no connection slot.
      auto waited = co_await sleep_for(m_bucket.reserve(piece.size()));
      if (!waited) co_return waited;
      auto operation = [this, piece] { return m_inner->write(piece); };
      auto pending = with_slot(m_slots, std::move(operation));
      auto written = co_await std::move(pending);
      if (!written) co_return written;
    }
    co_return Result<void>{};
  }

  asio::awaitable<Result<std::uint64_t>> finish() override {
    auto operation = [this] { return m_inner->finish(); };
    auto pending = with_slot(m_slots, std::move(operation));
    co_return co_await std::move(pending);
  }

  asio::awaitable<Result<void>> abort() override { co_return co_await m_inner->abort(); }
  std::string resume_token() const override { return m_inner->resume_token(); }

  // A bandwidth limit slices writes, and a slice is no whole part: parts go one at a time then.
  int max_parallel_writes(std::uint64_t part_size) const override {
    return m_slice == SIZE_MAX ? m_inner->max_parallel_writes(part_size) : 1;
  }

  // Each part in flight holds a connection slot, as any other operation does.
  asio::awaitable<Result<void>> write_at(std::uint64_t offset, std::span<const std::byte> bytes) override {
    auto waited = co_await sleep_for(m_bucket.reserve(bytes.size()));
    if (!waited) co_return waited;
    auto operation = [this, offset, bytes] { return m_inner->write_at(offset, bytes); };
    auto pending = with_slot(m_slots, std::move(operation));
    co_return co_await std::move(pending);
  }

private:
  std::unique_ptr<Upload> m_inner;
  AsyncSemaphore& m_slots;
  TokenBucket& m_bucket;
  std::size_t m_slice;
};

class LimitedDownload final : public Download {
public:
  LimitedDownload(std::unique_ptr<Download> inner, AsyncSemaphore& slots) : m_inner(std::move(inner)), m_slots(slots) {}

  asio::awaitable<Result<std::size_t>> read(std::span<std::byte> bytes) override {
    auto operation = [this, bytes] { return m_inner->read(bytes); };
    auto pending = with_slot(m_slots, std::move(operation));
    co_return co_await std::move(pending);
  }

private:
  std::unique_ptr<Download> m_inner;
  AsyncSemaphore& m_slots;
};

// About 1/20 s of data per slice, between 16 KiB and 1 MiB; the whole write when unlimited.
std::size_t slice_for(std::uint64_t bandwidth) {
  if (bandwidth == 0) return SIZE_MAX;
  return static_cast<std::size_t>(std::clamp<std::uint64_t>(bandwidth / 20, 16 << 10, 1 << 20));
}

std::uint64_t burst_for(std::uint64_t bandwidth) {
  return std::max<std::uint64_t>(bandwidth / 10, slice_for(bandwidth));
}

} // namespace

LimitedTarget::LimitedTarget(std::unique_ptr<Target> inner, int max_in_flight, std::uint64_t bandwidth,
                             TokenBucket::Now now)
    : m_inner(std::move(inner)), m_max_in_flight(max_in_flight),
      m_slots(static_cast<std::size_t>(std::max(max_in_flight, 1))),
      m_bucket(bandwidth, bandwidth == 0 ? 0 : burst_for(bandwidth), std::move(now)), m_slice(slice_for(bandwidth)) {}

Capabilities LimitedTarget::capabilities() const {
  auto caps = m_inner->capabilities();
  caps.max_connections = static_cast<int>(m_slots.permits());
  return caps;
}

std::string LimitedTarget::describe() const { return m_inner->describe(); }

asio::awaitable<Result<void>> LimitedTarget::connect() {
  auto operation = [this] { return m_inner->connect(); };
  auto pending = with_slot(m_slots, std::move(operation));
  auto connected = co_await std::move(pending);
  if (connected && m_max_in_flight <= 0)
    m_slots.set_permits(static_cast<std::size_t>(std::max(m_inner->capabilities().max_connections, 1)));
  co_return connected;
}

asio::awaitable<Result<RemoteEntry>> LimitedTarget::stat(std::string path) {
  auto operation = [this, path] { return m_inner->stat(path); };
  auto pending = with_slot(m_slots, std::move(operation));
  co_return co_await std::move(pending);
}

asio::awaitable<Result<std::vector<RemoteEntry>>> LimitedTarget::list(std::string dir) {
  auto operation = [this, dir] { return m_inner->list(dir); };
  auto pending = with_slot(m_slots, std::move(operation));
  co_return co_await std::move(pending);
}

asio::awaitable<Result<void>> LimitedTarget::make_directory(std::string path) {
  auto operation = [this, path] { return m_inner->make_directory(path); };
  auto pending = with_slot(m_slots, std::move(operation));
  co_return co_await std::move(pending);
}

asio::awaitable<Result<std::unique_ptr<Upload>>> LimitedTarget::start_upload(std::string path, UploadOptions options) {
  auto operation = [this, path, options] { return m_inner->start_upload(path, options); };
  auto pending = with_slot(m_slots, std::move(operation));
  auto started = co_await std::move(pending);
  if (!started) co_return Unexpected(std::move(started).error());
  co_return std::make_unique<LimitedUpload>(std::move(*started), m_slots, m_bucket, m_slice);
}

asio::awaitable<Result<std::uint64_t>> LimitedTarget::uploaded_size(std::string path, std::string resume_token) {
  auto operation = [this, path, resume_token] { return m_inner->uploaded_size(path, resume_token); };
  auto pending = with_slot(m_slots, std::move(operation));
  co_return co_await std::move(pending);
}

asio::awaitable<Result<std::string>> LimitedTarget::read_file(std::string path, std::uint64_t max_size) {
  auto operation = [this, path, max_size] { return m_inner->read_file(path, max_size); };
  auto pending = with_slot(m_slots, std::move(operation));
  co_return co_await std::move(pending);
}

asio::awaitable<Result<void>> LimitedTarget::write_new_file(std::string path, FileBytes bytes) {
  auto operation = [this, path, bytes = std::move(bytes)] { return m_inner->write_new_file(path, bytes); };
  auto pending = with_slot(m_slots, std::move(operation));
  co_return co_await std::move(pending);
}

asio::awaitable<Result<void>> LimitedTarget::write_new_file_deferred(std::string path, FileBytes bytes) {
  auto operation = [this, path, bytes = std::move(bytes)] { return m_inner->write_new_file_deferred(path, bytes); };
  auto pending = with_slot(m_slots, std::move(operation));
  co_return co_await std::move(pending);
}

asio::awaitable<Result<std::unique_ptr<Download>>> LimitedTarget::open_download(std::string path,
                                                                                std::uint64_t offset) {
  auto operation = [this, path, offset] { return m_inner->open_download(path, offset); };
  auto pending = with_slot(m_slots, std::move(operation));
  auto opened = co_await std::move(pending);
  if (!opened) co_return Unexpected(std::move(opened).error());
  co_return std::make_unique<LimitedDownload>(std::move(*opened), m_slots);
}

asio::awaitable<Result<void>> LimitedTarget::rename_to_new(std::string from, std::string to) {
  auto operation = [this, from, to] { return m_inner->rename_to_new(from, to); };
  auto pending = with_slot(m_slots, std::move(operation));
  co_return co_await std::move(pending);
}

asio::awaitable<Result<void>> LimitedTarget::remove(std::string path) {
  auto operation = [this, path] { return m_inner->remove(path); };
  auto pending = with_slot(m_slots, std::move(operation));
  co_return co_await std::move(pending);
}

asio::awaitable<Result<void>> LimitedTarget::remove_directory(std::string path) {
  auto operation = [this, path] { return m_inner->remove_directory(path); };
  auto pending = with_slot(m_slots, std::move(operation));
  co_return co_await std::move(pending);
}

// Needs no connection of its own (local fsyncs; a no-op on the network targets): no slot.
asio::awaitable<Result<void>> LimitedTarget::make_durable() { co_return co_await m_inner->make_durable(); }

asio::awaitable<Result<void>> LimitedTarget::copy(std::string from, std::string to) {
  auto operation = [this, from, to] { return m_inner->copy(from, to); };
  auto pending = with_slot(m_slots, std::move(operation));
  co_return co_await std::move(pending);
}

asio::awaitable<Result<std::optional<std::uint64_t>>> LimitedTarget::free_space() {
  auto operation = [this] { return m_inner->free_space(); };
  auto pending = with_slot(m_slots, std::move(operation));
  co_return co_await std::move(pending);
}

asio::awaitable<Result<std::vector<std::string>>> LimitedTarget::unfinished_uploads() {
  auto operation = [this] { return m_inner->unfinished_uploads(); };
  auto pending = with_slot(m_slots, std::move(operation));
  co_return co_await std::move(pending);
}

asio::awaitable<Result<void>> LimitedTarget::discard_unfinished_uploads(std::string path) {
  auto operation = [this, path] { return m_inner->discard_unfinished_uploads(path); };
  auto pending = with_slot(m_slots, std::move(operation));
  co_return co_await std::move(pending);
}

} // namespace offsite::target
