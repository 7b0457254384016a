#include "target/factory.hpp"

#include <cstdlib>
#include <string_view>

#include <fmt/format.h>

#include "target/local.hpp"
#include "target/registry.hpp"

namespace offsite::target {
namespace {

using Factory = Result<std::unique_ptr<Target>> (*)(const config::Repository&, asio::thread_pool&,
                                                    const std::filesystem::path&);

Result<std::unique_ptr<Target>> make_local(const config::Repository& repository, asio::thread_pool& pool,
                                           const std::filesystem::path& state_dir) {
  const auto& settings = std::get<config::LocalTarget>(repository.target.settings);
  return std::unique_ptr<Target>(std::make_unique<LocalTarget>(settings.path, repository.folder, pool, state_dir));
}

struct Entry {
  std::string_view type;
  Factory factory; // null: not built yet
  std::string_view landing_with;
};

constexpr Entry k_targets[] = {
    {"local", &make_local, ""},
    {"sftp", nullptr, "the SFTP target issue"},
    {"s3", nullptr, "the S3 target issue"},
    {"ftp", nullptr, "the FTP/FTPS target issue"},
    {"ftps", nullptr, "the FTP/FTPS target issue"},
    {"smb", nullptr, "the SMB target issue"},
};

} // namespace

std::chrono::milliseconds base_backoff_from_environment() {
  if (const char* text = std::getenv("OFFSITE_TEST_BACKOFF_MS"); text && *text)
    return std::chrono::milliseconds(std::max(1L, std::atol(text)));
  return std::chrono::seconds(1);
}

Result<BuiltTarget> make_target(const config::Repository& repository, asio::thread_pool& pool,
                                const std::filesystem::path& state_dir) {
  for (const auto& entry : k_targets) {
    if (entry.type != repository.target.type) continue;
    if (!entry.factory)
      return make_error(ErrorKind::unsupported, fmt::format("target type \"{}\" is not available in this build yet "
                                                            "(it lands with {})",
                                                            entry.type, entry.landing_with));
    auto inner = entry.factory(repository, pool, state_dir);
    if (!inner) return Unexpected(std::move(inner).error());
    WrapOptions options;
    options.retry_budget = repository.retry_budget;
    options.bandwidth_limit = repository.bandwidth_limit;
    options.concurrency = repository.concurrency;
    options.base_backoff = base_backoff_from_environment();
    options.retry_policy = std::make_shared<RetryPolicy>(
        RetryOptions{std::chrono::duration_cast<std::chrono::milliseconds>(repository.retry_budget),
                     options.base_backoff, std::chrono::seconds(60), 0.25});
    BuiltTarget built{wrap_target(std::move(*inner), options), options.retry_policy};
    return built;
  }
  return make_error(ErrorKind::config, fmt::format("unknown target type \"{}\"", repository.target.type));
}

} // namespace offsite::target
