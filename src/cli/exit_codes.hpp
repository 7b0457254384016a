#pragma once
// Exit statuses of BRIEF §2; scripts and the service manager read them.

#include "util/error.hpp"

namespace offsite::cli {

enum ExitCode : int {
  k_exit_success = 0,
  k_exit_failed = 1,        // the sync, check, restore or connection test failed; verify found a difference
  k_exit_usage = 2,         // usage or configuration error, or a target type not implemented yet
  k_exit_id_mismatch = 3,   // the remote belongs to another repository
  k_exit_incomplete = 4,    // stopped at window end or on SIGTERM; what was committed stays
  k_exit_refused = 5,       // refused by a guard: nothing committed, no mirror file touched
  k_exit_interrupted = 130, // SIGINT
};

// The exit status for a command that ended with `error`.
inline int exit_code_for(const Error& error) {
  switch (error.kind) {
  case ErrorKind::config:
  case ErrorKind::unsupported: return k_exit_usage;
  case ErrorKind::id_mismatch: return k_exit_id_mismatch;
  case ErrorKind::refused: return k_exit_refused;
  case ErrorKind::cancelled: return k_exit_incomplete;
  default: return k_exit_failed;
  }
}

} // namespace offsite::cli
