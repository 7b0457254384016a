#include "cli/commands.hpp"

#include <csignal>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/context.hpp"
#include "cli/exit_codes.hpp"
#include "cli/runtime.hpp"
#include "config/units.hpp"
#include "repo/repository_id.hpp"
#include "sync/probe.hpp"
#include "sync/result.hpp"
#include "target/factory.hpp"
#include "util/fs.hpp"
#include "util/json_writer.hpp"
#include "util/log.hpp"

namespace offsite::cli {
namespace {

std::string_view to_string(sync::RemoteIdState state) {
  switch (state) {
  case sync::RemoteIdState::none: return "none";
  case sync::RemoteIdState::ours: return "ours";
  case sync::RemoteIdState::foreign: return "foreign";
  }
  return "unknown";
}

std::string_view id_state(const sync::ProbeReport& report) {
  if (!report.remote_id) return "unknown";
  switch (report.remote_id->state) {
  case sync::RemoteIdState::none: return "none";
  case sync::RemoteIdState::ours: return "ours";
  case sync::RemoteIdState::foreign: return "another repository's";
  }
  return "unknown";
}

void capabilities_json(JsonWriter& json, const target::Capabilities& caps) {
  json.key("capabilities").begin_object();
  json.field("replace_is_atomic", caps.replace_is_atomic).field("partial_is_visible", caps.partial_is_visible);
  json.field("exclusive_rename", caps.exclusive_rename).field("direct_upload_safe", caps.direct_upload_safe);
  json.field("server_side_copy", caps.server_side_copy).field("reports_free_space", caps.reports_free_space);
  json.field("max_connections", caps.max_connections).field("max_file_size", caps.max_file_size);
  json.end_object();
}

std::string report_json(const std::string& repository, const sync::ProbeReport& report,
                        const sync::HostKeyTrust& host_key, const std::string& type, int exit_code) {
  JsonWriter json;
  json.begin_object().field("repository", repository).field("target", report.target);
  json.field("ok", exit_code == k_exit_success).key("steps").begin_array();
  for (const auto& step : report.steps) {
    json.begin_object().field("step", step.name).field("status", sync::to_string(step.status));
    if (!step.remote.empty()) json.field("remote", step.remote);
    if (!step.error.empty()) json.field(step.status == sync::StepStatus::skipped ? "why" : "error", step.error);
    json.end_object();
  }
  json.end_array();
  if (report.capabilities) capabilities_json(json, *report.capabilities);
  json.key("free_space_bytes");
  if (report.free_space)
    json.value(*report.free_space);
  else
    json.null();
  json.key("unfinished_uploads").begin_array();
  for (const auto& path : report.unfinished_uploads)
    json.value(path);
  json.end_array();
  json.key("remote_id")
      .begin_object()
      .field("state", report.remote_id ? to_string(report.remote_id->state) : "unknown");
  if (report.remote_id && !report.remote_id->id.empty()) json.field("id", report.remote_id->id);
  json.end_object();
  json.key("accept_host_key").begin_object().field("requested", host_key.accept_unknown);
  if (!host_key.pinned_fingerprint.empty()) json.field("fingerprint", host_key.pinned_fingerprint);
  json.field("applies", type == "sftp");
  if (type != "sftp") json.field("note", fmt::format("no effect: a {} target has no host key", type));
  return json.end_object().end_object().take();
}

void print_human(const std::string& repository, const sync::ProbeReport& report, int exit_code) {
  fmt::print("{}: testing {}\n", repository, report.target);
  for (const auto& step : report.steps) {
    if (step.status == sync::StepStatus::ok)
      fmt::print("  ok       {}\n", step.name);
    else if (step.status == sync::StepStatus::skipped)
      fmt::print("  skipped  {} ({})\n", step.name, step.error);
    else
      fmt::print("  FAILED   {}: {}: {}\n", step.name, step.remote, step.error);
  }
  if (report.free_space) fmt::print("  free space: {}\n", config::format_size(*report.free_space));
  if (!report.unfinished_uploads.empty())
    fmt::print("  unfinished uploads (the next sync discards them): {}\n", fmt::join(report.unfinished_uploads, ", "));
  if (report.capabilities) {
    const auto& caps = *report.capabilities;
    fmt::print("  capabilities: atomic replace {}, exclusive rename {}, server-side copy {}, {} connection(s)\n",
               caps.replace_is_atomic ? "yes" : "no", caps.exclusive_rename ? "yes" : "no",
               caps.server_side_copy ? "yes" : "no", caps.max_connections);
  }
  fmt::print("  remote ID: {}{}\n", id_state(report),
             report.remote_id && !report.remote_id->id.empty() ? " (" + report.remote_id->id + ")" : "");
  fmt::print("{}: {}\n", repository,
             exit_code == k_exit_success       ? "connection test passed"
             : exit_code == k_exit_id_mismatch ? "the remote folder belongs to another repository"
                                               : "connection test FAILED");
}

} // namespace

int cmd_test_connection(const GlobalOptions& global, const TestConnectionOptions& options) {
  int failed_with = k_exit_success;
  auto opened = open_repository(global, options.name, failed_with);
  if (!opened) return failed_with;
  const auto* repository = &opened->repository();
  sync::HostKeyTrust host_key{options.accept_host_key, options.accepted_fingerprint};
  if (!host_key.pinned_fingerprint.empty() && host_key.pinned_fingerprint.rfind("SHA256:", 0) != 0) {
    fmt::print(stderr, "offsite: --accept-host-key={}: a fingerprint is written SHA256:…, as ssh-keygen -l prints it\n",
               host_key.pinned_fingerprint);
    return k_exit_usage;
  }

  // Read, never created: a wizard's test writes nothing into the repository.
  std::optional<std::string> local_id;
  if (auto read = repo::read_repository_id(repository->path); read)
    local_id = *read;
  else
    log::warning("test_connection.local_id", {{"repository", repository->name}, {"error", read.error().message}});

  Runtime runtime;
  auto built = build_target_or_report(*opened, runtime, failed_with, host_key);
  if (!built) return failed_with;
  auto* target = built->target.get();
  auto body = [target, local_id] { return sync::probe_target(*target, local_id); };
  auto report = runtime.run<sync::ProbeReport>(std::move(body));

  int exit_code = report.foreign() ? k_exit_id_mismatch : report.steps_ok() ? k_exit_success : k_exit_failed;
  if (options.json)
    fmt::print("{}\n", report_json(repository->name, report, host_key, repository->target.type, exit_code));
  else
    print_human(repository->name, report, exit_code);
  if (report.foreign()) fmt::print(stderr, "offsite: {}\n", sync::id_mismatch_error(*target, repository->name).message);
  return exit_code;
}

} // namespace offsite::cli
