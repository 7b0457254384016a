#include "cli/commands.hpp"

#include <chrono>

#include <fmt/format.h>

#include "cli/context.hpp"
#include "cli/exit_codes.hpp"
#include "cli/runtime.hpp"
#include "manifest/manifest.hpp"
#include "repo/repository_id.hpp"
#include "sync/remote_id.hpp"
#include "sync/result.hpp"
#include "target/factory.hpp"
#include "util/fs.hpp"
#include "util/json_writer.hpp"
#include "util/log.hpp"

namespace offsite::cli {
namespace {

struct Takeover {
  sync::RemoteId before;
  sync::RemoteId after;
};

// Connects, creates the folder if missing, and writes our ID over whatever is there (BRIEF §2).
asio::awaitable<Result<Takeover>> take_over(target::Target& target, std::string local_id, std::string name) {
  if (auto connected = co_await target.connect(); !connected) co_return Unexpected(std::move(connected).error());
  std::string root;
  if (auto made = co_await target.make_directory(root); !made) co_return Unexpected(std::move(made).error());
  auto before = co_await sync::read_remote_id(target, local_id);
  if (!before) co_return Unexpected(std::move(before).error());
  auto after = co_await sync::claim_or_check_remote_id(target, local_id, name, /*take_over=*/true);
  if (!after) co_return Unexpected(std::move(after).error());
  co_return Takeover{*before, *after};
}

// The engine adopts matching mirror files on the next sync while this marker exists, and removes
// it after that sync's first commit.
Result<void> record_adopt_existing(const std::filesystem::path& state, const std::string& repository_id) {
  JsonWriter json;
  json.begin_object().field("repository_id", repository_id);
  json.field("requested_at", manifest::format_timestamp(std::chrono::system_clock::now())).end_object();
  return fs::write_file_atomically(state / "adopt-existing", json.str() + "\n", 0640);
}

} // namespace

int cmd_reinitialize(const GlobalOptions& global, const ReinitializeOptions& options) {
  int failed_with = k_exit_success;
  auto opened = open_repository(global, options.name, failed_with);
  if (!opened) return failed_with;
  const auto* repository = &opened->repository();
  const auto& state = opened->state;

  // A lost ID file is replaced by a new ID here, as a sync would: reinitializing is how that new
  // ID takes the remote over.
  auto local_id = repo::load_or_create_repository_id(repository->path);
  if (!local_id) {
    fmt::print(stderr, "offsite: {}: {}\n", repository->name, local_id.error().message);
    return k_exit_failed;
  }
  Runtime runtime;
  auto built = build_target_or_report(*opened, runtime, failed_with);
  if (!built) return failed_with;
  auto* target = built->target.get();
  auto body = [target, id = *local_id, name = repository->name] { return take_over(*target, id, name); };
  auto outcome = runtime.run<Result<Takeover>>(std::move(body));
  if (!outcome) {
    fmt::print(stderr, "offsite: {}: {}\n", repository->name, outcome.error().message);
    return k_exit_failed;
  }
  if (options.adopt_existing) {
    if (auto recorded = record_adopt_existing(state, *local_id); !recorded) {
      fmt::print(stderr, "offsite: {}: the remote ID was written, but --adopt-existing was not recorded: {}\n",
                 repository->name, recorded.error().message);
      return k_exit_failed;
    }
  }

  const auto& before = outcome->before;
  if (before.state == sync::RemoteIdState::ours)
    fmt::print("{}: the remote ID was already this repository's ({}) on {}; nothing changed there\n", repository->name,
               *local_id, target->describe());
  else
    fmt::print("{}: remote ID was {}, now {} on {}; the next sync takes the folder over\n", repository->name,
               before.state == sync::RemoteIdState::none ? std::string("none") : before.id, outcome->after.id,
               target->describe());
  if (options.adopt_existing)
    fmt::print("{}: --adopt-existing recorded: the next sync keeps mirror files whose path and size match a local "
               "file (hashing the local file) instead of uploading them; files matching nothing are deleted after "
               "its first commit\n",
               repository->name);
  return k_exit_success;
}

} // namespace offsite::cli
