#include "util/json_writer.hpp"

#include <cmath>

#include <fmt/format.h>

namespace offsite {
namespace {

// Length of the valid UTF-8 sequence at `s[i]`, or 0 if it is not one.
size_t utf8_sequence_length(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  size_t length = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (length == 0 || i + length > s.size()) return 0;
  for (size_t k = 1; k < length; ++k)
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
  if (length == 2 && c < 0xc2) return 0;                         // overlong
  if (length == 3 && c == 0xe0 && byte(i + 1) < 0xa0) return 0;  // overlong
  if (length == 3 && c == 0xed && byte(i + 1) >= 0xa0) return 0; // surrogate
  if (length == 4 && (c > 0xf4 || (c == 0xf0 && byte(i + 1) < 0x90) || (c == 0xf4 && byte(i + 1) >= 0x90))) return 0;
  return length;
}

} // namespace

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  for (size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      size_t length = utf8_sequence_length(text, i);
      if (length == 0) {
        out += "\xef\xbf\xbd"; // U+FFFD for a byte that is not UTF-8
        ++i;
      } else {
        out.append(text.substr(i, length));
        i += length;
      }
      continue;
    }
    switch (c) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\n': out += "\\n"; break;
    case '\r': out += "\\r"; break;
    case '\t': out += "\\t"; break;
    case '\b': out += "\\b"; break;
    case '\f': out += "\\f"; break;
    default:
      if (c < 0x20)
        out += fmt::format("\\u{:04x}", c);
      else
        out += static_cast<char>(c);
    }
    ++i;
  }
  out += '"';
}

void JsonWriter::before_value() {
  if (m_after_key) {
    m_after_key = false;
    return;
  }
  if (!m_first.empty()) {
    if (!m_first.back()) m_out += ',';
    m_first.back() = false;
  }
}

JsonWriter& JsonWriter::begin_object() {
  before_value();
  m_out += '{';
  m_first.push_back(true);
  return *this;
}
JsonWriter& JsonWriter::end_object() {
  m_out += '}';
  m_first.pop_back();
  return *this;
}
JsonWriter& JsonWriter::begin_array() {
  before_value();
  m_out += '[';
  m_first.push_back(true);
  return *this;
}
JsonWriter& JsonWriter::end_array() {
  m_out += ']';
  m_first.pop_back();
  return *this;
}
JsonWriter& JsonWriter::key(std::string_view name) {
  before_value();
  append_json_string(m_out, name);
  m_out += ':';
  m_after_key = true;
  return *this;
}
JsonWriter& JsonWriter::value(std::string_view text) {
  before_value();
  append_json_string(m_out, text);
  return *this;
}
JsonWriter& JsonWriter::value(bool flag) {
  before_value();
  m_out += flag ? "true" : "false";
  return *this;
}
JsonWriter& JsonWriter::value(std::int64_t number) {
  before_value();
  m_out += fmt::format("{}", number);
  return *this;
}
JsonWriter& JsonWriter::value(std::uint64_t number) {
  before_value();
  m_out += fmt::format("{}", number);
  return *this;
}
JsonWriter& JsonWriter::value(double number) {
  before_value();
  m_out += std::isfinite(number) ? fmt::format("{}", number) : "null";
  return *this;
}
JsonWriter& JsonWriter::null() {
  before_value();
  m_out += "null";
  return *this;
}

} // namespace offsite
