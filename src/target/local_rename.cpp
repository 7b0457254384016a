#include "target/local_rename.hpp"

#include <array>
#include <cerrno>
#include <vector>

#include <fmt/format.h>

#include "target/local_platform.hpp"
#include "target/target.hpp"
#include "util/fs.hpp"
#include "util/hash128.hpp"
#include "util/uuid.hpp"

namespace offsite::target {
namespace {

constexpr std::size_t k_copy_buffer = 1 << 20;

bool rename_unsupported(int errnum) { return errnum == EINVAL || errnum == ENOSYS || errnum == EOPNOTSUPP; }

bool link_unsupported(int errnum) {
  return errnum == EPERM || errnum == EOPNOTSUPP || errnum == ENOSYS || errnum == EMLINK || errnum == EXDEV;
}

int move_by_copy(const std::filesystem::path& from, const std::filesystem::path& to) {
  if (int rc = copy_file_contents(from, to, true); rc != 0) return rc;
  return platform::remove_file(from);
}

// Writes two small files into `dir` for the probe.
int make_probe_file(const std::filesystem::path& path) {
  platform::File file;
  if (int rc = file.create_exclusive(path); rc != 0) return rc;
  std::array<std::byte, 1> byte{std::byte{'x'}};
  return file.write_at(byte, 0);
}

RenameMethod probe_in(const std::filesystem::path& probe) {
  auto a = probe / "a", b = probe / "b", c = probe / "c";
  if (make_probe_file(a) != 0 || make_probe_file(b) != 0) return RenameMethod::exclusive_create;
  int rc = platform::rename_noreplace(a, b);
  if (rc == EEXIST && platform::rename_noreplace(a, c) == 0) return RenameMethod::renameat2;
  if (rc == 0) { // the flag was ignored and b replaced: never trust it here
    make_probe_file(a);
  } else if (rc != EEXIST && !rename_unsupported(rc)) {
    return RenameMethod::exclusive_create;
  }
  if (platform::hard_link(a, b) == EEXIST && platform::hard_link(a, c) == 0) return RenameMethod::link;
  return RenameMethod::exclusive_create;
}

} // namespace

std::string_view to_string(RenameMethod method) {
  switch (method) {
  case RenameMethod::renameat2: return "renameat2";
  case RenameMethod::link: return "link";
  case RenameMethod::exclusive_create: return "exclusive_create";
  }
  return "unknown";
}

std::optional<RenameMethod> parse_rename_method(std::string_view text) {
  for (auto method : {RenameMethod::renameat2, RenameMethod::link, RenameMethod::exclusive_create})
    if (text == to_string(method)) return method;
  return std::nullopt;
}

int copy_file_contents(const std::filesystem::path& from, const std::filesystem::path& to, bool exclusive) {
  platform::File source;
  if (int rc = source.open_read(from); rc != 0) return rc;
  platform::File destination;
  int rc = exclusive ? destination.create_exclusive(to) : destination.open_write(to);
  if (rc != 0) return rc;
  if (!exclusive) rc = destination.truncate(0);
  std::vector<std::byte> buffer(k_copy_buffer);
  std::uint64_t offset = 0;
  while (rc == 0) {
    std::size_t got = 0;
    rc = source.read_at(buffer, offset, got);
    if (rc != 0 || got == 0) break;
    rc = destination.write_at(std::span(buffer).first(got), offset);
    offset += got;
  }
  if (rc == 0) rc = destination.sync();
  destination.close();
  if (rc != 0) platform::remove_file(to); // never leave a torn copy under the new name
  return rc;
}

int move_exclusively(RenameMethod& method, const std::filesystem::path& from, const std::filesystem::path& to) {
  if (method == RenameMethod::renameat2) {
    int rc = platform::rename_noreplace(from, to);
    if (!rename_unsupported(rc)) return rc;
    method = RenameMethod::link;
  }
  if (method == RenameMethod::link) {
    int rc = platform::hard_link(from, to);
    if (rc == 0) return platform::remove_file(from);
    if (!link_unsupported(rc)) return rc;
    method = RenameMethod::exclusive_create;
  }
  return move_by_copy(from, to);
}

Result<RenameMethod> probe_rename_method(const std::filesystem::path& dir) {
  auto probe = dir / fmt::format("{}probe-{}", k_temporary_marker, generate_uuid().substr(0, 8));
  if (int rc = platform::make_directory(probe); rc != 0)
    return Unexpected(error_from_errno(rc, fmt::format("{}: cannot create a probe directory", probe.string())));
  RenameMethod method = probe_in(probe);
  for (const char* name : {"a", "b", "c"})
    platform::remove_file(probe / name);
  platform::remove_directory(probe);
  return method;
}

std::filesystem::path probe_cache_file(const std::filesystem::path& state_dir, const std::filesystem::path& root) {
  return state_dir / fmt::format("local-rename-{}", xxh3_128(root.string()).to_hex());
}

std::optional<RenameMethod> read_probe_cache(const std::filesystem::path& state_dir,
                                             const std::filesystem::path& root) {
  if (state_dir.empty()) return std::nullopt;
  auto content = fs::read_file(probe_cache_file(state_dir, root), 4096);
  if (!content) return std::nullopt;
  // "<method>\n<root>\n": the root guards against a hash collision and helps whoever reads it.
  auto newline = content->find('\n');
  if (newline == std::string::npos) return std::nullopt;
  if (content->substr(newline + 1) != root.string() + "\n") return std::nullopt;
  return parse_rename_method(std::string_view(*content).substr(0, newline));
}

Result<void> write_probe_cache(const std::filesystem::path& state_dir, const std::filesystem::path& root,
                               RenameMethod method) {
  if (state_dir.empty()) return {};
  if (auto made = fs::create_directories(state_dir); !made) return made;
  return fs::write_file_atomically(probe_cache_file(state_dir, root),
                                   fmt::format("{}\n{}\n", to_string(method), root.string()), 0640);
}

} // namespace offsite::target
