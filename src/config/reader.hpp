#pragma once
// Internal to the config layer: reading toml++ tables into typed values while collecting
// diagnostics. A TableReader remembers every key it was asked for, so finish() can report the
// rest as unknown (with a "did you mean" for near misses) without a separate schema to keep
// in step with the code.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "config/load.hpp"
#include "config/secrets.hpp"

namespace offsite::config::detail {

struct Context {
  std::string file;               // names the source in diagnostics
  std::filesystem::path base_dir; // relative paths in the file resolve against it
  std::vector<Diagnostic> errors;
  std::vector<Diagnostic> warnings;
  std::optional<Diagnostic> first_inline_secret; // for the permission warning
  int inline_secrets = 0;

  void error(const toml::source_region& where, std::string key, std::string message);
  void warning(const toml::source_region& where, std::string key, std::string message);
  std::filesystem::path resolve(const std::filesystem::path& path) const;
};

// "an integer", "a string"... for "expected X, found Y".
std::string_view type_name(toml::node_type type);
// A key as it may be written back in TOML: bare if it can be, else quoted and escaped.
std::string printable_key(std::string_view key);
// Levenshtein distance, capped work for long strings.
size_t edit_distance(std::string_view a, std::string_view b);
// "; did you mean `x`?" for the closest candidate within a small distance, else "".
std::string suggestion(std::string_view key, const std::vector<std::string_view>& candidates);

class TableReader {
public:
  TableReader(Context& context, const toml::table& table, std::string key_prefix);

  // The node at `key` or nullptr; marks `key` as known either way.
  const toml::node* node(std::string_view key);
  bool has(std::string_view key) { return node(key) != nullptr; }

  // Each returns nullopt when the key is absent or wrong (and then reports why).
  std::optional<std::string> string(std::string_view key);
  std::optional<bool> boolean(std::string_view key);
  std::optional<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max);
  std::optional<std::uint64_t> size(std::string_view key);
  std::optional<std::uint64_t> rate(std::string_view key);
  std::optional<std::chrono::seconds> duration(std::string_view key);
  // A non-empty path, resolved against the config's directory when relative.
  std::optional<std::filesystem::path> path(std::string_view key);
  std::optional<std::vector<std::string>> string_array(std::string_view key);
  // A program: a string (one path) or an array (argv).
  std::optional<std::vector<std::string>> command(std::string_view key);
  // `key`, `key_file` or `key_env`, exactly one (secrets.cpp).
  Secret secret(std::string_view key);

  // A required key that is absent: reported at the table.
  void missing(std::string_view key, std::string_view what);
  void error_at(std::string_view key, std::string message);     // at the value
  void error_at_key(std::string_view key, std::string message); // at the key
  void error_at_table(std::string message);                     // the table as a whole
  void wrong_type(std::string_view key, const toml::node& node, std::string_view expected);

  // Reports every key nobody asked for. `foreign` names keys that belong elsewhere, each with
  // a note saying where ("bucket" → "an s3 key").
  void finish(const std::vector<std::pair<std::string_view, std::string>>& foreign = {});

  std::string key_path(std::string_view key) const;
  const std::string& prefix() const { return m_prefix; }
  const toml::table& table() const { return m_table; }
  Context& context() { return m_context; }

private:
  Context& m_context;
  const toml::table& m_table;
  std::string m_prefix;
  std::set<std::string, std::less<>> m_known;
};

} // namespace offsite::config::detail
