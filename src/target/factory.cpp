#include "target/factory.hpp"

#include <cstdlib>
#include <string_view>

#include <fmt/format.h>

#include "target/local.hpp"
#include "target/registry.hpp"
#include "target/s3.hpp"
#include "target/sftp.hpp"

namespace offsite::target {
namespace {

using Factory = Result<std::unique_ptr<Target>> (*)(const config::Repository&, asio::thread_pool&,
                                                    const std::filesystem::path&, const HostKeyTrust&);

Result<std::unique_ptr<Target>> make_local(const config::Repository& repository, asio::thread_pool& pool,
                                           const std::filesystem::path& state_dir, const HostKeyTrust&) {
  const auto& settings = std::get<config::LocalTarget>(repository.target.settings);
  return std::unique_ptr<Target>(std::make_unique<LocalTarget>(settings.path, repository.folder, pool, state_dir));
}

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

// Keys from the configuration, else the usual AWS environment variables (as the AWS CLI reads them).
net::Credentials s3_credentials(const config::S3Target& settings) {
  if (!settings.access_key_id.empty())
    return {settings.access_key_id, settings.secret_access_key.reveal(), settings.session_token.reveal()};
  return {environment("AWS_ACCESS_KEY_ID"), environment("AWS_SECRET_ACCESS_KEY"), environment("AWS_SESSION_TOKEN")};
}

Result<std::unique_ptr<Target>> make_s3(const config::Repository& repository, asio::thread_pool& pool,
                                        const std::filesystem::path&, const HostKeyTrust&) {
  const auto& settings = std::get<config::S3Target>(repository.target.settings);
  auto endpoint = net::S3Endpoint::parse(settings.endpoint, settings.region);
  if (!endpoint) return Unexpected(std::move(endpoint).error());
  endpoint->path_style = settings.url_style == config::S3UrlStyle::path;
  endpoint->bucket = settings.bucket;
  endpoint->ca_file = settings.ca_file;
  endpoint->storage_class = settings.storage_class;
  endpoint->server_side_encryption = settings.server_side_encryption;
  S3Options options;
  options.endpoint = std::move(*endpoint);
  options.credentials = s3_credentials(settings);
  options.prefix = settings.prefix;
  options.folder = repository.folder;
  options.chunk_size = repository.chunk_size;
  options.max_connections = repository.concurrency;
  // Test-only: lower CopyObject's 5 GiB limit so tests reach the UploadPartCopy path cheaply.
  if (auto limit = environment("OFFSITE_TEST_S3_SINGLE_COPY_LIMIT"); !limit.empty()) {
    options.single_copy_limit = std::strtoull(limit.c_str(), nullptr, 10);
    options.copy_part_size = options.single_copy_limit;
  }
  return std::unique_ptr<Target>(std::make_unique<S3Target>(std::move(options), pool));
}

// The secrets leave the config here, for libssh2 only (grep reveal()).
Result<std::unique_ptr<Target>> make_sftp(const config::Repository& repository, asio::thread_pool&,
                                          const std::filesystem::path&, const HostKeyTrust& trust) {
  const auto& settings = std::get<config::SftpTarget>(repository.target.settings);
  SftpSettings sftp;
  sftp.ssh.host = settings.host;
  sftp.ssh.port = settings.port;
  sftp.ssh.username = settings.username;
  sftp.ssh.credentials.password = settings.password.reveal();
  sftp.ssh.credentials.private_key = settings.private_key;
  sftp.ssh.credentials.passphrase = settings.private_key_passphrase.reveal();
  sftp.ssh.host_keys.known_hosts = settings.known_hosts;
  sftp.ssh.host_keys.accept_unknown = trust.accept_unknown;
  sftp.ssh.host_keys.pinned_fingerprint = trust.pinned_fingerprint;
  sftp.ssh.repository_name = repository.name;
  auto host = settings.host.find(':') != std::string::npos ? "[" + settings.host + "]" : settings.host;
  sftp.ssh.describe =
      fmt::format("sftp://{}{}:{}", settings.username.empty() ? "" : settings.username + "@", host, settings.port);
  sftp.ssh.io_timeout = ssh_io_timeout_from_environment();
  sftp.path = settings.path;
  sftp.folder = repository.folder;
  sftp.concurrency = repository.concurrency;
  return std::unique_ptr<Target>(std::make_unique<SftpTarget>(std::move(sftp)));
}

struct Entry {
  std::string_view type;
  Factory factory; // null: not built yet
  std::string_view landing_with;
};

constexpr Entry k_targets[] = {
    {"local", &make_local, ""},
    {"sftp", &make_sftp, ""},
    {"s3", &make_s3, ""},
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

std::chrono::milliseconds ssh_io_timeout_from_environment() {
  if (const char* text = std::getenv("OFFSITE_TEST_SSH_TIMEOUT_MS"); text && *text)
    return std::chrono::milliseconds(std::max(100L, std::atol(text)));
  return std::chrono::seconds(20);
}

Result<BuiltTarget> make_target(const config::Repository& repository, asio::thread_pool& pool,
                                const std::filesystem::path& state_dir, const HostKeyTrust& trust) {
  for (const auto& entry : k_targets) {
    if (entry.type != repository.target.type) continue;
    if (!entry.factory)
      return make_error(ErrorKind::unsupported, fmt::format("target type \"{}\" is not available in this build yet "
                                                            "(it lands with {})",
                                                            entry.type, entry.landing_with));
    auto inner = entry.factory(repository, pool, state_dir, trust);
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
