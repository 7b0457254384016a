#pragma once
// The local-path target: a folder, a USB disk, a mounted NAS share. Durable: uploaded files and
// directories are fsync'd in batches, before every commit point (write_new_file) and removal of
// a transaction directory (local_owed_syncs.hpp); files written whole are fsync'd before their
// rename. What a commit point reported done survives a power cut together with everything before
// it. Every blocking call runs on the offload pool; the event loop never blocks.

#include <filesystem>
#include <memory>
#include <string>

#include <asio/thread_pool.hpp>

#include "target/local_rename.hpp"
#include "target/target.hpp"

namespace offsite::target {

class LocalTarget final : public Target {
public:
  // Root = `target_path`/`folder`. `state_dir` holds the cached rename probe ("" = no cache).
  LocalTarget(std::filesystem::path target_path, std::string folder, asio::thread_pool& pool,
              std::filesystem::path state_dir);
  ~LocalTarget() override;

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

  // How rename_to_new works here (probed or cached at connect(); may be downgraded later).
  RenameMethod rename_method() const { return m_method; }
  // Directories whose fsync is deferred to the next commit point or removal (for tests).
  std::size_t owed_directory_syncs() const;
  // Finished uploads whose fsync is deferred likewise (for tests).
  std::size_t owed_file_syncs() const;
  // Directory fsyncs made for what was owed, so far (for tests).
  std::size_t directory_syncs_made() const;

private:
  // write_new_file (a commit point) or write_new_file_deferred.
  asio::awaitable<Result<void>> write_new(std::string path, FileBytes bytes, bool commit_point);
  // Errors name this absolute path; the checks of check_path() run first.
  std::filesystem::path absolute(std::string_view path) const;

  std::filesystem::path m_target_path;
  std::string m_folder;
  std::filesystem::path m_root;
  asio::thread_pool& m_pool;
  std::filesystem::path m_state_dir;
  RenameMethod m_method = RenameMethod::renameat2;
  std::uint64_t m_max_file_size = 0;
  std::shared_ptr<class LocalOwedSyncs> m_owed;
};

} // namespace offsite::target
