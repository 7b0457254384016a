#include "sync/remote_id.hpp"

#include <fmt/format.h>

#include "sync/remote_layout.hpp"
#include "target/target.hpp"
#include "util/uuid.hpp"

namespace offsite::sync {

Error id_mismatch_error(const target::Target& target, const std::string& repository_name) {
  return Error{ErrorKind::id_mismatch,
               fmt::format("Remote server ID does not match this repository ({}/{}).\n"
                           "The usual causes:\n"
                           "  - this repository's ID file (.offsite/repository-id in the repository) was lost, and a "
                           "new ID was made;\n"
                           "  - two repositories are syncing to the same target path and folder;\n"
                           "  - the space was used before by an old repository.\n"
                           "If this repository should own the remote folder, run: offsite reinitialize \"{}\"",
                           target.describe(), layout::k_repository_id, repository_name)};
}

asio::awaitable<Result<RemoteId>> read_remote_id(target::Target& target, std::string local_id) {
  auto path = std::string(layout::k_repository_id);
  auto bytes = co_await target.read_file(path, 4096);
  if (!bytes) {
    if (bytes.error().kind == ErrorKind::not_found) co_return RemoteId{};
    co_return Unexpected(std::move(bytes).error());
  }
  std::string_view text = *bytes;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
    text.remove_suffix(1);
  auto id = parse_uuid(text);
  if (!id)
    co_return make_error(ErrorKind::permanent,
                         fmt::format("{}/{}: does not hold a repository ID (a UUID); it was damaged or written by "
                                     "something else. Check the folder; `offsite reinitialize NAME` writes this "
                                     "repository's ID",
                                     target.describe(), path));
  co_return RemoteId{*id == local_id ? RemoteIdState::ours : RemoteIdState::foreign, *id};
}

asio::awaitable<Result<std::vector<std::string>>> foreign_entries(target::Target& target, std::size_t limit) {
  std::vector<std::string> names;
  auto entries = co_await target.list("");
  if (!entries) {
    if (entries.error().kind == ErrorKind::not_found) co_return names;
    co_return Unexpected(std::move(entries).error());
  }
  for (const auto& entry : *entries) {
    if (entry.name == layout::k_meta) continue;
    if (names.size() == limit) {
      names.push_back("…");
      break;
    }
    names.push_back(entry.is_directory ? entry.name + "/" : entry.name);
  }
  co_return names;
}

asio::awaitable<Result<RemoteId>> claim_or_check_remote_id(target::Target& target, std::string local_id,
                                                           std::string repository_name, bool take_over) {
  auto remote = co_await read_remote_id(target, local_id);
  if (!remote) co_return Unexpected(std::move(remote).error());
  if (remote->state == RemoteIdState::ours) co_return *remote;
  if (remote->state == RemoteIdState::foreign && !take_over)
    co_return Unexpected(id_mismatch_error(target, repository_name));
  if (remote->state == RemoteIdState::none && !take_over) {
    auto existing = co_await foreign_entries(target, 20);
    if (!existing) co_return Unexpected(std::move(existing).error());
    if (!existing->empty()) {
      std::string list;
      for (const auto& name : *existing)
        list += "\n  " + name;
      co_return make_error(ErrorKind::refused,
                           fmt::format("{}: the folder already holds files that offsite did not write, so it was not "
                                       "claimed (nothing was changed):{}\nTo take the folder over (these files are "
                                       "deleted after the first commit), run: offsite reinitialize \"{}\"; to keep "
                                       "files that match the repository, add --adopt-existing",
                                       target.describe(), list, repository_name));
    }
  }
  // Claim: a new name where there was none; on a takeover, replace the other repository's ID.
  auto path = std::string(layout::k_repository_id);
  if (remote->state == RemoteIdState::foreign) {
    if (auto removed = co_await target.remove(path); !removed && removed.error().kind != ErrorKind::not_found)
      co_return Unexpected(std::move(removed).error());
  }
  auto content = local_id + "\n";
  auto written = co_await target.write_new_file(path, content);
  if (!written && written.error().kind != ErrorKind::already_exists) co_return Unexpected(std::move(written).error());
  // Someone may have claimed it at the same instant: whoever's ID is there now owns it.
  auto now = co_await read_remote_id(target, local_id);
  if (!now) co_return Unexpected(std::move(now).error());
  if (now->state != RemoteIdState::ours) co_return Unexpected(id_mismatch_error(target, repository_name));
  co_return *now;
}

} // namespace offsite::sync
