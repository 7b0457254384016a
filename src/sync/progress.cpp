#include "sync/progress.hpp"

#include <chrono>

#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "config/units.hpp"
#include "manifest/manifest.hpp"
#include "util/fs.hpp"
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

// Once a second: the progress file for `offsite status`, and a progress line on a terminal.
asio::awaitable<void> report_progress(const sync::SyncProgress& progress, std::string repository,
                                      std::filesystem::path file, bool terminal) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  auto started = std::chrono::steady_clock::now();
  for (;;) {
    timer.expires_after(std::chrono::seconds(1));
    co_await timer.async_wait(asio::use_awaitable);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    double rate = seconds > 0 ? static_cast<double>(progress.transfer.bytes_read) / seconds : 0;
    fs::write_file_atomically(file, sync::progress_to_json(repository, progress, rate) + "\n", 0640);
    if (!terminal) continue;
    std::string line = fmt::format("{}: {}", repository, progress.phase);
    if (progress.bytes_total > 0) {
      double done = static_cast<double>(progress.transfer.bytes_read);
      double total = static_cast<double>(progress.bytes_total);
      line += fmt::format("  {:3.0f}%  {} of {}  {}/s", 100.0 * std::min(done, total) / total,
                          config::format_size(progress.transfer.bytes_read), config::format_size(progress.bytes_total),
                          config::format_size(static_cast<std::uint64_t>(rate)));
      if (rate > 0 && total > done) line += fmt::format("  ETA {:.0f}s", (total - done) / rate);
      line += fmt::format("  files {}/{}", progress.files_done, progress.files_total);
    }
    fmt::print(stderr, "\r\033[K{}", line);
  }
}

} // namespace offsite::sync
