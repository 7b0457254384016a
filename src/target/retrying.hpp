#pragma once
// A decorator that retries operations failing with ErrorKind::transient (restic's RetryBackend),
// with backoff within the per-outage budget of a RetryPolicy; other kinds pass through at once.
//
// What it cannot do: replay an Upload's write() or finish() (the bytes are gone). An upload
// session is opened with retries, and its failures reach the engine, whose uploader waits on the
// same RetryPolicy, asks uploaded_size() and resumes at a chunk boundary. Downloads, on the other
// hand, are reopened at the current offset and retried here.
//
// A retried operation that is not idempotent may report what its earlier, seemingly failed
// attempt did: rename_to_new() or remove() may answer not_found, write_new_file() already_exists.
// The engine settles such cases by looking (BRIEF §5.3), never by trusting one answer.
// Network targets reconnect by themselves on the next operation after a transient failure.

#include <memory>

#include "target/retry_policy.hpp"
#include "target/target.hpp"

namespace offsite::target {

class RetryingTarget final : public Target {
public:
  RetryingTarget(std::unique_ptr<Target> inner, std::shared_ptr<RetryPolicy> policy);

  // The outage budget, shared with the engine's uploader.
  const std::shared_ptr<RetryPolicy>& policy() const { return m_policy; }

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

private:
  std::unique_ptr<Target> m_inner;
  std::shared_ptr<RetryPolicy> m_policy;
};

} // namespace offsite::target
