#include "cli/commands.hpp"

#include <csignal>
#include <system_error>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/co_spawn.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "cli/context.hpp"
#include "cli/exit_codes.hpp"
#include "cli/runtime.hpp"
#include "config/units.hpp"
#include "sync/restore.hpp"
#include "sync/result.hpp"
#include "target/factory.hpp"
#include "util/fs.hpp"
#include "util/json_writer.hpp"
#include "util/log.hpp"

namespace offsite::cli {
namespace {

// Runs the restore so that SIGINT/SIGTERM cancel it at its next suspension point; the file being
// written then loses its temporary name, and every file already restored stays.
asio::awaitable<Result<sync::RestoreReport>> restore_until_stopped(target::Target& target, asio::thread_pool& pool,
                                                                   Stopper& stopper, sync::RestoreRequest request) {
  auto work = [&target, &pool, request]() -> asio::awaitable<Result<sync::RestoreReport>> {
    if (auto connected = co_await target.connect(); !connected) co_return Unexpected(std::move(connected).error());
    co_return co_await sync::restore_committed(target, pool, request);
  };
  co_return co_await run_stoppable(stopper, work, "stopped before the restore finished");
}

std::string report_json(const std::string& repository, const std::string& target, const std::string& destination,
                        const Result<sync::RestoreReport>& outcome) {
  JsonWriter json;
  json.begin_object().field("repository", repository).field("target", target).field("to", destination);
  json.field("ok", outcome.has_value() && outcome->ok());
  if (!outcome) {
    json.key("error").begin_object();
    json.field("kind", to_string(outcome.error().kind)).field("message", outcome.error().message).end_object();
    return json.end_object().take();
  }
  const auto& report = *outcome;
  json.field("remote_id", report.remote_id).field("generation", report.generation);
  json.field("committed_at", report.committed_at).key("folders").begin_array();
  for (const auto& folder : report.folders)
    json.value(folder);
  json.end_array().field("files_restored", report.files_restored).field("bytes_restored", report.bytes_restored);
  json.key("failures").begin_array();
  for (const auto& failure : report.failures)
    json.begin_object()
        .field("path", failure.path)
        .field("remote", failure.remote)
        .field("reason", failure.reason)
        .end_object();
  json.end_array().key("warnings").begin_array();
  for (const auto& warning : report.warnings)
    json.value(warning);
  return json.end_array().end_object().take();
}

void print_human(const std::string& repository, const std::string& destination, const sync::RestoreReport& report) {
  fmt::print("{}: restored {} file(s), {}, of generation {} ({} folder(s)) into {}{}\n", repository,
             report.files_restored, config::format_size(report.bytes_restored), report.generation,
             report.folders.size(), destination,
             report.ok() ? ", every hash checked" : fmt::format("; {} file(s) FAILED", report.failures.size()));
  for (const auto& failure : report.failures)
    fmt::print("  failed: {}: {}\n", failure.remote, failure.reason);
  for (const auto& warning : report.warnings)
    fmt::print("  warning: {}\n", warning);
}

} // namespace

int cmd_restore(const GlobalOptions& global, const RestoreOptions& options) {
  int failed_with = k_exit_success;
  auto opened = open_repository(global, options.name, failed_with);
  if (!opened) return failed_with;
  const auto* repository = &opened->repository();
  if (options.to.empty()) {
    fmt::print(stderr, "offsite: restore: --to needs a directory\n");
    return k_exit_usage;
  }
  // Refused before connecting: restore never writes into a directory that holds anything.
  std::filesystem::path destination = std::filesystem::absolute(options.to);
  if (auto prepared = sync::prepare_destination(destination); !prepared) {
    fmt::print(stderr, "offsite: {}\n", prepared.error().message);
    return k_exit_failed;
  }

  // Only the target settings are needed: the local repository and its ID may be gone.
  Runtime runtime;
  auto built = build_target_or_report(*opened, runtime, failed_with);
  if (!built) return failed_with;
  sync::RestoreRequest request{destination, options.folder};
  auto* target = built->target.get();
  auto body = [&runtime, target, request] {
    return restore_until_stopped(*target, runtime.pool(), runtime.stopper(), request);
  };
  auto outcome = runtime.run<Result<sync::RestoreReport>>(std::move(body));
  if (options.json)
    fmt::print("{}\n", report_json(repository->name, target->describe(), destination.string(), outcome));
  if (!outcome) {
    fmt::print(stderr, "offsite: {}: {}\n", repository->name, outcome.error().message);
    if (outcome.error().kind == ErrorKind::cancelled)
      return runtime.signal_received() == SIGINT ? k_exit_interrupted : k_exit_incomplete;
    return exit_code_for(outcome.error());
  }
  if (!options.json) print_human(repository->name, destination.string(), *outcome);
  return outcome->ok() ? k_exit_success : k_exit_failed;
}

} // namespace offsite::cli
