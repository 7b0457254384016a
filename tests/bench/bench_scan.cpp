// offsite-bench-scan ROOT [FOLDER_DEPTH]
// The memory and time side of BRIEF §8 for the local view: scans ROOT, fills a hash cache with an
// entry per file, saves and reloads it, and prints the time of each step and the memory they add
// per file, against the goal of <= 300 bytes per file. A full cache is the worst case: a sync
// keeps only touched files whose equal bytes it proved but could not commit, so after a sync
// that commits everything the cache is empty (repo/hash_cache.hpp).

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "repo/hash_cache.hpp"
#include "repo/scanner.hpp"

using namespace offsite;

namespace {

// Resident set size now, in bytes (Linux).
long resident_bytes() {
  long pages = 0, resident = 0;
  std::ifstream("/proc/self/statm") >> pages >> resident;
  return resident * ::sysconf(_SC_PAGESIZE);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: offsite-bench-scan ROOT [FOLDER_DEPTH]\n");
    return 2;
  }
  repo::ScanOptions options;
  if (argc > 2) options.folder_depth = std::atoi(argv[2]);
  long baseline = resident_bytes();

  auto start = std::chrono::steady_clock::now();
  auto view = repo::scan_repository(argv[1], options);
  if (!view) {
    std::fprintf(stderr, "%s\n", view.error().message.c_str());
    return 1;
  }
  double scan_seconds = seconds_since(start);
  long after_scan = resident_bytes();

  repo::HashCache cache;
  cache.reserve(view->file_count); // as load() does with the count it reads
  std::uint64_t n = 0;
  for (const auto& folder : view->folders)
    for (const auto& file : folder.files)
      cache.store(file, Hash128{++n, n});
  long after_cache = resident_bytes();

  auto cache_file = std::filesystem::temp_directory_path() / ("offsite-bench-cache-" + std::to_string(::getpid()));
  start = std::chrono::steady_clock::now();
  if (auto saved = cache.save(cache_file); !saved) {
    std::fprintf(stderr, "%s\n", saved.error().message.c_str());
    return 1;
  }
  double save_seconds = seconds_since(start);
  start = std::chrono::steady_clock::now();
  auto loaded = repo::HashCache::load(cache_file);
  std::uint64_t hits = 0;
  for (const auto& folder : view->folders)
    for (const auto& file : folder.files)
      hits += loaded.lookup(file).has_value();
  double load_seconds = seconds_since(start);
  std::filesystem::remove(cache_file);

  double files = view->file_count ? static_cast<double>(view->file_count) : 1.0;
  std::printf("files %llu  folders %zu  skipped %zu  bytes %llu\n", static_cast<unsigned long long>(view->file_count),
              view->folders.size(), view->skipped.size(), static_cast<unsigned long long>(view->total_bytes));
  std::printf("scan %.3f s  cache save %.3f s  cache load+lookup %.3f s (%llu hits)\n", scan_seconds, save_seconds,
              load_seconds, static_cast<unsigned long long>(hits));
  std::printf("memory per file: scan %.0f B, scan + hash cache %.0f B (goal <= 300 B)\n",
              static_cast<double>(after_scan - baseline) / files, static_cast<double>(after_cache - baseline) / files);
  return 0;
}
