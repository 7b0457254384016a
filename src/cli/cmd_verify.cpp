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
#include "repo/repository_id.hpp"
#include "sync/result.hpp"
#include "sync/verify.hpp"
#include "target/factory.hpp"
#include "util/fs.hpp"
#include "util/json_writer.hpp"
#include "util/log.hpp"

namespace offsite::cli {
namespace {

// Runs the check so that SIGINT/SIGTERM cancel it at its next suspension point.
asio::awaitable<Result<sync::VerifyReport>> verify_until_stopped(target::Target& target, Stopper& stopper,
                                                                 sync::VerifyRequest request) {
  auto work = [&target, request]() -> asio::awaitable<Result<sync::VerifyReport>> {
    if (auto connected = co_await target.connect(); !connected) co_return Unexpected(std::move(connected).error());
    co_return co_await sync::verify_remote(target, request);
  };
  co_return co_await run_stoppable(stopper, work, "stopped before the check finished");
}

std::string report_json(const std::string& repository, const std::string& target, bool deep,
                        const Result<sync::VerifyReport>& outcome) {
  JsonWriter json;
  json.begin_object().field("repository", repository).field("target", target).field("deep", deep);
  json.field("ok", outcome.has_value() && outcome->ok());
  if (!outcome) {
    json.key("error").begin_object();
    json.field("kind", to_string(outcome.error().kind)).field("message", outcome.error().message).end_object();
    return json.end_object().take();
  }
  const auto& report = *outcome;
  json.field("remote_id", report.remote_id).field("generation", report.generation);
  json.field("committed_at", report.committed_at).field("files_checked", report.files_checked);
  json.field("bytes_checked", report.bytes_checked).field("bytes_read", report.bytes_read);
  json.key("problems").begin_array();
  for (const auto& problem : report.problems)
    json.begin_object()
        .field("path", problem.path)
        .field("remote", problem.remote)
        .field("reason", problem.reason)
        .end_object();
  json.end_array().key("warnings").begin_array();
  for (const auto& warning : report.warnings)
    json.value(warning);
  return json.end_array().end_object().take();
}

void print_human(const std::string& repository, bool deep, const sync::VerifyReport& report) {
  auto checked = deep ? fmt::format("compared by XXH3-128 ({} read)", config::format_size(report.bytes_read))
                      : std::string("checked by size");
  if (report.ok())
    fmt::print("{}: the remote matches generation {}: {} file(s), {} {}\n", repository, report.generation,
               report.files_checked, config::format_size(report.bytes_checked), checked);
  else
    fmt::print("{}: {} committed file(s) missing or different in generation {} ({} file(s), {} {})\n", repository,
               report.problems.size(), report.generation, report.files_checked,
               config::format_size(report.bytes_checked), checked);
  for (const auto& problem : report.problems)
    fmt::print("  {}: {}\n", problem.remote, problem.reason);
  for (const auto& warning : report.warnings)
    fmt::print("  warning: {}\n", warning);
}

} // namespace

int cmd_verify(const GlobalOptions& global, const VerifyOptions& options) {
  int failed_with = k_exit_success;
  auto opened = open_repository(global, options.name, failed_with);
  if (!opened) return failed_with;
  const auto* repository = &opened->repository();

  Runtime runtime;
  auto built = build_target_or_report(*opened, runtime, failed_with);
  if (!built) return failed_with;
  // Read-only: the local ID is read, never created. Without one, a remote with an ID belongs to
  // another repository, as the next sync would find.
  sync::VerifyRequest request{"", repository->name, options.deep};
  if (auto local_id = repo::read_repository_id(repository->path); local_id)
    request.local_id = local_id->value_or("");
  else
    log::warning("verify.local_id", {{"repository", repository->name}, {"error", local_id.error().message}});

  auto* target = built->target.get();
  auto body = [&runtime, target, request] { return verify_until_stopped(*target, runtime.stopper(), request); };
  auto outcome = runtime.run<Result<sync::VerifyReport>>(std::move(body));
  if (options.json) fmt::print("{}\n", report_json(repository->name, target->describe(), options.deep, outcome));
  if (!outcome) {
    fmt::print(stderr, "offsite: {}: {}\n", repository->name, outcome.error().message);
    if (outcome.error().kind == ErrorKind::cancelled)
      return runtime.signal_received() == SIGINT ? k_exit_interrupted : k_exit_incomplete;
    return exit_code_for(outcome.error());
  }
  if (!options.json) print_human(repository->name, options.deep, *outcome);
  return outcome->ok() ? k_exit_success : k_exit_failed;
}

} // namespace offsite::cli
