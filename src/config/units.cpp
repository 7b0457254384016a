#include "config/units.hpp"

#include <array>
#include <cctype>

#include <fmt/format.h>

namespace offsite::config {
namespace {

struct Unit {
  std::string_view name;
  std::uint64_t multiplier;
};

// Longest names first, so "MiB" is not taken for "M" + "iB".
constexpr std::array k_size_units = {
    Unit{"kib", 1ull << 10}, Unit{"mib", 1ull << 20}, Unit{"gib", 1ull << 30},   Unit{"tib", 1ull << 40},
    Unit{"kb", 1000ull},     Unit{"mb", 1000000ull},  Unit{"gb", 1000000000ull}, Unit{"tb", 1000000000000ull},
    Unit{"k", 1ull << 10},   Unit{"m", 1ull << 20},   Unit{"g", 1ull << 30},     Unit{"t", 1ull << 40},
    Unit{"b", 1ull},         Unit{"", 1ull},
};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// a * b + c, false on overflow (GCC and clang builtins: no __int128, which -Wpedantic rejects).
bool multiply_add(std::uint64_t a, std::uint64_t b, std::uint64_t c, std::uint64_t& out) {
  return !__builtin_mul_overflow(a, b, &out) && !__builtin_add_overflow(out, c, &out);
}

// Reads leading digits into `out`; false on no digits or overflow.
bool take_integer(std::string_view& text, std::uint64_t& out) {
  size_t i = 0;
  std::uint64_t value = 0;
  while (i < text.size() && is_digit(text[i])) {
    if (!multiply_add(value, 10, static_cast<unsigned>(text[i] - '0'), value)) return false;
    ++i;
  }
  if (i == 0) return false;
  out = value;
  text.remove_prefix(i);
  return true;
}

} // namespace

std::optional<std::uint64_t> parse_size(std::string_view text) {
  std::uint64_t whole = 0;
  if (!take_integer(text, whole)) return std::nullopt;
  // Up to 6 fractional digits: enough for any real size, and 10^6 keeps the arithmetic in 64 bits.
  std::uint64_t fraction = 0, scale = 1;
  if (!text.empty() && text.front() == '.') {
    text.remove_prefix(1);
    size_t digits = 0;
    while (!text.empty() && is_digit(text.front())) {
      if (++digits > 6) return std::nullopt;
      fraction = fraction * 10 + static_cast<unsigned>(text.front() - '0');
      scale *= 10;
      text.remove_prefix(1);
    }
    if (digits == 0) return std::nullopt;
  }
  if (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  for (const Unit& unit : k_size_units) {
    if (!iequals(text, unit.name)) continue;
    // fraction < scale <= 10^6 and multiplier <= 10^12: the product fits in 64 bits.
    std::uint64_t bytes = 0;
    if (!multiply_add(whole, unit.multiplier, fraction * unit.multiplier / scale, bytes)) return std::nullopt;
    return bytes;
  }
  return std::nullopt;
}

std::optional<std::chrono::seconds> parse_duration(std::string_view text) {
  constexpr std::array<std::pair<char, std::uint64_t>, 4> units = {{{'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}}};
  if (text.empty()) return std::nullopt;
  std::uint64_t total = 0;
  size_t next_unit = 0; // units must come in decreasing order, each at most once
  while (!text.empty()) {
    std::uint64_t count = 0;
    if (!take_integer(text, count)) return std::nullopt;
    std::uint64_t multiplier = 1;
    if (text.empty()) {
      if (next_unit != 0) return std::nullopt; // "1h30" is ambiguous
    } else {
      char unit = static_cast<char>(std::tolower(static_cast<unsigned char>(text.front())));
      text.remove_prefix(1);
      size_t i = next_unit;
      while (i < units.size() && units[i].first != unit)
        ++i;
      if (i == units.size()) return std::nullopt;
      multiplier = units[i].second;
      next_unit = i + 1;
    }
    if (!multiply_add(count, multiplier, total, total) || total > INT64_MAX) return std::nullopt;
  }
  return std::chrono::seconds(static_cast<std::int64_t>(total));
}

std::optional<std::uint64_t> parse_rate(std::string_view text) {
  if (text.size() >= 2 && (text.ends_with("/s") || text.ends_with("/S"))) text.remove_suffix(2);
  return parse_size(text);
}

std::optional<int> parse_time_of_day(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon > 2 || text.size() != colon + 3) return std::nullopt;
  int hours = 0, minutes = 0;
  for (size_t i = 0; i < colon; ++i) {
    if (!is_digit(text[i])) return std::nullopt;
    hours = hours * 10 + (text[i] - '0');
  }
  for (size_t i = colon + 1; i < text.size(); ++i) {
    if (!is_digit(text[i])) return std::nullopt;
    minutes = minutes * 10 + (text[i] - '0');
  }
  if (hours > 23 || minutes > 59) return std::nullopt;
  return hours * 60 + minutes;
}

std::string format_size(std::uint64_t bytes) {
  constexpr std::array<std::string_view, 7> names = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  size_t unit = 0;
  while (unit + 1 < names.size() && bytes >= (1ull << (10 * (unit + 1))))
    ++unit;
  if (unit == 0) return fmt::format("{} B", bytes);
  std::uint64_t base = 1ull << (10 * unit);
  if (bytes % base == 0) return fmt::format("{} {}", bytes / base, names[unit]);
  std::string number = fmt::format("{:.2f}", static_cast<double>(bytes) / static_cast<double>(base));
  while (number.back() == '0')
    number.pop_back();
  if (number.back() == '.') number.pop_back();
  return fmt::format("{} {}", number, names[unit]);
}

std::string format_time_of_day(int minute) { return fmt::format("{:02}:{:02}", minute / 60, minute % 60); }

} // namespace offsite::config
