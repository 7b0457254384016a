#pragma once
// `offsite run`: the service. One coroutine per repository waits for its window, syncs, records
// the result and waits for the next window; SIGHUP reloads the configuration, SIGTERM and SIGINT
// stop every sync cleanly (BRIEF §2, §9 "Service").

#include <filesystem>

#include "config/config.hpp"

namespace offsite::service {

// Runs until SIGTERM or SIGINT; returns the process exit status.
int run_daemon(std::filesystem::path config_path, config::Config config);

// Test-only: OFFSITE_TEST_RETRY_SECONDS=N makes the in-window retry delays N, 3N and 9N seconds
// instead of 5, 15 and 45 minutes.
std::chrono::seconds retry_delay(int attempt);

} // namespace offsite::service
