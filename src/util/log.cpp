#include "util/log.hpp"

#include <atomic>
#include <cstdio>
#include <mutex>

namespace offsite::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::info)};
std::mutex g_write_mutex; // the offload pool logs too; keep lines whole

std::string_view level_name(Level level) {
  switch (level) {
  case Level::debug: return "debug";
  case Level::info: return "info";
  case Level::warning: return "warning";
  case Level::error: return "error";
  }
  return "info";
}

bool needs_quotes(std::string_view value) {
  if (value.empty()) return true;
  for (char c : value)
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20) return true;
  return false;
}

void append_value(std::string& line, std::string_view value) {
  if (!needs_quotes(value)) {
    line += value;
    return;
  }
  line += '"';
  for (char c : value) {
    switch (c) {
    case '"': line += "\\\""; break;
    case '\\': line += "\\\\"; break;
    case '\n': line += "\\n"; break;
    case '\r': line += "\\r"; break;
    case '\t': line += "\\t"; break;
    default:
      if (static_cast<unsigned char>(c) < 0x20) {
        static constexpr char k_hex[] = "0123456789abcdef";
        line += "\\x";
        line += k_hex[(c >> 4) & 0xf];
        line += k_hex[c & 0xf];
      } else {
        line += c;
      }
    }
  }
  line += '"';
}

} // namespace

void set_level(Level level) { g_level = static_cast<int>(level); }
bool enabled(Level level) { return static_cast<int>(level) >= g_level.load(); }

bool parse_level(std::string_view text, Level& out) {
  for (Level level : {Level::debug, Level::info, Level::warning, Level::error}) {
    if (text == level_name(level)) {
      out = level;
      return true;
    }
  }
  return false;
}

std::string format_line(Level level, std::string_view event, std::initializer_list<Field> fields) {
  std::string line = "level=";
  line += level_name(level);
  line += " event=";
  append_value(line, event);
  for (const auto& field : fields) {
    line += ' ';
    line += field.key;
    line += '=';
    append_value(line, field.value);
  }
  return line;
}

void write(Level level, std::string_view event, std::initializer_list<Field> fields) {
  if (!enabled(level)) return;
  std::string line = format_line(level, event, fields);
  line += '\n';
  std::lock_guard lock(g_write_mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

} // namespace offsite::log
