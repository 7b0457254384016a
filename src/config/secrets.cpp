// Secrets and where they come from. A secret may sit in the config itself, in a file of its
// own (`password_file`, so the config can stay world-readable) or in the environment
// (`password_env`, for systemd's LoadCredential= or a container's injected variables).
// Diagnostics name the key, the file or the variable, never the value.

#include "config/secrets.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ostream>
#include <sys/stat.h>

#include <fmt/format.h>

#include "config/reader.hpp"
#include "util/fs.hpp"

namespace offsite::config {

std::ostream& operator<<(std::ostream& out, const Secret&) { return out << k_redacted; }

namespace detail {
namespace {

// A secret file is small; anything larger is a mistake (the wrong path), not a key.
constexpr std::uint64_t k_max_secret_file = 64 * 1024;

std::string strip_one_newline(std::string text) {
  if (text.ends_with("\r\n"))
    text.resize(text.size() - 2);
  else if (text.ends_with('\n'))
    text.pop_back();
  return text;
}

Secret read_secret_file(TableReader& reader, std::string_view key, const std::string& file) {
  if (file.empty() || file.find('\0') != std::string::npos) {
    reader.error_at(key, "expected the path of a file holding the secret, found an empty string");
    return {};
  }
  std::filesystem::path path = reader.context().resolve(file);
  // Only regular files: a FIFO or a device (/dev/stdin) would block or never end.
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    reader.error_at(key, fmt::format("cannot read the secret file {}: {}", path.string(), std::strerror(errno)));
    return {};
  }
  if (!S_ISREG(st.st_mode)) {
    reader.error_at(key, fmt::format("the secret file {} is not a regular file", path.string()));
    return {};
  }
  auto content = fs::read_file(path, k_max_secret_file);
  if (!content) {
    reader.error_at(key, fmt::format("cannot read the secret file: {}", content.error().message));
    return {};
  }
  return Secret(strip_one_newline(std::move(*content)));
}

Secret read_secret_env(TableReader& reader, std::string_view key, const std::string& variable) {
  if (variable.empty() || variable.find('=') != std::string::npos || variable.find('\0') != std::string::npos) {
    reader.error_at(key, "expected the name of an environment variable");
    return {};
  }
  const char* value = std::getenv(variable.c_str());
  if (!value) {
    reader.error_at(key, fmt::format("the environment variable {} is not set", variable));
    return {};
  }
  return Secret(value);
}

} // namespace
} // namespace detail

Secret detail::TableReader::secret(std::string_view key) {
  std::string file_key = fmt::format("{}_file", key), env_key = fmt::format("{}_env", key);
  const toml::node* inline_value = node(key);
  const toml::node* file_value = node(file_key);
  const toml::node* env_value = node(env_key);
  int sources = (inline_value ? 1 : 0) + (file_value ? 1 : 0) + (env_value ? 1 : 0);
  if (sources > 1) {
    std::string_view second = file_value && inline_value ? std::string_view(file_key) : std::string_view(env_key);
    error_at_key(second, fmt::format("give the secret once: `{}`, `{}` or `{}`, not several", key, file_key, env_key));
    return {};
  }
  if (inline_value) {
    // Not string(): its error would be the same, but keep the value out of every message.
    auto text = inline_value->value_exact<std::string>();
    if (!text) {
      wrong_type(key, *inline_value, "a string");
      return {};
    }
    ++m_context.inline_secrets;
    if (!m_context.first_inline_secret) {
      m_context.first_inline_secret = Diagnostic{m_context.file,
                                                 static_cast<int>(inline_value->source().begin.line),
                                                 static_cast<int>(inline_value->source().begin.column),
                                                 key_path(key),
                                                 {}};
    }
    return Secret(std::move(*text));
  }
  if (file_value) {
    auto file = string(file_key);
    return file ? read_secret_file(*this, file_key, *file) : Secret();
  }
  if (env_value) {
    auto variable = string(env_key);
    return variable ? read_secret_env(*this, env_key, *variable) : Secret();
  }
  return {};
}

} // namespace offsite::config
