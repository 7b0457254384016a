#include "cli/commands.hpp"

#include <cerrno>
#include <csignal>
#include <vector>

#include <fmt/format.h>
#include <simdjson.h>

#include "cli/context.hpp"
#include "cli/exit_codes.hpp"
#include "config/load.hpp"
#include "config/units.hpp"
#include "sync/result.hpp"
#include "util/fs.hpp"
#include "util/json_writer.hpp"

namespace offsite::cli {
namespace {

// Reads `key` into `out` if present with the right type; leaves `out` as it is otherwise.
template <class T> void read_field(simdjson::dom::element element, const char* key, T& out) {
  T value{};
  if (element[key].get(value) == simdjson::SUCCESS) out = value;
}

// What the state files of one repository say. Status works from another process and while no
// service runs: a running sync rewrites progress.json about once a second; every finished sync
// leaves last-result.json.
struct RepositoryStatus {
  std::string state = "idle";
  std::optional<std::string> progress_json; // as the running sync wrote it
  std::optional<std::string> last_result_json;
  std::optional<std::string> service_json; // as `offsite run` wrote it
  std::string summary;                     // one line for people
};

bool process_is_running(std::int64_t pid) {
  return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
}

bool json_is_object(const std::string& text) {
  simdjson::dom::parser parser;
  simdjson::dom::element element;
  return !parser.parse(text).get(element) && element.is_object();
}

RepositoryStatus read_status(const config::Service& service, const config::Repository& repository) {
  RepositoryStatus status;
  auto dir = sync::repository_state_dir(service.state_dir, repository.name);
  if (auto progress = fs::read_file(dir / "progress.json", 1 << 20); progress && json_is_object(*progress)) {
    status.state = "syncing";
    status.progress_json = *progress;
    simdjson::dom::parser parser;
    simdjson::dom::element element;
    if (!parser.parse(*progress).get(element)) {
      std::string_view phase = "syncing";
      std::uint64_t done = 0, total = 0;
      double rate = 0;
      read_field(element, "phase", phase);
      read_field(element, "bytes_done", done);
      read_field(element, "bytes_total", total);
      read_field(element, "bytes_per_second", rate);
      status.summary = fmt::format("{}, {} of {} at {}/s", phase, config::format_size(done), config::format_size(total),
                                   config::format_size(static_cast<std::uint64_t>(rate)));
    }
  }
  if (!status.progress_json) {
    // The service's view, while its process lives: waiting for the window, waiting to retry.
    if (auto service = fs::read_file(dir / "service.json", 1 << 20); service && json_is_object(*service)) {
      simdjson::dom::parser parser;
      simdjson::dom::element element;
      std::int64_t pid = 0;
      std::string_view state, start;
      if (!parser.parse(*service).get(element) && !element["pid"].get(pid) && process_is_running(pid) &&
          !element["state"].get(state)) {
        status.state = std::string(state);
        status.service_json = *service;
        if (!element["next_window"]["start"].get(start)) status.summary = fmt::format("next window {}", start);
      }
    }
  }
  if (auto result = fs::read_file(dir / "last-result.json", 64 << 20); result && json_is_object(*result)) {
    status.last_result_json = *result;
  }
  return status;
}

std::string describe_last_result(const std::optional<std::string>& json) {
  if (!json) return "none recorded";
  simdjson::dom::parser parser;
  simdjson::dom::element element;
  if (parser.parse(*json).get(element)) return "unreadable";
  std::string_view outcome = "?", finished = "?", error;
  std::uint64_t bytes = 0, generation = 0;
  read_field(element, "outcome", outcome);
  read_field(element, "finished", finished);
  read_field(element, "bytes_uploaded", bytes);
  read_field(element, "generation", generation);
  read_field(element, "error", error);
  std::string line =
      fmt::format("{} at {}, {} uploaded, generation {}", outcome, finished, config::format_size(bytes), generation);
  if (!error.empty()) line += fmt::format(" ({})", error);
  return line;
}

} // namespace

int cmd_status(const GlobalOptions& global, const StatusOptions& options) {
  auto config = load_config_or_report(global);
  if (!config) return k_exit_usage;

  std::vector<const config::Repository*> selected;
  if (options.name) {
    auto* repository = find_repository_or_report(*config, *options.name);
    if (!repository) return k_exit_usage;
    selected.push_back(repository);
  } else {
    for (const auto& repository : config->repositories)
      selected.push_back(&repository);
  }

  if (options.json) {
    // The state files are our own JSON objects: embedded as they are, not re-encoded.
    std::string out = "[";
    for (std::size_t i = 0; i < selected.size(); ++i) {
      const auto* repository = selected[i];
      auto status = read_status(config->service, *repository);
      JsonWriter head;
      head.begin_object()
          .field("repository", repository->name)
          .field("path", repository->path.string())
          .field("target", config::describe_target(repository->target))
          .field("folder", repository->folder)
          .field("schedule", describe_schedule(*repository))
          .field("state", status.state);
      std::string object = head.take();
      object += ",\"progress\":" + (status.progress_json ? *status.progress_json : std::string("null"));
      object += ",\"service\":" + (status.service_json ? *status.service_json : std::string("null"));
      object += ",\"last_result\":" + (status.last_result_json ? *status.last_result_json : std::string("null"));
      object += "}";
      if (i) out += ",";
      out += object;
    }
    out += "]";
    // Strip the newlines the state files end with, so the output is one line.
    std::erase(out, '\n');
    fmt::print("{}\n", out);
    return k_exit_success;
  }
  for (const auto* repository : selected) {
    auto status = read_status(config->service, *repository);
    fmt::print("{}\n  state:       {}{}\n  target:      {}\n  schedule:    {}\n  last result: {}\n", repository->name,
               status.state, status.summary.empty() ? "" : " (" + status.summary + ")",
               config::describe_destination(repository->target, repository->folder), describe_schedule(*repository),
               describe_last_result(status.last_result_json));
  }
  return k_exit_success;
}

} // namespace offsite::cli
