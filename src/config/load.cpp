// From TOML text to a validated Config. toml++ stops at the first syntax error, so a syntax
// error is the one diagnostic; past that, every section is read to the end and all semantic
// problems are collected, then sorted by position, so `check-config` lists them in file order.

#include "config/load.hpp"

#include <algorithm>
#include <map>
#include <sys/stat.h>

#include <fmt/format.h>

#include "config/sections.hpp"
#include "config/toml_guard.hpp"
#include "util/fs.hpp"

namespace offsite::config {
namespace {

using detail::Context;
using detail::TableReader;

// A config is a few kilobytes; refusing megabytes keeps a wrong --config from eating memory.
constexpr std::uint64_t k_max_config_size = 4 * k_mib;

void add_parse_error(Context& context, const toml::parse_error& error) {
  std::string message(error.description());
  // An unquoted 22:00 is a TOML time missing its seconds: the parser's words don't say so.
  if (message.find("time") != std::string::npos || message.find("date") != std::string::npos)
    message += " (times of day are quoted strings: window = { start = \"22:00\", end = \"06:00\" })";
  context.errors.push_back(Diagnostic{context.file,
                                      static_cast<int>(error.source().begin.line),
                                      static_cast<int>(error.source().begin.column),
                                      {},
                                      std::move(message)});
}

std::vector<const toml::table*> repository_tables(TableReader& root) {
  std::vector<const toml::table*> tables;
  const toml::node* value = root.node("repository");
  if (!value) return tables;
  const toml::array* array = value->as_array();
  if (!array) {
    root.error_at("repository", "expected [[repository]] blocks (an array of tables), found a single [repository]");
    return tables;
  }
  for (size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    if (const toml::table* table = element.as_table())
      tables.push_back(table);
    else
      root.context().error(element.source(), fmt::format("repository[{}]", i + 1),
                           fmt::format("expected a table, found {}", detail::type_name(element.type())));
  }
  return tables;
}

// Names must be unique (commands find repositories by name), and two entries writing to the
// same target location and folder would overwrite each other's mirror and commit records.
void check_duplicates(Context& context, std::vector<Repository>& repositories, const std::vector<bool>& target_ok,
                      const std::vector<const toml::table*>& tables) {
  std::map<std::string, size_t> names, locations;
  for (size_t i = 0; i < repositories.size(); ++i) {
    Repository& repository = repositories[i];
    const toml::table& table = *tables[i];
    bool explicit_name = table.contains("name");
    if (!target_ok[i] || repository.folder.empty()) {
      if (!explicit_name) continue;
    } else {
      if (!explicit_name) repository.name = describe_destination(repository.target, repository.folder);
      auto location = detail::location_key(repository.target) + "\n" + repository.folder;
      if (auto [it, inserted] = locations.emplace(location, i); !inserted) {
        const toml::node* folder = table.get("folder");
        context.error(folder ? folder->source() : table.source(), fmt::format("repository[{}].folder", i + 1),
                      fmt::format("repository[{}] (line {}) already syncs to {}: the two would overwrite each "
                                  "other",
                                  it->second + 1, repositories[it->second].location.line,
                                  describe_destination(repository.target, repository.folder)));
      }
    }
    if (repository.name.empty()) continue;
    if (auto [it, inserted] = names.emplace(repository.name, i); !inserted) {
      const toml::node* name = table.get("name");
      context.error(name ? name->source() : table.source(), fmt::format("repository[{}].name", i + 1),
                    fmt::format("the name \"{}\" is already used by repository[{}] (line {})", repository.name,
                                it->second + 1, repositories[it->second].location.line));
    }
  }
}

void warn_if_readable(Context& context, const std::filesystem::path& path) {
  if (!context.first_inline_secret) return;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || (st.st_mode & (S_IRGRP | S_IROTH)) == 0) return;
  Diagnostic warning = *context.first_inline_secret;
  warning.message = fmt::format("the file holds {} inline secret{} and is readable by {} (mode {:04o}): chmod 600 it, "
                                "or use `<key>_file` or `<key>_env`",
                                context.inline_secrets, context.inline_secrets == 1 ? "" : "s",
                                (st.st_mode & S_IROTH) ? "others" : "its group", st.st_mode & 07777);
  context.warnings.push_back(std::move(warning));
}

void sort_by_position(std::vector<Diagnostic>& diagnostics) {
  std::stable_sort(diagnostics.begin(), diagnostics.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.line, a.column) < std::tie(b.line, b.column);
  });
}

LoadResult load(std::string_view text, Context context, const std::filesystem::path* file) {
  LoadResult result;
  if (auto unsafe = detail::find_unsafe_non_ascii(text)) {
    result.errors.push_back(Diagnostic{
        context.file, unsafe->line, unsafe->column, {}, "non-ASCII character outside a quoted string or comment"});
    return result;
  }
  toml::table root_table;
  try {
    root_table = toml::parse(text, std::string_view(context.file));
  } catch (const toml::parse_error& error) {
    add_parse_error(context, error);
    result.errors = std::move(context.errors);
    return result;
  }
  TableReader root(context, root_table, "");
  Config config;
  config.source = file ? *file : std::filesystem::path(context.file);
  const toml::node* service = root.node("service");
  if (service && !service->is_table()) root.wrong_type("service", *service, "a table ([service])");
  config.service = detail::read_service(context, service ? service->as_table() : nullptr);

  std::vector<const toml::table*> tables = repository_tables(root);
  std::vector<bool> target_ok;
  for (size_t i = 0; i < tables.size(); ++i) {
    bool ok = false;
    config.repositories.push_back(
        detail::read_repository(context, *tables[i], static_cast<int>(i + 1), config.service, ok));
    target_ok.push_back(ok);
  }
  root.finish();
  check_duplicates(context, config.repositories, target_ok, tables);
  if (file) warn_if_readable(context, *file);

  sort_by_position(context.errors);
  sort_by_position(context.warnings);
  result.errors = std::move(context.errors);
  result.warnings = std::move(context.warnings);
  if (result.errors.empty()) result.config = std::move(config);
  return result;
}

} // namespace

std::string Diagnostic::to_string() const {
  std::string out = file.empty() ? std::string("<config>") : file;
  if (line > 0) out += fmt::format(":{}:{}", line, column);
  out += ": ";
  if (!key.empty()) out += key + ": ";
  return out + message;
}

LoadResult load_config_file(const std::filesystem::path& path) {
  Context context;
  context.file = path.string();
  std::error_code ignored;
  context.base_dir = std::filesystem::absolute(path, ignored).parent_path();
  auto text = fs::read_file(path, k_max_config_size);
  if (!text) {
    LoadResult result;
    result.errors.push_back(Diagnostic{context.file, 0, 0, {}, text.error().message});
    return result;
  }
  return load(*text, std::move(context), &path);
}

LoadResult load_config_string(std::string_view toml, std::string source_name) {
  Context context;
  context.file = std::move(source_name);
  std::error_code ignored;
  context.base_dir = std::filesystem::current_path(ignored);
  return load(toml, std::move(context), nullptr);
}

} // namespace offsite::config
