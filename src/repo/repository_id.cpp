#include "repo/repository_id.hpp"

#include <system_error>

#include <fmt/format.h>

#include "util/fs.hpp"
#include "util/uuid.hpp"

namespace offsite::repo {
namespace {

// A real ID file is 37 bytes; anything much larger is not one, and is not read whole.
constexpr std::uint64_t k_max_id_file_size = 4096;

// The UUID in `content`: one line, surrounding blanks and a final newline (LF or CRLF) allowed.
std::optional<std::string> parse_id_file(std::string_view content) {
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!content.empty() && blank(content.back()))
    content.remove_suffix(1);
  while (!content.empty() && blank(content.front()))
    content.remove_prefix(1);
  return parse_uuid(content);
}

Unexpected<Error> not_an_id(const std::filesystem::path& file, std::string_view what) {
  return make_error(ErrorKind::permanent,
                    fmt::format("{}: {}, not a repository ID (one UUID on one line). Restore the file from a backup "
                                "of the repository; or, if the ID is lost, delete it so that a new ID is made: the "
                                "remote copies then belong to another ID, and each needs `offsite reinitialize NAME`",
                                file.string(), what));
}

} // namespace

std::filesystem::path repository_id_file(const std::filesystem::path& repository_root) {
  return repository_root / ".offsite" / "repository-id";
}

Result<std::optional<std::string>> read_repository_id(const std::filesystem::path& repository_root) {
  auto file = repository_id_file(repository_root);
  std::error_code ec;
  if (auto size = std::filesystem::file_size(file, ec); !ec && size > k_max_id_file_size)
    return not_an_id(file, fmt::format("the file is {} bytes long", size));
  auto content = fs::read_file(file, k_max_id_file_size);
  if (!content) {
    if (content.error().kind == ErrorKind::not_found) {
      if (!std::filesystem::is_directory(repository_root, ec))
        return make_error(ErrorKind::not_found,
                          fmt::format("repository {} does not exist or is not a directory", repository_root.string()));
      return std::optional<std::string>();
    }
    return Unexpected(std::move(content).error());
  }
  auto id = parse_id_file(*content);
  if (!id) return not_an_id(file, content->empty() ? "the file is empty" : "the file holds something else");
  return std::optional<std::string>(std::move(*id));
}

Result<std::string> load_or_create_repository_id(const std::filesystem::path& repository_root) {
  auto existing = read_repository_id(repository_root);
  if (!existing) return Unexpected(std::move(existing).error());
  if (*existing) return std::move(**existing);

  auto file = repository_id_file(repository_root);
  if (auto made = fs::create_directories(file.parent_path(), 0750); !made) return Unexpected(std::move(made).error());
  // Exclusively: two first syncs racing must end with one ID, whoever wrote it.
  auto written = fs::create_file_exclusively(file, generate_uuid() + "\n", 0640);
  if (!written && written.error().kind != ErrorKind::already_exists) return Unexpected(std::move(written).error());
  // Read back rather than return what we wrote: what counts is what the file holds.
  auto created = read_repository_id(repository_root);
  if (!created) return Unexpected(std::move(created).error());
  if (!*created)
    return make_error(ErrorKind::permanent, fmt::format("{}: vanished just after being written", file.string()));
  return std::move(**created);
}

} // namespace offsite::repo
