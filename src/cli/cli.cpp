#include "cli/cli.hpp"

#include <cstdio>
#include <functional>

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"

namespace offsite::cli {
namespace {

// CLI11 reports usage errors with its own codes; BRIEF §2 says 2 for every usage error.
int exit_for_parse_error(CLI::App& app, const CLI::ParseError& error) {
  int code = app.exit(error);
  return code == 0 ? k_exit_success : k_exit_usage;
}

CLI::App* add_name(CLI::App* command, std::string& name) {
  command->add_option("NAME", name, "a repository's name (or its local path, if only one entry has it)")->required();
  return command;
}

} // namespace

int run(int argc, char** argv) {
  CLI::App app{"offsite: keeps an always-consistent offsite copy of backup repositories"};
  app.name("offsite");
  app.require_subcommand(1);
  app.fallthrough();

  GlobalOptions global;
  app.add_option("--config", global.config_path,
                 "the configuration file (default: $OFFSITE_CONFIG, else /etc/offsite/offsite.toml)");

  std::function<int()> action;

  auto* run_cmd = app.add_subcommand("run", "the service: schedules every repository's syncs");
  run_cmd->callback([&] { action = [&] { return cmd_run(global); }; });

  SyncOptions sync;
  auto* sync_cmd = add_name(app.add_subcommand("sync", "sync one repository now, in the foreground"), sync.name);
  sync_cmd->add_flag("--reinitialize", sync.reinitialize, "take the remote folder over (writes this repository's ID)");
  sync_cmd->add_flag("--allow-mass-change", sync.allow_mass_change, "lift the mass-change guards for this run");
  sync_cmd->add_flag("--dry-run", sync.dry_run, "print the plan and write nothing");
  sync_cmd->add_flag("--json", sync.json, "print the result as JSON on stdout");
  sync_cmd->callback([&] { action = [&] { return cmd_sync(global, sync); }; });

  StatusOptions status;
  auto* status_cmd = app.add_subcommand("status", "state, next window and last result per repository");
  status_cmd->add_option("NAME", status.name, "one repository");
  status_cmd->add_flag("--json", status.json, "print JSON on stdout");
  status_cmd->callback([&] { action = [&] { return cmd_status(global, status); }; });

  ForecastOptions forecast;
  auto* forecast_cmd = app.add_subcommand("forecast", "the upcoming sync windows");
  forecast_cmd->add_option("NAME", forecast.name, "one repository");
  forecast_cmd->add_option("--days", forecast.days, "how many days ahead (default 7)")->check(CLI::Range(1, 366));
  forecast_cmd->add_flag("--json", forecast.json, "print JSON on stdout");
  forecast_cmd->callback([&] { action = [&] { return cmd_forecast(global, forecast); }; });

  TestConnectionOptions test_connection;
  auto* test_cmd = add_name(app.add_subcommand("test-connection", "connect, authenticate and probe the target"),
                            test_connection.name);
  auto* accept = test_cmd
                     ->add_option("--accept-host-key", test_connection.accepted_fingerprint,
                                  "trust the server's SSH host key (optionally only the one with this "
                                  "SHA256:… fingerprint)")
                     ->expected(0, 1);
  test_cmd->add_flag("--json", test_connection.json, "print JSON on stdout");
  test_cmd->callback([&, accept] {
    test_connection.accept_host_key = accept->count() > 0;
    action = [&] { return cmd_test_connection(global, test_connection); };
  });

  VerifyOptions verify;
  auto* verify_cmd =
      add_name(app.add_subcommand("verify", "check the remote against its own committed state"), verify.name);
  verify_cmd->add_flag("--deep", verify.deep, "download and hash every file");
  verify_cmd->add_flag("--json", verify.json, "print JSON on stdout");
  verify_cmd->callback([&] { action = [&] { return cmd_verify(global, verify); }; });

  ReinitializeOptions reinitialize;
  auto* reinit_cmd = add_name(
      app.add_subcommand("reinitialize", "write this repository's ID on the remote so the next sync takes it over"),
      reinitialize.name);
  reinit_cmd->add_flag("--adopt-existing", reinitialize.adopt_existing,
                       "also adopt a mirror with no records (a disk seeded by hand)");
  reinit_cmd->callback([&] { action = [&] { return cmd_reinitialize(global, reinitialize); }; });

  RestoreOptions restore;
  auto* restore_cmd =
      add_name(app.add_subcommand("restore", "download the committed state and check every hash"), restore.name);
  restore_cmd->add_option("--to", restore.to, "the directory to restore into")->required();
  restore_cmd->add_option("--folder", restore.folder, "restore only this folder");
  restore_cmd->add_flag("--json", restore.json, "print JSON on stdout");
  restore_cmd->callback([&] { action = [&] { return cmd_restore(global, restore); }; });

  auto* check_cmd = app.add_subcommand("check-config", "validate the configuration and print every problem");
  check_cmd->callback([&] { action = [&] { return cmd_check_config(global); }; });

  BackupOptions backup;
  auto* backup_cmd = add_name(
      app.add_subcommand("backup", "run a backup command while holding a backup lease on the repository"), backup.name);
  backup_cmd->add_flag("--no-wait", backup.no_wait, "exit 75 at once if a sync holds the repository");
  backup_cmd->add_option("CMD", backup.command, "the command and its arguments, after --")->required();
  backup_cmd->callback([&] { action = [&] { return cmd_backup(global, backup); }; });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return exit_for_parse_error(app, error);
  }
  return action ? action() : k_exit_usage;
}

} // namespace offsite::cli
