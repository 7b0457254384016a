#pragma once
// `offsite test-connection` (BRIEF §2): what a configuration wizard's test does. Connects, then
// exercises in the remote folder every operation a sync relies on, on a probe of its own under
// `.offsite/probe-<uuid>/` that is always removed, and reads the remote ID.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <asio/awaitable.hpp>

#include "sync/remote_id.hpp"
#include "target/host_key_trust.hpp"
#include "target/target.hpp"

namespace offsite::sync {

// Kept here under its old name for the CLI; the SFTP target's factory reads it.
using HostKeyTrust = target::HostKeyTrust;

enum class StepStatus { ok, failed, skipped };
std::string_view to_string(StepStatus status);

struct ProbeStep {
  std::string name; // "connect", "create and write", "rename", …
  StepStatus status = StepStatus::ok;
  std::string remote; // the path it worked on, as describe() spells it
  std::string error;  // when failed; skipped steps say why
};

struct ProbeReport {
  std::string target; // describe()
  std::vector<ProbeStep> steps;
  std::optional<target::Capabilities> capabilities; // once connected
  std::optional<std::uint64_t> free_space;          // where the target reports it
  std::optional<RemoteId> remote_id;                // once read
  // Uploads under the folder left unfinished by something else (S3 multipart uploads, billed
  // while invisible); the next sync's recovery discards them.
  std::vector<std::string> unfinished_uploads;

  bool steps_ok() const;
  // The remote ID belongs to another repository (exit 3).
  bool foreign() const { return remote_id && remote_id->state == RemoteIdState::foreign; }
};

// Never throws for a failing step: every step is in the report. `local_id` is this repository's
// ID (nullopt: it has none yet, so any remote ID is another repository's). Creates the folder if
// missing (make_directory("")), and leaves nothing else behind: the probe directory, and
// `.offsite/` when the probe created it, are removed even when a step failed.
asio::awaitable<ProbeReport> probe_target(target::Target& target, std::optional<std::string> local_id);

} // namespace offsite::sync
