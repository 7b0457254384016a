#pragma once
// What a running sync is doing, for the progress bar and `offsite status` in another process.
// Updated on the event loop thread; readers copy it there.

#include <cstdint>
#include <filesystem>
#include <string>

#include <asio/awaitable.hpp>

#include "sync/uploader.hpp"

namespace offsite::sync {

struct SyncProgress {
  std::string phase =
      "starting"; // connecting, recovering, waiting for backups, scanning, uploading, committing, cleaning
  std::uint64_t bytes_total = 0; // bytes the plan reads
  std::uint64_t files_total = 0;
  std::uint64_t files_done = 0;
  TransferCounters transfer;
};

} // namespace offsite::sync

namespace offsite::sync {

// Once a second until cancelled: rewrites `file` (for `offsite status` in another process) and,
// on a terminal, draws a progress line on stderr.
asio::awaitable<void> report_progress(const SyncProgress& progress, std::string repository, std::filesystem::path file,
                                      bool terminal);

// One JSON object for the progress file `offsite status` reads from another process.
std::string progress_to_json(const std::string& repository, const SyncProgress& progress, double bytes_per_second);

} // namespace offsite::sync
