#pragma once
// A small streaming JSON writer for results, status and progress (`--json` output, state files).
// Output is compact and deterministic; strings are escaped per RFC 8259. Bytes that are not valid
// UTF-8 are written as U+FFFD, so the output is always valid JSON.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace offsite {

class JsonWriter {
public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view name);
  JsonWriter& value(std::string_view text);
  JsonWriter& value(const char* text) { return value(std::string_view(text)); }
  JsonWriter& value(const std::string& text) { return value(std::string_view(text)); }
  JsonWriter& value(bool flag);
  JsonWriter& value(std::int64_t number);
  JsonWriter& value(std::uint64_t number);
  JsonWriter& value(int number) { return value(static_cast<std::int64_t>(number)); }
  JsonWriter& value(double number);
  JsonWriter& null();
  // Convenience: key(name).value(v).
  template <class V> JsonWriter& field(std::string_view name, const V& v) {
    key(name);
    return value(v);
  }

  const std::string& str() const { return m_out; }
  std::string take() { return std::move(m_out); }

private:
  void before_value();
  std::string m_out;
  std::vector<bool> m_first; // per open container: no member written yet
  bool m_after_key = false;
};

// Appends `text` as a quoted, escaped JSON string.
void append_json_string(std::string& out, std::string_view text);

} // namespace offsite
