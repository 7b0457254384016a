#pragma once
// Internal to the config layer: a screen run before toml++ parses a file.

#include <optional>
#include <string_view>

namespace offsite::config::detail {

struct TextPosition {
  int line = 1;
  int column = 1; // in code points, as toml++ counts
};

// The position of the first non-ASCII character that toml++ 3.3.0 would test for white space,
// or nullopt. Such input is always a TOML syntax error, but 3.3.0's
// is_non_ascii_horizontal_whitespace() reaches __builtin_unreachable() for most non-ASCII
// code points (U+00A1..U+0499 among them: "café = 1" outside quotes), which is undefined
// behaviour in the parser Debian ships. Non-ASCII text inside strings and comments, where it
// belongs, never reaches that function and passes.
std::optional<TextPosition> find_unsafe_non_ascii(std::string_view text);

} // namespace offsite::config::detail
