#pragma once
// The options of each command (BRIEF §2), filled by cli.cpp, and the function that runs it.
// One file per command (restic's layout): cmd_<command>.cpp.

#include <optional>
#include <string>
#include <vector>

namespace offsite::cli {

struct GlobalOptions {
  std::string config_path; // --config; else $OFFSITE_CONFIG; else /etc/offsite/offsite.toml
};

struct SyncOptions {
  std::string name;
  bool reinitialize = false;
  bool allow_mass_change = false;
  bool dry_run = false;
  bool json = false;
};

struct StatusOptions {
  std::optional<std::string> name;
  bool json = false;
};

struct ForecastOptions {
  std::optional<std::string> name;
  int days = 7;
  bool json = false;
};

struct TestConnectionOptions {
  std::string name;
  bool accept_host_key = false;
  std::string accepted_fingerprint; // "SHA256:…" when --accept-host-key=… pins one key
  bool json = false;
};

struct VerifyOptions {
  std::string name;
  bool deep = false;
  bool json = false;
};

struct ReinitializeOptions {
  std::string name;
  bool adopt_existing = false;
};

struct RestoreOptions {
  std::string name;
  std::string to;
  std::optional<std::string> folder;
  bool json = false;
};

struct BackupOptions {
  std::string name;
  bool no_wait = false;
  std::vector<std::string> command;
};

int cmd_check_config(const GlobalOptions& global);
int cmd_run(const GlobalOptions& global);
int cmd_backup(const GlobalOptions& global, const BackupOptions& options);
int cmd_sync(const GlobalOptions& global, const SyncOptions& options);
int cmd_verify(const GlobalOptions& global, const VerifyOptions& options);
int cmd_restore(const GlobalOptions& global, const RestoreOptions& options);
int cmd_reinitialize(const GlobalOptions& global, const ReinitializeOptions& options);
int cmd_test_connection(const GlobalOptions& global, const TestConnectionOptions& options);
int cmd_status(const GlobalOptions& global, const StatusOptions& options);
int cmd_forecast(const GlobalOptions& global, const ForecastOptions& options);
// A command whose issue has not landed yet: says so and exits 2 (BRIEF §2).
int cmd_not_available(const GlobalOptions& global, std::string_view command, std::string_view landing_with);

} // namespace offsite::cli
