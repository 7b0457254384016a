#include "cli/commands.hpp"

#include <unistd.h>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "cli/context.hpp"
#include "cli/exit_codes.hpp"
#include "cli/runtime.hpp"
#include "config/units.hpp"
#include "sync/progress.hpp"
#include "sync/result.hpp"
#include "sync/sync.hpp"
#include "target/factory.hpp"
#include "util/background_task.hpp"
#include "util/file_lock.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"

namespace offsite::cli {
namespace {

void print_result(const sync::SyncResult& result, bool json) {
  if (json) {
    fmt::print("{}\n", sync::result_to_json(result));
    return;
  }
  if (result.dry_run) {
    fmt::print("{}: dry run, nothing was written\n", result.repository);
    fmt::print("  would upload {} file(s), {} to read\n", result.files_uploaded.count(),
               config::format_size(result.bytes_uploaded));
    for (const auto& path : result.files_uploaded.listed())
      fmt::print("    + {}\n", path);
    fmt::print("  would delete {} file(s)\n", result.files_deleted.count());
    for (const auto& path : result.files_deleted.listed())
      fmt::print("    - {}\n", path);
  } else {
    fmt::print("{}: {}, {} file(s) uploaded ({}), {} deleted, {} folder(s) committed, generation {}\n",
               result.repository, sync::to_string(result.outcome), result.files_uploaded.count(),
               config::format_size(result.bytes_uploaded), result.files_deleted.count(), result.folders_committed,
               result.generation);
  }
  for (const auto& skipped : result.files_skipped)
    fmt::print(stderr, "{}: {}: {}\n", skipped.is_error ? "error" : "skipped", skipped.path, skipped.reason);
  for (const auto& warning : result.warnings)
    fmt::print(stderr, "warning: {}\n", warning);
  if (result.error) fmt::print(stderr, "offsite: {}\n", result.error->message);
}

int exit_code(const sync::SyncResult& result, int signal) {
  switch (result.outcome) {
  case sync::Outcome::success: return k_exit_success;
  case sync::Outcome::incomplete: return signal == SIGINT ? k_exit_interrupted : k_exit_incomplete;
  case sync::Outcome::abandoned: return k_exit_incomplete;
  case sync::Outcome::failed: return result.error ? exit_code_for(*result.error) : k_exit_failed;
  }
  return k_exit_failed;
}

} // namespace

int cmd_sync(const GlobalOptions& global, const SyncOptions& options) {
  int failed_with = k_exit_success;
  auto opened = open_repository(global, options.name, failed_with);
  if (!opened) return failed_with;
  const auto* config = &opened->config;
  const auto* repository = &opened->repository();
  const auto& state = opened->state;

  Runtime runtime;
  auto built = build_target_or_report(*opened, runtime, failed_with);
  if (!built) return failed_with;
  auto lock = FileLock::open(state / "sync.lock");
  if (!lock) {
    fmt::print(stderr, "offsite: {}\n", lock.error().message);
    return k_exit_failed;
  }
  bool terminal = ::isatty(STDERR_FILENO) == 1 && !options.json;

  auto body = [&]() -> asio::awaitable<sync::SyncResult> {
    sync::SyncResult result;
    result.repository = repository->name;
    // Two syncs of one repository never run at once: a Run Now waits for the scheduled one.
    auto taken = lock->try_lock(LockMode::exclusive);
    if (taken && !*taken) {
      log::info("sync.waiting", {{"repository", repository->name}, {"for", "another sync of this repository"}});
      auto executor = co_await asio::this_coro::executor;
      auto waiter = [&] { return lock->lock(LockMode::exclusive); };
      try {
        taken =
            co_await asio::co_spawn(executor, std::move(waiter),
                                    asio::bind_cancellation_slot(runtime.stopper().new_slot(), asio::use_awaitable));
      } catch (const std::system_error&) {
        result.outcome = sync::Outcome::incomplete;
        result.error = Error{ErrorKind::cancelled, "stopped while waiting for another sync of this repository"};
        co_return result;
      }
    }
    if (!taken) {
      result.outcome = sync::Outcome::failed;
      result.error = taken.error();
      co_return result;
    }
    sync::SyncProgress progress;
    BackgroundTask reporter;
    auto progress_file = state / "progress.json";
    auto executor = co_await asio::this_coro::executor;
    auto report = [&] { return sync::report_progress(progress, repository->name, progress_file, terminal); };
    reporter.start(executor, std::move(report));
    sync::SyncContext context{*built->target, runtime.pool(), runtime.stopper(), progress, built->retry_policy};
    sync::SyncRequest request;
    request.take_over = options.reinitialize;
    request.allow_mass_change = options.allow_mass_change;
    request.dry_run = options.dry_run;
    result = co_await sync::run_sync(context, *repository, config->service, request);
    co_await reporter.stop();
    std::error_code ignored;
    std::filesystem::remove(progress_file, ignored);
    if (terminal) fmt::print(stderr, "\r\033[K");
    co_return result;
  };
  auto result = runtime.run<sync::SyncResult>(std::move(body));
  if (!options.dry_run) {
    if (auto stored = sync::store_result(state, result); !stored)
      log::warning("result.store_failed", {{"error", stored.error().message}});
  }
  print_result(result, options.json);
  return exit_code(result, runtime.signal_received());
}

} // namespace offsite::cli
