#include "manifest/remote_path.hpp"

#include "manifest/utf8.hpp"

namespace offsite::manifest {
namespace {

Unexpected<Error> bad_path(std::string_view path, std::string_view why) {
  return make_error(ErrorKind::permanent, "path " + printable(path) + " " + std::string(why));
}

} // namespace

Result<void> validate_relative_path(std::string_view path) {
  if (path.empty()) return bad_path(path, "is empty");
  if (path.find('\0') != std::string_view::npos) return bad_path(path, "contains a NUL byte");
  if (path.front() == '/') return bad_path(path, "is absolute");
  std::size_t start = 0;
  for (;;) {
    std::size_t end = path.find('/', start);
    std::string_view component = path.substr(start, end == std::string_view::npos ? path.npos : end - start);
    if (component.empty()) return bad_path(path, "has an empty component");
    if (component == ".") return bad_path(path, "has a \".\" component");
    if (component == "..") return bad_path(path, "has a \"..\" component");
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return {};
}

Result<void> validate_folder_path(std::string_view folder) {
  if (folder.empty()) return {};
  return validate_relative_path(folder);
}

std::string join_path(std::string_view a, std::string_view b) {
  if (a.empty()) return std::string(b);
  if (b.empty()) return std::string(a);
  std::string joined;
  joined.reserve(a.size() + 1 + b.size());
  joined.append(a).append("/").append(b);
  return joined;
}

std::string folder_of(std::string_view relative_file_path, int folder_depth) {
  // The last component is the file's own name; only the directories before it count.
  std::size_t end = 0;
  for (int depth = 0; depth < folder_depth; ++depth) {
    std::size_t slash = relative_file_path.find('/', depth == 0 ? 0 : end + 1);
    if (slash == std::string_view::npos) break;
    end = slash;
  }
  return std::string(relative_file_path.substr(0, end));
}

bool is_within(std::string_view folder, std::string_view path) {
  if (folder.empty()) return !path.empty();
  return path.size() > folder.size() + 1 && path.starts_with(folder) && path[folder.size()] == '/';
}

} // namespace offsite::manifest
