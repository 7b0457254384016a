#include "target/retrying.hpp"

#include <type_traits>

namespace offsite::target {
namespace {

// Runs `attempt` (a callable returning a fresh awaitable each time) until it succeeds, fails with a
// kind not worth retrying, or the policy's budget is spent.
template <class Attempt> std::invoke_result_t<Attempt&> with_retries(RetryPolicy& policy, Attempt attempt) {
  RetryAttempts attempts;
  for (;;) {
    auto result = co_await attempt();
    if (result) {
      policy.note_success();
      co_return result;
    }
    auto waited = co_await policy.wait_before_retry(result.error(), attempts);
    if (!waited) co_return Unexpected(std::move(waited).error());
  }
}

// Passes every call through; a success ends the outage for everyone waiting on the policy.
class RetryingUpload final : public Upload {
public:
  RetryingUpload(std::unique_ptr<Upload> inner, std::shared_ptr<RetryPolicy> policy)
      : m_inner(std::move(inner)), m_policy(std::move(policy)) {}

  asio::awaitable<Result<void>> write(std::span<const std::byte> bytes) override {
    auto written = co_await m_inner->write(bytes);
    if (written) m_policy->note_success();
    co_return written;
  }
  asio::awaitable<Result<std::uint64_t>> finish() override {
    auto finished = co_await m_inner->finish();
    if (finished) m_policy->note_success();
    co_return finished;
  }
  asio::awaitable<Result<void>> abort() override { co_return co_await m_inner->abort(); }
  std::string resume_token() const override { return m_inner->resume_token(); }
  int max_parallel_writes(std::uint64_t part_size) const override { return m_inner->max_parallel_writes(part_size); }
  asio::awaitable<Result<void>> write_at(std::uint64_t offset, std::span<const std::byte> bytes) override {
    auto written = co_await m_inner->write_at(offset, bytes);
    if (written) m_policy->note_success();
    co_return written;
  }

private:
  std::unique_ptr<Upload> m_inner;
  std::shared_ptr<RetryPolicy> m_policy;
};

// Reopens the download at the current offset after a transient read failure.
class RetryingDownload final : public Download {
public:
  RetryingDownload(Target& target, std::string path, std::uint64_t offset, std::unique_ptr<Download> inner,
                   std::shared_ptr<RetryPolicy> policy)
      : m_target(target), m_path(std::move(path)), m_offset(offset), m_inner(std::move(inner)),
        m_policy(std::move(policy)) {}

  asio::awaitable<Result<std::size_t>> read(std::span<std::byte> bytes) override {
    RetryAttempts attempts;
    for (;;) {
      Error failure;
      if (!m_inner) {
        auto reopened = co_await m_target.open_download(m_path, m_offset);
        if (reopened)
          m_inner = std::move(*reopened);
        else
          failure = std::move(reopened).error();
      }
      if (m_inner) {
        auto got = co_await m_inner->read(bytes);
        if (got) {
          m_policy->note_success();
          m_offset += *got;
          co_return got;
        }
        failure = std::move(got).error();
        m_inner.reset();
      }
      auto waited = co_await m_policy->wait_before_retry(failure, attempts);
      if (!waited) co_return Unexpected(std::move(waited).error());
    }
  }

private:
  Target& m_target; // the inner target: each reopen is one attempt of this read
  std::string m_path;
  std::uint64_t m_offset;
  std::unique_ptr<Download> m_inner;
  std::shared_ptr<RetryPolicy> m_policy;
};

} // namespace

RetryingTarget::RetryingTarget(std::unique_ptr<Target> inner, std::shared_ptr<RetryPolicy> policy)
    : m_inner(std::move(inner)), m_policy(policy ? std::move(policy) : std::make_shared<RetryPolicy>()) {}

Capabilities RetryingTarget::capabilities() const { return m_inner->capabilities(); }
std::string RetryingTarget::describe() const { return m_inner->describe(); }

asio::awaitable<Result<void>> RetryingTarget::connect() {
  auto attempt = [this] { return m_inner->connect(); };
  auto pending = with_retries(*m_policy, std::move(attempt));
  co_return co_await std::move(pending);
}

asio::awaitable<Result<RemoteEntry>> RetryingTarget::stat(std::string path) {
  auto attempt = [this, path] { return m_inner->stat(path); };
  auto pending = with_retries(*m_policy, std::move(attempt));
  co_return co_await std::move(pending);
}

asio::awaitable<Result<std::vector<RemoteEntry>>> RetryingTarget::list(std::string dir) {
  auto attempt = [this, dir] { return m_inner->list(dir); };
  auto pending = with_retries(*m_policy, std::move(attempt));
  co_return co_await std::move(pending);
}

asio::awaitable<Result<void>> RetryingTarget::make_directory(std::string path) {
  auto attempt = [this, path] { return m_inner->make_directory(path); };
  auto pending = with_retries(*m_policy, std::move(attempt));
  co_return co_await std::move(pending);
}

asio::awaitable<Result<std::unique_ptr<Upload>>> RetryingTarget::start_upload(std::string path, UploadOptions options) {
  auto attempt = [this, path, options] { return m_inner->start_upload(path, options); };
  auto pending = with_retries(*m_policy, std::move(attempt));
  auto started = co_await std::move(pending);
  if (!started) co_return Unexpected(std::move(started).error());
  co_return std::make_unique<RetryingUpload>(std::move(*started), m_policy);
}

asio::awaitable<Result<std::uint64_t>> RetryingTarget::uploaded_size(std::string path, std::string resume_token) {
  auto attempt = [this, path, resume_token] { return m_inner->uploaded_size(path, resume_token); };
  auto pending = with_retries(*m_policy, std::move(attempt));
  co_return co_await std::move(pending);
}

asio::awaitable<Result<std::string>> RetryingTarget::read_file(std::string path, std::uint64_t max_size) {
  auto attempt = [this, path, max_size] { return m_inner->read_file(path, max_size); };
  auto pending = with_retries(*m_policy, std::move(attempt));
  co_return co_await std::move(pending);
}

asio::awaitable<Result<void>> RetryingTarget::write_new_file(std::string path, FileBytes bytes) {
  auto attempt = [this, path, bytes] { return m_inner->write_new_file(path, bytes); };
  auto pending = with_retries(*m_policy, std::move(attempt));
  co_return co_await std::move(pending);
}

asio::awaitable<Result<void>> RetryingTarget::write_new_file_deferred(std::string path, FileBytes bytes) {
  auto attempt = [this, path, bytes] { return m_inner->write_new_file_deferred(path, bytes); };
  auto pending = with_retries(*m_policy, std::move(attempt));
  co_return co_await std::move(pending);
}

asio::awaitable<Result<std::unique_ptr<Download>>> RetryingTarget::open_download(std::string path,
                                                                                 std::uint64_t offset) {
  auto attempt = [this, path, offset] { return m_inner->open_download(path, offset); };
  auto pending = with_retries(*m_policy, std::move(attempt));
  auto opened = co_await std::move(pending);
  if (!opened) co_return Unexpected(std::move(opened).error());
  co_return std::make_unique<RetryingDownload>(*m_inner, std::move(path), offset, std::move(*opened), m_policy);
}

asio::awaitable<Result<void>> RetryingTarget::rename_to_new(std::string from, std::string to) {
  auto attempt = [this, from, to] { return m_inner->rename_to_new(from, to); };
  auto pending = with_retries(*m_policy, std::move(attempt));
  co_return co_await std::move(pending);
}

asio::awaitable<Result<void>> RetryingTarget::remove(std::string path) {
  auto attempt = [this, path] { return m_inner->remove(path); };
  auto pending = with_retries(*m_policy, std::move(attempt));
  co_return co_await std::move(pending);
}

asio::awaitable<Result<void>> RetryingTarget::remove_directory(std::string path) {
  auto attempt = [this, path] { return m_inner->remove_directory(path); };
  auto pending = with_retries(*m_policy, std::move(attempt));
  co_return co_await std::move(pending);
}

// Not retried: a failed fsync is not transient (Linux reports a lost writeback once, and the
// local target then removes the file), and retrying would report success over it.
asio::awaitable<Result<void>> RetryingTarget::make_durable() { co_return co_await m_inner->make_durable(); }

asio::awaitable<Result<void>> RetryingTarget::copy(std::string from, std::string to) {
  auto attempt = [this, from, to] { return m_inner->copy(from, to); };
  auto pending = with_retries(*m_policy, std::move(attempt));
  co_return co_await std::move(pending);
}

asio::awaitable<Result<std::optional<std::uint64_t>>> RetryingTarget::free_space() {
  auto attempt = [this] { return m_inner->free_space(); };
  auto pending = with_retries(*m_policy, std::move(attempt));
  co_return co_await std::move(pending);
}

asio::awaitable<Result<std::vector<std::string>>> RetryingTarget::unfinished_uploads() {
  auto attempt = [this] { return m_inner->unfinished_uploads(); };
  auto pending = with_retries(*m_policy, std::move(attempt));
  co_return co_await std::move(pending);
}

asio::awaitable<Result<void>> RetryingTarget::discard_unfinished_uploads(std::string path) {
  auto attempt = [this, path] { return m_inner->discard_unfinished_uploads(path); };
  auto pending = with_retries(*m_policy, std::move(attempt));
  co_return co_await std::move(pending);
}

} // namespace offsite::target
