#include "target/local_owed_syncs.hpp"

#include <algorithm>
#include <atomic>
#include <optional>
#include <system_error>
#include <thread>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include "target/local_platform.hpp"

namespace offsite::target {
namespace {

// Runs work(i) for every i in [0, n), on this thread and up to k_sync_lanes - 1 more, and returns
// once all are done. The fsyncs of one flush then wait for the disk together: a journaling file
// system commits the fsyncs that wait at once in one journal commit, where one after another each
// waited for its own (and, while a large upload streams, for that upload's data written so far).
constexpr std::size_t k_sync_lanes = 4;

// `work` must not throw: it runs on threads that have nowhere to report to.
template <class Work> void in_lanes(std::size_t n, Work work) {
  static_assert(std::is_nothrow_invocable_v<Work&, std::size_t>);
  std::atomic<std::size_t> next{0};
  auto lane = [&]() noexcept {
    for (std::size_t i = next++; i < n; i = next++)
      work(i);
  };
  std::vector<std::jthread> helpers;
  try {
    helpers.reserve(k_sync_lanes - 1);
    for (std::size_t extra = 1; extra < std::min(n, k_sync_lanes); ++extra)
      helpers.emplace_back(lane);
  } catch (...) {
    // No thread (or no memory) to be had: fewer lanes, the same work.
  }
  lane();
} // the helpers join here

} // namespace

void LocalOwedSyncs::defer(const std::filesystem::path& dir) {
  std::lock_guard lock(m_mutex);
  m_owed.insert(dir.native());
}

void LocalOwedSyncs::forget(const std::filesystem::path& dir) {
  std::lock_guard lock(m_mutex);
  m_owed.erase(dir.native());
}

std::size_t LocalOwedSyncs::defer_file(const std::filesystem::path& path, std::shared_ptr<platform::File> file) {
  std::lock_guard lock(m_mutex);
  m_files.emplace_back(path, std::move(file));
  return m_files.size();
}

void LocalOwedSyncs::file_moved(const std::filesystem::path& from, const std::filesystem::path& to) {
  std::lock_guard lock(m_mutex);
  for (auto& owed : m_files)
    if (owed.first == from) owed.first = to;
}

void LocalOwedSyncs::file_removed(const std::filesystem::path& path) {
  std::lock_guard lock(m_mutex);
  std::erase_if(m_files, [&](const auto& owed) { return owed.first == path; });
}

Result<void> LocalOwedSyncs::flush_files() {
  std::lock_guard flushing(m_flushing);
  return flush_files_locked();
}

Result<void> LocalOwedSyncs::flush_files_locked() {
  decltype(m_files) files;
  {
    std::lock_guard lock(m_mutex);
    files.swap(m_files);
  }
  for (auto& owed : files)
    owed.second->start_writeback(0, 0);
  std::vector<int> results(files.size(), 0);
  in_lanes(files.size(), [&](std::size_t i) noexcept {
    auto& file = files[i].second;
    results[i] = file->sync();
    if (results[i] == 0) file->drop_cache(); // see "Drop behind" in local_owed_syncs.hpp
    file->close();
  });
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (results[i] == 0) continue;
    const auto& path = files[i].first;
    platform::remove_file(path);
    defer_parent(path);
    // Permanent: the bytes are gone, and only a new upload brings them back.
    auto error = error_from_errno(results[i], fmt::format("{}: cannot sync (the file was removed)", path.string()));
    std::lock_guard lock(m_mutex);
    if (!m_lost) m_lost = Error{ErrorKind::permanent, std::move(error.message)};
  }
  std::lock_guard lock(m_mutex);
  if (m_lost) return Unexpected(*m_lost);
  return {};
}

Result<void> LocalOwedSyncs::flush() {
  std::lock_guard flushing(m_flushing);
  if (auto synced = flush_files_locked(); !synced) return synced;
  std::vector<std::string> owed;
  {
    std::lock_guard lock(m_mutex);
    owed.assign(m_owed.begin(), m_owed.end());
    m_owed.clear();
  }
  std::vector<std::filesystem::path> dirs(owed.begin(), owed.end()); // made here: a lane must not throw
  std::vector<int> results(dirs.size(), 0);
  in_lanes(dirs.size(), [&](std::size_t i) noexcept { results[i] = platform::sync_directory(dirs[i]); });
  {
    std::lock_guard lock(m_mutex);
    m_directories_synced += dirs.size();
  }
  for (std::size_t i = 0; i < owed.size(); ++i) {
    if (results[i] == 0 || results[i] == ENOENT) continue; // removed since: nothing of it is relied on any more
    std::lock_guard lock(m_mutex);
    for (std::size_t j = i; j < owed.size(); ++j)
      if (results[j] != 0 && results[j] != ENOENT) m_owed.insert(owed[j]);
    return Unexpected(error_from_errno(results[i], fmt::format("{}: cannot sync directory", owed[i])));
  }
  return {};
}

std::size_t LocalOwedSyncs::owed_directories() const {
  std::lock_guard lock(m_mutex);
  return m_owed.size();
}

std::size_t LocalOwedSyncs::owed_files() const {
  std::lock_guard lock(m_mutex);
  return m_files.size();
}

std::size_t LocalOwedSyncs::directories_synced() const {
  std::lock_guard lock(m_mutex);
  return m_directories_synced;
}

} // namespace offsite::target
