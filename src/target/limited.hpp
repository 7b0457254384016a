#pragma once
// A decorator that limits a target (restic's limiter and semaphore backends):
// - at most `max_in_flight` operations at once (each call holds a slot while it runs; an upload
//   or download session holds one per write() or read(), not for its whole life, so open
//   sessions never starve small operations such as journal writes);
// - upload bytes at most `bandwidth` bytes per second on average over every session together,
//   writes being cut into slices of about 1/20 s so the flow stays smooth.
// Waiting never blocks the event loop and honours cancellation. Sessions must not outlive the
// target that opened them.

#include <memory>

#include "target/async_semaphore.hpp"
#include "target/target.hpp"
#include "target/token_bucket.hpp"

namespace offsite::target {

class LimitedTarget final : public Target {
public:
  // `max_in_flight` <= 0: the inner target's capabilities().max_connections, read at connect().
  // `bandwidth` 0: unlimited. `now` is the bucket's clock (tests inject one).
  LimitedTarget(std::unique_ptr<Target> inner, int max_in_flight, std::uint64_t bandwidth,
                TokenBucket::Now now = &TokenBucket::Clock::now);

  Capabilities capabilities() const override;
  std::string describe() const override;
  asio::awaitable<Result<void>> connect() override;
  asio::awaitable<Result<RemoteEntry>> stat(std::string path) override;
  asio::awaitable<Result<std::vector<RemoteEntry>>> list(std::string dir) override;
  asio::awaitable<Result<void>> make_directory(std::string path) override;
  asio::awaitable<Result<std::unique_ptr<Upload>>> start_upload(std::string path, UploadOptions options) override;
  asio::awaitable<Result<std::uint64_t>> uploaded_size(std::string path, std::string resume_token) override;
  asio::awaitable<Result<std::string>> read_file(std::string path, std::uint64_t max_size) override;
  asio::awaitable<Result<void>> write_new_file(std::string path, FileBytes bytes) override;
  asio::awaitable<Result<void>> write_new_file_deferred(std::string path, FileBytes bytes) override;
  asio::awaitable<Result<std::unique_ptr<Download>>> open_download(std::string path, std::uint64_t offset) override;
  asio::awaitable<Result<void>> rename_to_new(std::string from, std::string to) override;
  asio::awaitable<Result<void>> remove(std::string path) override;
  asio::awaitable<Result<void>> remove_directory(std::string path) override;
  asio::awaitable<Result<void>> copy(std::string from, std::string to) override;
  asio::awaitable<Result<void>> make_durable() override;
  asio::awaitable<Result<std::optional<std::uint64_t>>> free_space() override;
  asio::awaitable<Result<std::vector<std::string>>> unfinished_uploads() override;
  asio::awaitable<Result<void>> discard_unfinished_uploads(std::string path) override;

  const AsyncSemaphore& slots() const { return m_slots; }

private:
  std::unique_ptr<Target> m_inner;
  int m_max_in_flight;
  AsyncSemaphore m_slots;
  TokenBucket m_bucket;
  std::size_t m_slice;
};

} // namespace offsite::target
