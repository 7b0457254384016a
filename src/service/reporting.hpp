#pragma once
// What the service leaves for people and tools after each sync: the Prometheus textfile
// (`metrics_file`), the `on_failure` command, and the per-repository service state that
// `offsite status` reads from another process.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "service/scheduler.hpp"
#include "sync/result.hpp"

namespace offsite::service {

// Rewrites `metrics_file` (atomically, 0644) from every repository's last result.
void write_metrics(const config::Config& config);

// Runs `on_failure` with the result JSON on stdin, for failed and abandoned outcomes.
void run_on_failure(const config::Service& service, const sync::SyncResult& result);

// `<repository state>/service.json`: the service's view of a repository (state, next window,
// pid), so `status` can say "waiting for the window" while no sync runs.
void write_service_state(const std::filesystem::path& repository_state, std::string_view state,
                         const std::optional<WindowInstance>& next_window);

} // namespace offsite::service
