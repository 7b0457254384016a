#include "target/local_owed_syncs.hpp"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "target/local_platform.hpp"

namespace offsite::target {

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
  for (std::size_t i = 0; i < files.size(); ++i) {
    auto& [path, file] = files[i];
    int rc = file->sync();
    if (rc == 0) file->drop_cache(); // see "Drop behind" in local_owed_syncs.hpp
    file->close();
    if (rc == 0) continue;
    platform::remove_file(path);
    defer_parent(path);
    std::lock_guard lock(m_mutex);
    m_files.insert(m_files.end(), std::make_move_iterator(files.begin() + static_cast<std::ptrdiff_t>(i) + 1),
                   std::make_move_iterator(files.end()));
    // Permanent: the bytes are gone, and only a new upload brings them back.
    auto error = error_from_errno(rc, fmt::format("{}: cannot sync (the upload was removed)", path.string()));
    return make_error(ErrorKind::permanent, std::move(error.message));
  }
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
  // Shorter paths first: a parent is synced before the directories created inside it.
  std::sort(owed.begin(), owed.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() < b.size() : a < b;
  });
  for (std::size_t i = 0; i < owed.size(); ++i) {
    int rc = platform::sync_directory(owed[i]);
    if (rc == 0 || rc == ENOENT) continue; // removed since: nothing of it is relied on any more
    std::lock_guard lock(m_mutex);
    m_owed.insert(owed.begin() + static_cast<std::ptrdiff_t>(i), owed.end());
    return Unexpected(error_from_errno(rc, fmt::format("{}: cannot sync directory", owed[i])));
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

} // namespace offsite::target
