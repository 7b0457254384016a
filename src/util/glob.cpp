// Exclude patterns, gitignore-like (the rules are in glob.hpp and config/offsite.toml).
//
// A pattern is split into '/'-separated components and matched against whole components of the
// path. Matching stops with success as soon as the pattern is used up, whatever path remains:
// the pattern then matched a directory above the rest, and everything below an excluded
// directory is excluded. A pattern without '/' is tried against every component on its own.
// '**' components are matched by a table over (pattern component, path component), so a
// pattern full of them costs at most the product of the two lengths, never exponential time.
// Within a component, '*' uses the classic two-pointer backtracking (linear in practice).
// Components are compared as code points, so '?' matches one UTF-8 character, not one byte.

#include "util/glob.hpp"

#include <vector>

namespace offsite {
namespace {

std::vector<std::string_view> split(std::string_view text) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (;;) {
    size_t slash = text.find('/', start);
    parts.push_back(text.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) return parts;
    start = slash + 1;
  }
}

// Code points; a byte that does not start a valid sequence stands for itself (as 0xDC00+byte,
// a lone surrogate no valid text contains), so any byte string can be matched.
std::u32string decode(std::string_view text) {
  std::u32string out;
  for (size_t i = 0; i < text.size();) {
    auto byte = static_cast<unsigned char>(text[i]);
    size_t length = byte < 0x80 ? 1 : (byte >> 5) == 0x6 ? 2 : (byte >> 4) == 0xE ? 3 : (byte >> 3) == 0x1E ? 4 : 0;
    bool valid = length > 0 && i + length <= text.size();
    char32_t code = length == 1 ? byte : length == 2 ? byte & 0x1F : length == 3 ? byte & 0x0F : byte & 0x07;
    for (size_t k = 1; valid && k < length; ++k) {
      auto next = static_cast<unsigned char>(text[i + k]);
      valid = (next & 0xC0) == 0x80;
      code = (code << 6) | (next & 0x3F);
    }
    if (!valid) {
      out.push_back(0xDC00 + byte);
      ++i;
    } else {
      out.push_back(code);
      i += length;
    }
  }
  return out;
}

// Matches the class starting at pattern[p] == '[' against `c`; sets `end` past the ']'.
bool match_class(const std::u32string& pattern, size_t p, char32_t c, size_t& end) {
  size_t i = p + 1;
  bool negated = i < pattern.size() && (pattern[i] == U'!' || pattern[i] == U'^');
  if (negated) ++i;
  bool matched = false;
  bool first = true;
  while (i < pattern.size() && (pattern[i] != U']' || first)) {
    first = false;
    char32_t low = pattern[i];
    if (low == U'\\' && i + 1 < pattern.size()) low = pattern[++i];
    ++i;
    char32_t high = low;
    if (i + 1 < pattern.size() && pattern[i] == U'-' && pattern[i + 1] != U']') {
      high = pattern[i + 1];
      i += 2;
      if (high == U'\\' && i < pattern.size()) high = pattern[i++];
    }
    if (low <= c && c <= high) matched = true;
  }
  end = i + 1; // past ']'; glob_problem guarantees it exists
  return matched != negated;
}

// One pattern element at pattern[p] against `c` ('*' handled by the caller); sets `next`.
bool match_one(const std::u32string& pattern, size_t p, char32_t c, size_t& next) {
  switch (pattern[p]) {
  case U'?': next = p + 1; return true;
  case U'[': return match_class(pattern, p, c, next);
  case U'\\':
    if (p + 1 < pattern.size()) {
      next = p + 2;
      return pattern[p + 1] == c;
    }
    next = p + 1;
    return c == U'\\';
  default: next = p + 1; return pattern[p] == c;
  }
}

bool match_component(std::string_view pattern_text, std::string_view name_text) {
  std::u32string pattern = decode(pattern_text), name = decode(name_text);
  size_t p = 0, n = 0;
  size_t star_p = std::u32string::npos, star_n = 0;
  while (n < name.size()) {
    size_t next = 0;
    if (p < pattern.size() && pattern[p] == U'*') {
      star_p = ++p;
      star_n = n;
    } else if (p < pattern.size() && match_one(pattern, p, name[n], next)) {
      p = next;
      ++n;
    } else if (star_p != std::u32string::npos) {
      p = star_p;
      n = ++star_n;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == U'*')
    ++p;
  return p == pattern.size();
}

// Anchored match of pattern components against a prefix of the path components.
bool match_anchored(const std::vector<std::string_view>& pattern, const std::vector<std::string_view>& path) {
  // reach[i][j]: pattern[0..i) can consume path[0..j).
  const size_t rows = pattern.size() + 1, columns = path.size() + 1;
  std::vector<char> reach(rows * columns, 0);
  reach[0] = 1;
  for (size_t i = 0; i < pattern.size(); ++i) {
    bool globstar = pattern[i] == "**";
    bool trailing = globstar && i + 1 == pattern.size();
    for (size_t j = 0; j < columns; ++j) {
      if (!reach[i * columns + j]) continue;
      if (globstar) {
        // Zero or more components; a trailing '**' means "everything inside", so at least one.
        for (size_t k = trailing ? j + 1 : j; k < columns; ++k)
          reach[(i + 1) * columns + k] = 1;
      } else if (j < path.size() && match_component(pattern[i], path[j])) {
        reach[(i + 1) * columns + j + 1] = 1;
      }
    }
  }
  for (size_t j = 1; j < columns; ++j)
    if (reach[pattern.size() * columns + j]) return true;
  return false;
}

// Strips the anchoring '/' and the ignored trailing '/'.
std::string_view trim(std::string_view pattern, bool& anchored) {
  if (pattern.size() > 1 && pattern.back() == '/' && !(pattern.size() >= 2 && pattern[pattern.size() - 2] == '\\'))
    pattern.remove_suffix(1);
  anchored = pattern.find('/') != std::string_view::npos;
  if (!pattern.empty() && pattern.front() == '/') pattern.remove_prefix(1);
  return pattern;
}

std::optional<std::string> component_problem(std::string_view component) {
  if (component.empty()) return "empty path component ('//')";
  if (component == "." || component == "..") return "'.' and '..' components are not allowed";
  if (component != "**" && component.find("**") != std::string_view::npos) {
    // "a**b" would mean the same as "a*b"; say so rather than guess what was meant.
    bool escaped = false;
    for (size_t i = 0; i + 1 < component.size(); ++i) {
      if (escaped) {
        escaped = false;
        continue;
      }
      if (component[i] == '\\')
        escaped = true;
      else if (component[i] == '*' && component[i + 1] == '*')
        return "'**' must be a whole path component";
    }
  }
  for (size_t i = 0; i < component.size(); ++i) {
    if (component[i] == '\\') {
      if (++i == component.size()) return "trailing '\\' escapes nothing";
    } else if (component[i] == '[') {
      size_t j = i + 1;
      if (j < component.size() && (component[j] == '!' || component[j] == '^')) ++j;
      if (j < component.size() && component[j] == ']') ++j; // a leading ']' is literal
      while (j < component.size() && component[j] != ']') {
        if (component[j] == '\\') ++j;
        ++j;
      }
      if (j >= component.size()) return "unclosed '['";
      i = j;
    }
  }
  return std::nullopt;
}

} // namespace

std::optional<std::string> glob_problem(std::string_view pattern) {
  if (pattern.empty()) return "empty pattern";
  if (pattern.find('\0') != std::string_view::npos) return "NUL character in pattern";
  if (pattern == "/") return "'/' alone would exclude the whole repository";
  bool anchored = false;
  std::string_view body = trim(pattern, anchored);
  if (body.empty()) return "empty pattern";
  for (std::string_view component : split(body))
    if (auto problem = component_problem(component)) return problem;
  return std::nullopt;
}

bool glob_match(std::string_view pattern, std::string_view relative_path) {
  bool anchored = false;
  std::string_view body = trim(pattern, anchored);
  if (body.empty() || relative_path.empty()) return false;
  std::vector<std::string_view> path = split(relative_path);
  if (!anchored || body == "**") {
    for (std::string_view component : path)
      if (body == "**" || match_component(body, component)) return true;
    return false;
  }
  return match_anchored(split(body), path);
}

} // namespace offsite
