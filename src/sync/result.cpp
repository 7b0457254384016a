#include "sync/result.hpp"

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include "util/fs.hpp"
#include "util/hash128.hpp"
#include "util/json_writer.hpp"

namespace offsite::sync {
namespace {

void write_list(JsonWriter& json, std::string_view key, const std::vector<std::string>& items, std::uint64_t count,
                std::size_t cap) {
  json.key(key).begin_array();
  for (std::size_t i = 0; i < items.size() && i < cap; ++i)
    json.value(items[i]);
  json.end_array();
  json.field(fmt::format("{}_count", key), count);
}

} // namespace

std::string_view to_string(Outcome outcome) {
  switch (outcome) {
  case Outcome::success: return "success";
  case Outcome::failed: return "failed";
  case Outcome::incomplete: return "incomplete";
  case Outcome::abandoned: return "abandoned";
  }
  return "failed";
}

std::string result_to_json(const SyncResult& result, std::size_t list_cap) {
  JsonWriter json;
  json.begin_object()
      .field("repository", result.repository)
      .field("started", result.started)
      .field("finished", result.finished)
      .field("outcome", to_string(result.outcome));
  json.key("error");
  if (result.error)
    json.value(result.error->message);
  else
    json.null();
  json.field("dry_run", result.dry_run).field("bytes_uploaded", result.bytes_uploaded);
  write_list(json, "files_uploaded", result.files_uploaded.listed(), result.files_uploaded.count(), list_cap);
  write_list(json, "files_deleted", result.files_deleted.listed(), result.files_deleted.count(), list_cap);
  json.key("files_skipped").begin_array();
  for (std::size_t i = 0; i < result.files_skipped.size() && i < list_cap; ++i)
    json.begin_object()
        .field("path", result.files_skipped[i].path)
        .field("reason", result.files_skipped[i].reason)
        .end_object();
  json.end_array().field("files_skipped_count", static_cast<std::uint64_t>(result.files_skipped.size()));
  write_list(json, "warnings", result.warnings, result.warnings.size(), list_cap);
  json.field("folders_committed", result.folders_committed).field("generation", result.generation).end_object();
  return json.take();
}

std::filesystem::path repository_state_dir(const std::filesystem::path& state_dir, const std::string& name) {
  std::string key;
  for (char c : name) {
    bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    key += safe ? c : '_';
    if (key.size() == 48) break;
  }
  key += '-' + xxh3_128(name).to_hex().substr(0, 8);
  return state_dir / "repositories" / key;
}

Result<void> store_result(const std::filesystem::path& repository_state, const SyncResult& result) {
  if (auto made = fs::create_directories(repository_state, 0750); !made) return made;
  std::string json = result_to_json(result);
  auto history = repository_state / "history.jsonl";
  int fd = ::open(history.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return Unexpected(error_from_errno(errno, fmt::format("cannot open {}", history.string())));
  std::string line = json + "\n";
  ssize_t written = ::write(fd, line.data(), line.size());
  int saved = errno;
  ::close(fd);
  if (written != static_cast<ssize_t>(line.size()))
    return Unexpected(error_from_errno(saved, fmt::format("cannot append to {}", history.string())));
  // The history first: whoever sees a new last result finds it in the history too.
  return fs::write_file_atomically(repository_state / "last-result.json", json + "\n", 0640);
}

} // namespace offsite::sync
