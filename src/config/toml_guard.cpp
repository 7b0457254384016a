// A small lexer that knows only comments and the four kinds of TOML strings: enough to tell
// whether a non-ASCII character sits where toml++ would test it for white space (see the
// header for the toml++ 3.3.0 bug this works around). The fuzzer found it; the rule is
// deliberately simple: outside strings and comments, and right after a backslash (and the
// white space a line-ending backslash skips) in multi-line basic strings.

#include "config/toml_guard.hpp"

#include <string>

namespace offsite::config::detail {
namespace {

class Scanner {
public:
  explicit Scanner(std::string_view text) : m_text(text) {
    if (m_text.starts_with("\xEF\xBB\xBF")) m_at = 3; // a BOM is skipped by toml++ itself
  }

  std::optional<TextPosition> run() {
    while (m_at < m_text.size()) {
      char c = m_text[m_at];
      if (non_ascii()) return m_position;
      if (m_in_value_token && !is_value_terminator(c)) {
        advance(); // toml++ scans a bare value to its terminator, quotes and brackets included
        continue;
      }
      m_in_value_token = false;
      bool quote = c == '"' || c == '\'';
      if (c == '#')
        skip_comment();
      else if (quote && !string_may_start())
        advance();
      else if (starts("\"\"\""))
        skip_multi_line_basic();
      else if (starts("'''"))
        skip_until("'''", 3);
      else if (c == '"')
        skip_basic();
      else if (c == '\'')
        skip_until("'", 1);
      else
        structure(c);
      if (m_unsafe) return m_position;
      if (quote)
        m_previous = '"';
      else if (c != ' ' && c != '\t' && c != '\r')
        m_previous = c == '#' ? '\n' : c;
    }
    return std::nullopt;
  }

private:
  // A string opens a value, a key or a key segment; a quote straight after a number or a bare
  // word is scanned by toml++ as part of that token (testing each character for white space).
  bool string_may_start() const {
    return m_previous == '\n' || m_previous == '=' || m_previous == '[' || m_previous == ',' || m_previous == '{' ||
           m_previous == '.';
  }

  static bool is_value_terminator(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ',' || c == ']' || c == '}' || c == '#';
  }

  bool in_array() const { return !m_nesting.empty() && m_nesting.back() == '['; }

  // Brackets outside strings, and where a bare value (number, boolean, date) starts.
  void structure(char c) {
    bool header = c == '[' && m_previous == '\n' && m_nesting.empty();
    if ((c == '[' && !header) || c == '{') {
      if (m_nesting.size() < 4096) m_nesting.push_back(c);
    } else if ((c == ']' || c == '}') && !m_nesting.empty()) {
      m_nesting.pop_back();
    } else if (!is_value_terminator(c) && c != '=' && c != '.' && c != '[') {
      m_in_value_token =
          m_previous == '=' || (in_array() && (m_previous == '[' || m_previous == ',' || m_previous == '\n'));
    }
    advance();
  }

  bool non_ascii() const { return static_cast<unsigned char>(m_text[m_at]) >= 0x80; }
  bool starts(std::string_view token) const { return m_text.substr(m_at).starts_with(token); }

  // m_position is that of m_text[m_at]; columns count code points, so continuation bytes
  // do not move it.
  void advance() {
    auto byte = static_cast<unsigned char>(m_text[m_at++]);
    if (byte == '\n') {
      ++m_position.line;
      m_position.column = 1;
    } else if ((byte & 0xC0) != 0x80) {
      ++m_position.column;
    }
  }

  void skip_comment() {
    while (m_at < m_text.size() && m_text[m_at] != '\n')
      advance();
  }

  // Literal strings: no escapes. Single-line ones end at a newline (a syntax error, reported
  // by toml++).
  void skip_until(std::string_view close, size_t open_size) {
    for (size_t i = 0; i < open_size; ++i)
      advance();
    while (m_at < m_text.size() && !starts(close)) {
      if (open_size == 1 && m_text[m_at] == '\n') return;
      advance();
    }
    for (size_t i = 0; i < close.size() && m_at < m_text.size(); ++i)
      advance();
  }

  void skip_basic() {
    advance();
    while (m_at < m_text.size() && m_text[m_at] != '"' && m_text[m_at] != '\n') {
      if (m_text[m_at] == '\\') advance();
      if (m_at < m_text.size()) advance();
    }
    if (m_at < m_text.size() && m_text[m_at] == '"') advance();
  }

  void skip_multi_line_basic() {
    for (int i = 0; i < 3; ++i)
      advance();
    while (m_at < m_text.size() && !starts("\"\"\"")) {
      if (m_text[m_at] != '\\') {
        advance();
        continue;
      }
      advance();
      // toml++ tests the escaped character, and everything a line-ending backslash skips, for
      // white space.
      while (m_at < m_text.size() &&
             (m_text[m_at] == ' ' || m_text[m_at] == '\t' || m_text[m_at] == '\r' || m_text[m_at] == '\n'))
        advance();
      if (m_at < m_text.size() && non_ascii()) {
        m_unsafe = true;
        return;
      }
      if (m_at < m_text.size()) advance();
    }
    // """ closes; up to two more quotes belong to the content.
    for (int i = 0; i < 5 && m_at < m_text.size() && m_text[m_at] == '"'; ++i)
      advance();
  }

  std::string_view m_text;
  size_t m_at = 0;
  TextPosition m_position;
  bool m_unsafe = false;
  char m_previous = '\n'; // the last character outside strings other than blanks
  bool m_in_value_token = false;
  std::string m_nesting; // open '[' (arrays) and '{' (inline tables)
};

} // namespace

std::optional<TextPosition> find_unsafe_non_ascii(std::string_view text) { return Scanner(text).run(); }

} // namespace offsite::config::detail
