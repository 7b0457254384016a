#include "service/reporting.hpp"

#include <unistd.h>

#include <fmt/format.h>
#include <simdjson.h>

#include "manifest/manifest.hpp"
#include "util/fs.hpp"
#include "util/json_writer.hpp"
#include "util/log.hpp"
#include "util/process.hpp"

namespace offsite::service {
namespace {

// Reads `key` into `out` if present with the right type; leaves `out` as it is otherwise.
template <class T> void read_field(simdjson::dom::element element, const char* key, T& out) {
  T value{};
  if (element[key].get(value) == simdjson::SUCCESS) out = value;
}

// Prometheus label values: backslash, quote and newline escaped.
std::string label(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::int64_t epoch_seconds(std::string_view timestamp) {
  std::tm tm{};
  std::string text(timestamp);
  if (!::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return 0;
  return static_cast<std::int64_t>(::timegm(&tm));
}

} // namespace

void write_metrics(const config::Config& config) {
  if (config.service.metrics_file.empty()) return;
  std::string text;
  text += "# HELP offsite_last_sync_success Whether the last sync of the repository succeeded.\n";
  text += "# TYPE offsite_last_sync_success gauge\n";
  std::string rest;
  for (const auto& repository : config.repositories) {
    auto file = sync::repository_state_dir(config.service.state_dir, repository.name) / "last-result.json";
    auto bytes = fs::read_file(file, 64 << 20);
    if (!bytes) continue;
    simdjson::dom::parser parser;
    simdjson::dom::element result;
    if (parser.parse(*bytes).get(result)) continue;
    std::string_view outcome, started, finished;
    std::uint64_t uploaded = 0, files = 0;
    read_field(result, "outcome", outcome);
    read_field(result, "started", started);
    read_field(result, "finished", finished);
    read_field(result, "bytes_uploaded", uploaded);
    read_field(result, "files_uploaded_count", files);
    auto name = label(repository.name);
    text += fmt::format("offsite_last_sync_success{{repository=\"{}\",outcome=\"{}\"}} {}\n", name, label(outcome),
                        outcome == "success" ? 1 : 0);
    rest += fmt::format("offsite_last_sync_finished_timestamp_seconds{{repository=\"{}\"}} {}\n", name,
                        epoch_seconds(finished));
    rest += fmt::format("offsite_last_sync_duration_seconds{{repository=\"{}\"}} {}\n", name,
                        epoch_seconds(finished) - epoch_seconds(started));
    rest += fmt::format("offsite_last_sync_bytes_uploaded{{repository=\"{}\"}} {}\n", name, uploaded);
    rest += fmt::format("offsite_last_sync_files_uploaded{{repository=\"{}\"}} {}\n", name, files);
    // The last success survives failures: read it from the history's latest success marker.
    auto success = sync::repository_state_dir(config.service.state_dir, repository.name) / "last-success";
    if (auto when = fs::read_file(success, 128); when)
      rest +=
          fmt::format("offsite_last_success_timestamp_seconds{{repository=\"{}\"}} {}\n", name, epoch_seconds(*when));
  }
  text += rest;
  if (auto written = fs::write_file_atomically(config.service.metrics_file, text, 0644); !written)
    log::warning("metrics.write_failed", {{"error", written.error().message}});
}

void run_on_failure(const config::Service& service, const sync::SyncResult& result) {
  if (service.on_failure.empty()) return;
  if (result.outcome != sync::Outcome::failed && result.outcome != sync::Outcome::abandoned) return;
  auto ran = run_command(service.on_failure, sync::result_to_json(result) + "\n", std::chrono::seconds(300));
  if (!ran) {
    log::error("on_failure.failed", {{"repository", result.repository}, {"error", ran.error().message}});
    return;
  }
  if (ran->exit_status != 0)
    log::warning(
        "on_failure.exit",
        {{"repository", result.repository}, {"status", ran->exit_status}, {"output", ran->output.substr(0, 2000)}});
}

void write_service_state(const std::filesystem::path& repository_state, std::string_view state,
                         const std::optional<WindowInstance>& next_window) {
  JsonWriter json;
  json.begin_object().field("state", state).field("pid", static_cast<std::int64_t>(::getpid()));
  json.key("next_window");
  if (next_window)
    json.begin_object()
        .field("start", manifest::format_timestamp(next_window->start))
        .field("end", manifest::format_timestamp(next_window->end))
        .end_object();
  else
    json.null();
  json.end_object();
  fs::create_directories(repository_state, 0750);
  fs::write_file_atomically(repository_state / "service.json", json.str() + "\n", 0640);
}

} // namespace offsite::service
