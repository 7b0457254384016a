#include "config/reader.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "config/units.hpp"

namespace offsite::config::detail {
namespace {

Diagnostic make_diagnostic(const Context& context, const toml::source_region& where, std::string key,
                           std::string message) {
  return Diagnostic{context.file, static_cast<int>(where.begin.line), static_cast<int>(where.begin.column),
                    std::move(key), std::move(message)};
}

bool is_bare_key(std::string_view key) {
  return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

} // namespace

void Context::error(const toml::source_region& where, std::string key, std::string message) {
  errors.push_back(make_diagnostic(*this, where, std::move(key), std::move(message)));
}

void Context::warning(const toml::source_region& where, std::string key, std::string message) {
  warnings.push_back(make_diagnostic(*this, where, std::move(key), std::move(message)));
}

std::filesystem::path Context::resolve(const std::filesystem::path& path) const {
  std::filesystem::path full = path.is_absolute() ? path : base_dir / path;
  full = full.lexically_normal();
  // "/srv/repo/" and "/srv/repo" are one repository (find_repository, duplicate checks).
  if (full.has_relative_path() && !full.has_filename()) full = full.parent_path();
  return full;
}

std::string_view type_name(toml::node_type type) {
  switch (type) {
  case toml::node_type::table: return "a table";
  case toml::node_type::array: return "an array";
  case toml::node_type::string: return "a string";
  case toml::node_type::integer: return "an integer";
  case toml::node_type::floating_point: return "a floating-point number";
  case toml::node_type::boolean: return "a boolean";
  case toml::node_type::date: return "a date";
  case toml::node_type::time: return "a time";
  case toml::node_type::date_time: return "a date-time";
  case toml::node_type::none: break;
  }
  return "nothing";
}

std::string printable_key(std::string_view key) {
  if (is_bare_key(key)) return std::string(key);
  std::string out = "\"";
  for (char c : key) {
    auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\')
      out += fmt::format("\\{}", c);
    else if (byte < 0x20 || byte == 0x7F)
      out += fmt::format("\\u{:04X}", byte);
    else
      out += c;
  }
  return out + "\"";
}

size_t edit_distance(std::string_view a, std::string_view b) {
  // Optimal string alignment: Levenshtein plus adjacent transpositions ("sfpt" is one typo).
  if (a.size() > 64 || b.size() > 64) return a == b ? 0 : std::max(a.size(), b.size());
  const size_t columns = b.size() + 1;
  std::vector<size_t> d((a.size() + 1) * columns);
  for (size_t i = 0; i <= a.size(); ++i)
    d[i * columns] = i;
  for (size_t j = 0; j <= b.size(); ++j)
    d[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      size_t best =
          std::min({d[(i - 1) * columns + j] + 1, d[i * columns + j - 1] + 1, d[(i - 1) * columns + j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        best = std::min(best, d[(i - 2) * columns + j - 2] + 1);
      d[i * columns + j] = best;
    }
  }
  return d[a.size() * columns + b.size()];
}

std::string suggestion(std::string_view key, const std::vector<std::string_view>& candidates) {
  std::string_view best;
  size_t best_distance = 0;
  // A third of the length, at least 1 and at most 3: "concurency" → "concurrency", but "path"
  // is not a typo of "port".
  size_t limit = std::clamp<size_t>(key.size() / 3, 1, 3);
  for (std::string_view candidate : candidates) {
    size_t distance = edit_distance(key, candidate);
    if (distance <= limit && (best.empty() || distance < best_distance)) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best.empty() ? std::string() : fmt::format("; did you mean `{}`?", best);
}

TableReader::TableReader(Context& context, const toml::table& table, std::string key_prefix)
    : m_context(context), m_table(table), m_prefix(std::move(key_prefix)) {}

std::string TableReader::key_path(std::string_view key) const {
  return m_prefix.empty() ? printable_key(key) : m_prefix + "." + printable_key(key);
}

const toml::node* TableReader::node(std::string_view key) {
  if (m_known.find(key) == m_known.end()) m_known.emplace(key);
  return m_table.get(key);
}

void TableReader::wrong_type(std::string_view key, const toml::node& node, std::string_view expected) {
  m_context.error(node.source(), key_path(key), fmt::format("expected {}, found {}", expected, type_name(node.type())));
}

void TableReader::missing(std::string_view key, std::string_view what) {
  m_context.error(m_table.source(), key_path(key), fmt::format("required key is missing ({})", what));
}

void TableReader::error_at(std::string_view key, std::string message) {
  const toml::node* value = m_table.get(key);
  m_context.error(value ? value->source() : m_table.source(), key_path(key), std::move(message));
}

void TableReader::error_at_key(std::string_view key, std::string message) {
  auto it = m_table.find(key);
  m_context.error(it != m_table.end() ? it->first.source() : m_table.source(), key_path(key), std::move(message));
}

void TableReader::error_at_table(std::string message) {
  m_context.error(m_table.source(), m_prefix, std::move(message));
}

std::optional<std::string> TableReader::string(std::string_view key) {
  const toml::node* value = node(key);
  if (!value) return std::nullopt;
  if (auto text = value->value_exact<std::string>()) return text;
  wrong_type(key, *value, "a string");
  return std::nullopt;
}

std::optional<bool> TableReader::boolean(std::string_view key) {
  const toml::node* value = node(key);
  if (!value) return std::nullopt;
  if (auto flag = value->value_exact<bool>()) return flag;
  wrong_type(key, *value, "a boolean (true or false)");
  return std::nullopt;
}

std::optional<std::int64_t> TableReader::integer(std::string_view key, std::int64_t min, std::int64_t max) {
  const toml::node* value = node(key);
  if (!value) return std::nullopt;
  auto number = value->value_exact<std::int64_t>();
  if (!number) {
    wrong_type(key, *value, "an integer");
    return std::nullopt;
  }
  if (*number < min || *number > max) {
    error_at(key, fmt::format("{} is out of range {}..{}", *number, min, max));
    return std::nullopt;
  }
  return number;
}

std::optional<std::uint64_t> TableReader::size(std::string_view key) {
  const toml::node* value = node(key);
  if (!value) return std::nullopt;
  if (auto number = value->value_exact<std::int64_t>()) {
    if (*number >= 0) return static_cast<std::uint64_t>(*number);
    error_at(key, "a size cannot be negative");
    return std::nullopt;
  }
  auto text = value->value_exact<std::string>();
  if (!text) {
    wrong_type(key, *value, "a size such as \"16MiB\" (or a number of bytes)");
    return std::nullopt;
  }
  if (auto bytes = parse_size(*text)) return bytes;
  error_at(key, fmt::format("\"{}\" is not a size; write e.g. \"512KiB\", \"16MiB\", \"1.5GiB\", \"10MB\" or a "
                            "number of bytes",
                            *text));
  return std::nullopt;
}

std::optional<std::uint64_t> TableReader::rate(std::string_view key) {
  const toml::node* value = node(key);
  if (!value) return std::nullopt;
  if (auto number = value->value_exact<std::int64_t>()) {
    if (*number >= 0) return static_cast<std::uint64_t>(*number);
    error_at(key, "a rate cannot be negative");
    return std::nullopt;
  }
  auto text = value->value_exact<std::string>();
  if (!text) {
    wrong_type(key, *value, "a rate such as \"20MiB/s\"");
    return std::nullopt;
  }
  if (auto bytes = parse_rate(*text)) return bytes;
  error_at(key, fmt::format("\"{}\" is not a rate; write e.g. \"500KiB/s\", \"20MiB/s\" or \"0\" (unlimited)", *text));
  return std::nullopt;
}

std::optional<std::chrono::seconds> TableReader::duration(std::string_view key) {
  const toml::node* value = node(key);
  if (!value) return std::nullopt;
  if (auto number = value->value_exact<std::int64_t>()) {
    if (*number >= 0) return std::chrono::seconds(*number);
    error_at(key, "a duration cannot be negative");
    return std::nullopt;
  }
  auto text = value->value_exact<std::string>();
  if (!text) {
    wrong_type(key, *value, "a duration such as \"10m\"");
    return std::nullopt;
  }
  if (auto seconds = parse_duration(*text)) return seconds;
  error_at(key,
           fmt::format("\"{}\" is not a duration; write e.g. \"90s\", \"10m\", \"1h30m\", \"2h\" or \"1d\"", *text));
  return std::nullopt;
}

std::optional<std::filesystem::path> TableReader::path(std::string_view key) {
  auto text = string(key);
  if (!text) return std::nullopt;
  if (text->empty() || text->find('\0') != std::string::npos) {
    error_at(key, "expected a path, found an empty string");
    return std::nullopt;
  }
  return m_context.resolve(*text);
}

std::optional<std::vector<std::string>> TableReader::string_array(std::string_view key) {
  const toml::node* value = node(key);
  if (!value) return std::nullopt;
  const toml::array* array = value->as_array();
  if (!array) {
    wrong_type(key, *value, "an array of strings");
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool ok = true;
  for (size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    if (auto text = element.value_exact<std::string>()) {
      out.push_back(std::move(*text));
    } else {
      m_context.error(element.source(), fmt::format("{}[{}]", key_path(key), i + 1),
                      fmt::format("expected a string, found {}", type_name(element.type())));
      ok = false;
    }
  }
  return ok ? std::optional(std::move(out)) : std::nullopt;
}

std::optional<std::vector<std::string>> TableReader::command(std::string_view key) {
  const toml::node* value = node(key);
  if (!value) return std::nullopt;
  std::vector<std::string> argv;
  if (auto program = value->value_exact<std::string>()) {
    if (program->empty()) return argv; // "" means none, as the brief's metrics_file = ""
    argv.push_back(std::move(*program));
  } else if (value->is_array()) {
    auto elements = string_array(key);
    if (!elements) return std::nullopt;
    argv = std::move(*elements);
    if (!argv.empty() && argv.front().empty()) {
      error_at(key, "the program (first element) is empty");
      return std::nullopt;
    }
  } else {
    wrong_type(key, *value, "a program path or an array (argv)");
    return std::nullopt;
  }
  if (!argv.empty() && argv.front().find('/') != std::string::npos && argv.front().front() != '/') {
    error_at(key,
             fmt::format("the program \"{}\" must be an absolute path or a bare name found in PATH", argv.front()));
    return std::nullopt;
  }
  return argv;
}

void TableReader::finish(const std::vector<std::pair<std::string_view, std::string>>& foreign) {
  std::vector<std::string_view> known(m_known.begin(), m_known.end());
  for (auto&& entry : m_table) {
    std::string_view name = entry.first.str();
    if (m_known.count(name)) continue;
    auto where = std::find_if(foreign.begin(), foreign.end(), [&](const auto& f) { return f.first == name; });
    std::string message = fmt::format("unknown key `{}`", printable_key(name));
    if (where != foreign.end())
      message += fmt::format(" ({})", where->second);
    else
      message += suggestion(name, known);
    m_context.error(entry.first.source(), key_path(name), std::move(message));
  }
}

} // namespace offsite::config::detail
