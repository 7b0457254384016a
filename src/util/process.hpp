#pragma once
// Running a configured command (pre_sync_command, post_sync_command, on_failure): argv, no shell,
// bytes on stdin, its output captured (capped) for the log and the error message. Blocking:
// call it through offload(). POSIX here (posix_spawn); a Windows build swaps process.cpp.

#include <chrono>
#include <string>
#include <vector>

#include "util/error.hpp"

namespace offsite {

struct CommandResult {
  int exit_status = -1; // the exit code, or 128 + signal number
  std::string output;   // stdout and stderr together, at most the last 64 KiB
  bool timed_out = false;
};

// Runs argv[0] (searched in PATH) with the rest as arguments, writes `input` to its stdin, and
// waits up to `timeout` (then kills it). An error only if it could not be started.
Result<CommandResult> run_command(const std::vector<std::string>& argv, const std::string& input,
                                  std::chrono::seconds timeout);

// Runs argv in the foreground, as `offsite backup -- CMD` does: the child inherits descriptor
// `inherit_fd` (a lock it then holds itself, even if we are killed), SIGINT, SIGTERM and SIGHUP
// sent to us are passed on to it, and its status is returned (128 + N if a signal N ended it).
// Returns -errno if it could not be started (ENOENT: not found; EACCES: cannot run).
int run_foreground(const std::vector<std::string>& argv, int inherit_fd);

} // namespace offsite
