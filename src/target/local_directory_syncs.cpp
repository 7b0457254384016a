#include "target/local_directory_syncs.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "target/local_platform.hpp"

namespace offsite::target {

void LocalDirectorySyncs::defer(const std::filesystem::path& dir) {
  std::lock_guard lock(m_mutex);
  // Batches are a few directories long (one per folder being uploaded), so a linear search is
  // cheaper than a set.
  if (std::find(m_owed.begin(), m_owed.end(), dir) == m_owed.end()) m_owed.push_back(dir);
}

void LocalDirectorySyncs::forget(const std::filesystem::path& dir) {
  std::lock_guard lock(m_mutex);
  std::erase(m_owed, dir);
}

Result<void> LocalDirectorySyncs::flush() {
  std::vector<std::filesystem::path> owed;
  {
    std::lock_guard lock(m_mutex);
    owed.swap(m_owed);
  }
  // Shorter paths first: a parent is synced before the directories created inside it.
  std::stable_sort(owed.begin(), owed.end(), [](const std::filesystem::path& a, const std::filesystem::path& b) {
    return a.native().size() < b.native().size();
  });
  for (std::size_t i = 0; i < owed.size(); ++i) {
    int rc = platform::sync_directory(owed[i]);
    if (rc == 0 || rc == ENOENT) continue; // removed since: nothing of it is relied on any more
    std::lock_guard lock(m_mutex);
    for (std::size_t j = i; j < owed.size(); ++j)
      if (std::find(m_owed.begin(), m_owed.end(), owed[j]) == m_owed.end()) m_owed.push_back(owed[j]);
    return Unexpected(error_from_errno(rc, fmt::format("{}: cannot sync directory", owed[i].string())));
  }
  return {};
}

std::size_t LocalDirectorySyncs::owed() const {
  std::lock_guard lock(m_mutex);
  return m_owed.size();
}

} // namespace offsite::target
