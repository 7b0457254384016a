// libFuzzer harness for the config loader (BRIEF §9: every parser of untrusted bytes).
// Invariants, each an abort when broken:
//   - loading never crashes, hangs or throws, whatever the bytes;
//   - a config comes back exactly when there are no errors (so ok() implies no errors);
//   - every diagnostic prints as a non-empty line;
//   - no secret value given in the text appears in any diagnostic, description or summary.
// Secrets are found by walking the TOML tree independently of the loader. Only secrets that
// could not reach a message by an honest route are checked: at least 8 bytes, written at most
// once in the input (a value repeated under a non-secret key may rightly be quoted), and made
// of none of the characters that our own message text and key paths are built from.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "config/load.hpp"
#include "config/toml_guard.hpp"

namespace {

using namespace offsite::config;

constexpr std::string_view k_secret_keys[] = {"password", "private_key_passphrase", "secret_access_key",
                                              "session_token"};

void collect_secrets(const toml::node& node, std::vector<std::string>& secrets) {
  if (const toml::table* table = node.as_table()) {
    for (auto&& [key, value] : *table) {
      bool secret_key =
          std::find(std::begin(k_secret_keys), std::end(k_secret_keys), key.str()) != std::end(k_secret_keys);
      if (auto text = value.value_exact<std::string>(); secret_key && text) secrets.push_back(*text);
      collect_secrets(value, secrets);
    }
  } else if (const toml::array* array = node.as_array()) {
    for (const toml::node& element : *array)
      collect_secrets(element, secrets);
  }
}

size_t occurrences(std::string_view haystack, std::string_view needle) {
  size_t count = 0;
  for (size_t at = haystack.find(needle); at != std::string_view::npos; at = haystack.find(needle, at + 1))
    ++count;
  return count;
}

std::vector<std::string> distinctive_secrets(std::string_view input) {
  std::vector<std::string> secrets;
  // The loader screens out what toml++ 3.3.0 mishandles (config/toml_guard.hpp); so must we.
  if (offsite::config::detail::find_unsafe_non_ascii(input)) return {};
  try {
    toml::table root = toml::parse(input);
    collect_secrets(root, secrets);
  } catch (const toml::parse_error&) {
    return {};
  }
  std::erase_if(secrets, [&](const std::string& secret) {
    return secret.size() < 8 || occurrences(input, secret) > 1 ||
           secret.find_first_of(" .[]`\"':/\\()-_=;,0123456789") != std::string::npos;
  });
  return secrets;
}

void check_no_secret(std::string_view text, const std::vector<std::string>& secrets) {
  for (const std::string& secret : secrets)
    if (text.find(secret) != std::string_view::npos) std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  LoadResult result = load_config_string(input, "fuzz.toml");
  if (result.config.has_value() != result.errors.empty()) std::abort();
  if (result.ok() && !result.errors.empty()) std::abort();

  std::vector<std::string> secrets = distinctive_secrets(input);
  for (const auto* diagnostics : {&result.errors, &result.warnings}) {
    for (const Diagnostic& diagnostic : *diagnostics) {
      std::string line = diagnostic.to_string();
      if (line.empty()) std::abort();
      check_no_secret(line, secrets);
    }
  }
  if (result.config) {
    for (const Repository& repository : result.config->repositories) {
      check_no_secret(describe_target(repository.target), secrets);
      check_no_secret(summarize(repository), secrets);
    }
  }
  return 0;
}
