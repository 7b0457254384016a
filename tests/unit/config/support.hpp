#pragma once
// Helpers for the config tests: load text, and find a diagnostic by line and key.

#include <boost/test/unit_test.hpp>
#include <string>
#include <string_view>

#include "config/load.hpp"

namespace offsite::config::test {

// A valid sftp target with a password, to build configs around.
inline constexpr std::string_view k_sftp_target = R"(
  [repository.target]
  type = "sftp"
  host = "nas.example"
  path = "/srv/offsite"
  username = "backup"
  password = "pw-in-target"
)";

inline LoadResult load(std::string_view text) { return load_config_string(text, "test.toml"); }

inline std::string all_errors(const LoadResult& result) {
  std::string out;
  for (const Diagnostic& error : result.errors)
    out += error.to_string() + "\n";
  return out;
}

// Checks that loading `text` fails with an error at `line` for `key` whose message holds
// `fragment`.
inline void expect_error(std::string_view text, int line, std::string_view key, std::string_view fragment) {
  LoadResult result = load(text);
  BOOST_TEST(!result.ok());
  BOOST_TEST(!result.config.has_value());
  bool found = false;
  for (const Diagnostic& error : result.errors)
    if (error.line == line && error.key == key && error.message.find(fragment) != std::string::npos) found = true;
  BOOST_TEST(found, "expected line " << line << " key " << key << " with \"" << fragment << "\"; got:\n"
                                     << all_errors(result));
}

} // namespace offsite::config::test
