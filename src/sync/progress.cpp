#include "sync/progress.hpp"

#include <chrono>

#include "manifest/manifest.hpp"
#include "util/json_writer.hpp"

namespace offsite::sync {

std::string progress_to_json(const std::string& repository, const SyncProgress& progress, double bytes_per_second) {
  JsonWriter json;
  json.begin_object()
      .field("repository", repository)
      .field("updated", manifest::format_timestamp(std::chrono::system_clock::now()))
      .field("phase", progress.phase)
      .field("bytes_done", progress.transfer.bytes_read)
      .field("bytes_total", progress.bytes_total)
      .field("bytes_sent", progress.transfer.bytes_sent)
      .field("files_done", progress.files_done)
      .field("files_total", progress.files_total)
      .field("files_in_flight", progress.transfer.files_in_flight)
      .field("bytes_per_second", bytes_per_second)
      .end_object();
  return json.take();
}

} // namespace offsite::sync
