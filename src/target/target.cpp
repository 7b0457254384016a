#include "target/target.hpp"

#include <fmt/format.h>

#include "util/uuid.hpp"

namespace offsite::target {

asio::awaitable<Result<void>> Target::write_new_file_deferred(std::string path, FileBytes bytes) {
  co_return co_await write_new_file(std::move(path), std::move(bytes));
}

asio::awaitable<Result<std::vector<std::string>>> Target::unfinished_uploads() { co_return std::vector<std::string>(); }

asio::awaitable<Result<void>> Target::discard_unfinished_uploads(std::string /*path*/) { co_return Result<void>{}; }

Result<void> check_path(std::string_view path) {
  if (path.empty()) return {};
  auto refuse = [&](std::string_view why) {
    return make_error(ErrorKind::permanent, fmt::format("invalid remote path \"{}\": {}", path, why));
  };
  if (path.find('\0') != std::string_view::npos) return refuse("contains a NUL");
  if (path.front() == '/') return refuse("absolute");
  std::string_view rest = path;
  while (true) {
    auto slash = rest.find('/');
    auto component = rest.substr(0, slash);
    if (component.empty()) return refuse("empty component");
    if (component == "." || component == "..") return refuse("'.' or '..' component");
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  return {};
}

std::string_view parent_path(std::string_view path) {
  auto slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : path.substr(0, slash);
}

std::string_view last_component(std::string_view path) {
  auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string join_path(std::string_view dir, std::string_view name) {
  if (dir.empty()) return std::string(name);
  if (name.empty()) return std::string(dir);
  return fmt::format("{}/{}", dir, name);
}

bool is_temporary_name(std::string_view name) { return name.find(k_temporary_marker) != std::string_view::npos; }

std::string temporary_path_beside(std::string_view path) {
  auto name = fmt::format(".{}{}{}", last_component(path), k_temporary_marker, generate_uuid().substr(0, 8));
  return join_path(parent_path(path), name);
}

} // namespace offsite::target
