#include "target/local_directory_syncs.hpp"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "target/local_platform.hpp"

namespace offsite::target {

void LocalDirectorySyncs::defer(const std::filesystem::path& dir) {
  std::lock_guard lock(m_mutex);
  m_owed.insert(dir.native());
}

void LocalDirectorySyncs::forget(const std::filesystem::path& dir) {
  std::lock_guard lock(m_mutex);
  m_owed.erase(dir.native());
}

Result<void> LocalDirectorySyncs::flush() {
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

std::size_t LocalDirectorySyncs::owed() const {
  std::lock_guard lock(m_mutex);
  return m_owed.size();
}

} // namespace offsite::target
