// Paths from remote listings and manifests are untrusted. The input is a depth byte, then two
// paths split at the first '\n'. Invariants: an accepted path has no empty, "." or ".."
// component and no NUL (checked here by an independent split); a rejected one is rejected as a
// folder too unless empty; joining valid paths and taking a file's folder never make an invalid
// path; the UTF-8 helpers keep their promises on any bytes.

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "manifest/remote_path.hpp"
#include "manifest/utf8.hpp"

namespace {

using namespace offsite::manifest;

bool plainly_valid(std::string_view path) {
  if (path.empty() || path.find('\0') != std::string_view::npos) return false;
  std::string component;
  for (std::size_t i = 0; i <= path.size(); ++i) {
    if (i < path.size() && path[i] != '/') {
      component.push_back(path[i]);
      continue;
    }
    if (component.empty() || component == "." || component == "..") return false;
    component.clear();
  }
  return true;
}

std::size_t components(std::string_view path) {
  return path.empty() ? 0 : 1 + static_cast<std::size_t>(std::count(path.begin(), path.end(), '/'));
}

void check_one(std::string_view path, int depth) {
  bool valid = validate_relative_path(path).has_value();
  if (valid != plainly_valid(path)) std::abort();
  if (validate_folder_path(path).has_value() != (valid || path.empty())) std::abort();
  if (valid) {
    std::string folder = folder_of(path, depth);
    if (!validate_folder_path(folder) || !is_within(folder, path)) std::abort();
    if (components(folder) > static_cast<std::size_t>(depth) || components(folder) >= components(path)) std::abort();
    if (!folder.empty() && !path.starts_with(folder + "/")) std::abort();
  }
  std::string lossy = lossy_utf8(path);
  if (!is_valid_utf8(lossy) || (is_valid_utf8(path) && lossy != path)) std::abort();
  if (from_hex(to_hex(path)) != std::string(path)) std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  int depth = data[0] % 5;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::size_t newline = rest.find('\n');
  std::string_view a = rest.substr(0, newline);
  std::string_view b = newline == std::string_view::npos ? std::string_view() : rest.substr(newline + 1);
  check_one(a, depth);
  check_one(b, depth);
  if (validate_folder_path(a) && validate_relative_path(b)) {
    std::string joined = join_path(a, b);
    if (!validate_relative_path(joined) || !is_within(a, joined)) std::abort();
    check_one(joined, depth);
  }
  return 0;
}
