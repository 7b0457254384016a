// [service] and [[repository]]: every key of BRIEF §3 with its default, range and meaning.

#include "config/sections.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include <fmt/format.h>

#include "config/units.hpp"
#include "util/glob.hpp"

namespace offsite::config::detail {
namespace {

constexpr std::array<std::string_view, 7> k_day_names = {"monday", "tuesday",  "wednesday", "thursday",
                                                         "friday", "saturday", "sunday"};

// Transfers below 64 KiB cost more in round trips than they carry; above 4 GiB no target takes
// them in one piece and memory (2 x concurrency x chunk_size) runs out.
constexpr std::uint64_t k_min_chunk = 64 * 1024;
constexpr std::uint64_t k_max_chunk = 4ull << 30;
constexpr std::uint64_t k_min_s3_part = 5 * k_mib; // S3's minimum multipart part size
constexpr int k_max_folder_depth = 16;
constexpr int k_max_concurrency = 64;

std::optional<int> day_index(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  for (size_t i = 0; i < k_day_names.size(); ++i)
    if (text == k_day_names[i] || text == k_day_names[i].substr(0, 3)) return static_cast<int>(i);
  return std::nullopt;
}

void read_days(TableReader& reader, Repository& repository) {
  const toml::node* value = reader.node("days");
  if (!value) return;
  const toml::array* array = value->as_array();
  if (!array) {
    reader.wrong_type("days", *value, "an array of day names such as [\"mon\", \"fri\"]");
    return;
  }
  if (array->empty()) {
    reader.error_at("days", "no day given: the repository would never sync (leave `days` out for every day)");
    return;
  }
  Days days{};
  for (size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    std::string key = fmt::format("{}[{}]", reader.key_path("days"), i + 1);
    auto name = element.value_exact<std::string>();
    auto index = name ? day_index(*name) : std::nullopt;
    if (!name)
      reader.context().error(element.source(), key,
                             fmt::format("expected a day name, found {}", type_name(element.type())));
    else if (!index)
      reader.context().error(element.source(), key,
                             fmt::format("unknown day \"{}\"; use mon, tue, wed, thu, fri, sat or sun", *name));
    else
      days[static_cast<size_t>(*index)] = true;
  }
  repository.days = days;
}

std::optional<int> read_time(TableReader& window, std::string_view key) {
  const toml::node* value = window.node(key);
  if (!value) return std::nullopt;
  if (value->is_time() || value->is_date_time()) {
    window.error_at(key, fmt::format("write the time as a quoted string: {} = \"HH:MM\"", key));
    return std::nullopt;
  }
  auto text = window.string(key);
  if (!text) return std::nullopt;
  auto minute = parse_time_of_day(*text);
  if (!minute)
    window.error_at(key, fmt::format("\"{}\" is not a time of day; expected \"HH:MM\", 00:00 to 23:59", *text));
  return minute;
}

void read_window(TableReader& reader, Repository& repository) {
  const toml::node* value = reader.node("window");
  if (!value) return;
  const toml::table* table = value->as_table();
  if (!table) {
    reader.wrong_type("window", *value, "a table such as { start = \"22:00\", end = \"06:00\" }");
    return;
  }
  TableReader window(reader.context(), *table, reader.key_path("window"));
  auto start = read_time(window, "start");
  auto end = read_time(window, "end");
  if (window.has("start") != window.has("end"))
    window.missing(window.has("start") ? "end" : "start", "a window needs both `start` and `end`");
  window.finish();
  if (start && end) {
    repository.window.start_minute = start;
    repository.window.end_minute = end;
  }
}

// `folder` becomes one directory under the target path: a name, never a path.
void read_folder(TableReader& reader, Repository& repository) {
  auto folder = reader.string("folder");
  if (!folder) {
    if (!reader.has("folder")) reader.missing("folder", "the directory created under the target path");
    return;
  }
  std::string problem;
  if (folder->empty())
    problem = "the folder is empty";
  else if (folder->find_first_of("/\\") != std::string::npos)
    problem = "the folder is one name: no '/' or '\\'";
  else if (*folder == "." || *folder == ".." || folder->find("..") != std::string::npos)
    problem = "the folder may not contain '..'";
  else if (std::any_of(folder->begin(), folder->end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; }))
    problem = "the folder contains a control character";
  else if (*folder == ".offsite")
    problem = "\".offsite\" is reserved";
  if (!problem.empty())
    reader.error_at("folder", std::move(problem));
  else
    repository.folder = *folder;
}

void read_exclude(TableReader& reader, Repository& repository) {
  auto patterns = reader.string_array("exclude");
  if (!patterns) return;
  const toml::array& array = *reader.node("exclude")->as_array();
  for (size_t i = 0; i < patterns->size(); ++i) {
    if (auto problem = glob_problem((*patterns)[i]))
      reader.context().error(array.get(i)->source(), fmt::format("{}[{}]", reader.key_path("exclude"), i + 1),
                             fmt::format("bad pattern \"{}\": {}", (*patterns)[i], *problem));
  }
  repository.exclude = std::move(*patterns);
}

void read_transfer(TableReader& reader, Repository& repository) {
  repository.concurrency = static_cast<int>(reader.integer("concurrency", 1, k_max_concurrency).value_or(4));
  if (auto chunk = reader.size("chunk_size")) {
    if (*chunk < k_min_chunk || *chunk > k_max_chunk)
      reader.error_at("chunk_size", fmt::format("{} is out of range: use 64 KiB to 4 GiB", format_size(*chunk)));
    else
      repository.chunk_size = *chunk;
  }
  if (auto limit = reader.rate("bandwidth_limit")) repository.bandwidth_limit = *limit;
  if (auto budget = reader.duration("retry_budget")) repository.retry_budget = *budget;
}

void read_guards_and_hooks(TableReader& reader, Repository& repository) {
  repository.max_delete_percent = static_cast<int>(reader.integer("max_delete_percent", 0, 100).value_or(50));
  repository.max_change_percent = static_cast<int>(reader.integer("max_change_percent", 0, 100).value_or(50));
  if (auto command = reader.command("pre_sync_command")) repository.pre_sync_command = std::move(*command);
  if (auto command = reader.command("post_sync_command")) repository.post_sync_command = std::move(*command);
}

void read_target_table(TableReader& reader, Repository& repository, const Service& service, bool& target_ok) {
  target_ok = false;
  const toml::node* value = reader.node("target");
  if (!value) {
    reader.missing("target", "a [repository.target] table with a `type`");
    return;
  }
  const toml::table* table = value->as_table();
  if (!table) {
    reader.wrong_type("target", *value, "a table ([repository.target])");
    return;
  }
  size_t errors_before = reader.context().errors.size();
  TableReader target_reader(reader.context(), *table, reader.key_path("target"));
  auto target = read_target(target_reader, service);
  if (!target) return;
  repository.target = std::move(*target);
  target_ok = reader.context().errors.size() == errors_before;
  if (std::holds_alternative<S3Target>(repository.target.settings) && repository.chunk_size < k_min_s3_part &&
      reader.has("chunk_size"))
    reader.error_at("chunk_size", fmt::format("{} is too small for S3, whose multipart parts are at least 5 MiB",
                                              format_size(repository.chunk_size)));
}

} // namespace

Service read_service(Context& context, const toml::table* table) {
  Service service;
  if (!table) return service;
  TableReader reader(context, *table, "service");
  if (auto state_dir = reader.path("state_dir")) service.state_dir = *state_dir;
  if (auto level = reader.string("log_level")) {
    if (!log::parse_level(*level, service.log_level))
      reader.error_at("log_level", fmt::format("unknown level \"{}\"; use debug, info, warning or error", *level));
  }
  // "" means no metrics, as in the brief's example.
  if (auto metrics = reader.string("metrics_file"); metrics && !metrics->empty())
    service.metrics_file = context.resolve(*metrics);
  if (auto command = reader.command("on_failure")) service.on_failure = std::move(*command);
  reader.finish();
  return service;
}

Repository read_repository(Context& context, const toml::table& table, int index, const Service& service,
                           bool& target_ok) {
  Repository repository;
  repository.location = SourceLocation{context.file, static_cast<int>(table.source().begin.line),
                                       static_cast<int>(table.source().begin.column)};
  TableReader reader(context, table, fmt::format("repository[{}]", index));
  if (auto path = reader.path("path"))
    repository.path = *path;
  else if (!reader.has("path"))
    reader.missing("path", "the local repository directory");
  if (auto name = reader.string("name")) {
    if (name->empty() ||
        std::any_of(name->begin(), name->end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; }))
      reader.error_at("name", "the name is empty or contains a control character");
    else
      repository.name = *name;
  }
  read_folder(reader, repository);
  read_window(reader, repository);
  read_days(reader, repository);
  repository.allow_backups_during_sync = reader.boolean("allow_backups_during_sync").value_or(false);
  repository.per_folder_upload = reader.boolean("per_folder_upload").value_or(true);
  repository.folder_depth = static_cast<int>(reader.integer("folder_depth", 0, k_max_folder_depth).value_or(2));
  read_exclude(reader, repository);
  read_transfer(reader, repository);
  repository.stop_at_window_end = reader.boolean("stop_at_window_end").value_or(false);
  read_guards_and_hooks(reader, repository);
  read_target_table(reader, repository, service, target_ok);
  if (repository.stop_at_window_end && repository.window.all_day() && !reader.has("window"))
    reader.context().warning(reader.node("stop_at_window_end")->source(), reader.key_path("stop_at_window_end"),
                             "has no effect without a `window`");
  reader.finish();
  return repository;
}

} // namespace offsite::config::detail
