#pragma once
// Logs: one line per event on stderr, `key=value` fields, journald-friendly:
//   level=info event=sync.finished repository="Main site" outcome=success bytes=1234
// Values with spaces, quotes or `=` are quoted. Never pass a secret as a field.

#include <initializer_list>
#include <string>
#include <string_view>

namespace offsite::log {

enum class Level { debug = 0, info = 1, warning = 2, error = 3 };

struct Field {
  std::string_view key;
  std::string value;
  Field(std::string_view k, std::string v) : key(k), value(std::move(v)) {}
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(v) {}
  template <class N>
  requires std::is_arithmetic_v<N> Field(std::string_view k, N v) : key(k), value(std::to_string(v)) {}
};

void set_level(Level level);
bool enabled(Level level);
// Parses "debug" | "info" | "warning" | "error"; false if unknown.
bool parse_level(std::string_view text, Level& out);

// Formats one line (without the trailing newline); exposed for tests.
std::string format_line(Level level, std::string_view event, std::initializer_list<Field> fields);
void write(Level level, std::string_view event, std::initializer_list<Field> fields);

inline void debug(std::string_view event, std::initializer_list<Field> fields = {}) {
  write(Level::debug, event, fields);
}
inline void info(std::string_view event, std::initializer_list<Field> fields = {}) {
  write(Level::info, event, fields);
}
inline void warning(std::string_view event, std::initializer_list<Field> fields = {}) {
  write(Level::warning, event, fields);
}
inline void error(std::string_view event, std::initializer_list<Field> fields = {}) {
  write(Level::error, event, fields);
}

} // namespace offsite::log
