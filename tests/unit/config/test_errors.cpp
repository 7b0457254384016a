// Bad configs: each must fail with an error at the right line, for the right key, saying what
// is wrong. Lines count from 1; the texts below start with a newline, so their first line is
// empty and `[[repository]]` sits on line 2.

#include "config/load.hpp"

#include <boost/test/unit_test.hpp>

#include "support.hpp"

using namespace offsite::config;
using namespace offsite::config::test;

namespace {

// Lines 2-4 are the repository header, path and folder; `extra` starts on line 5.
std::string repo(std::string_view extra, std::string_view target = k_sftp_target) {
  return "\n[[repository]]\npath = \"/r\"\nfolder = \"f\"\n" + std::string(extra) + std::string(target);
}

// The target header is on line 5, its first key on line 6.
std::string target(std::string_view body) {
  return "\n[[repository]]\npath = \"/r\"\nfolder = \"f\"\n[repository.target]\n" + std::string(body);
}

} // namespace

#define BAD_CONFIG(name, text, line, key, fragment)                                                                    \
  BOOST_AUTO_TEST_CASE(name) { expect_error(text, line, key, fragment); }

BOOST_AUTO_TEST_SUITE(config_errors)

// Syntax and structure
BAD_CONFIG(syntax_error_has_its_position, "[service]\nlog_level = \"info\n", 2, "", "")
BAD_CONFIG(unquoted_time_says_to_quote_it, repo("window = { start = 22:00, end = \"06:00\" }\n"), 5, "", "quoted")
BAD_CONFIG(toml_time_value_says_to_quote_it, repo("window = { start = 22:00:00, end = \"06:00\" }\n"), 5,
           "repository[1].window.start", "quoted string")
BAD_CONFIG(non_ascii_outside_strings,
           "[service]\nlog_level = \"info\" # caf\xc3\xa9 is fine here\n"
           "state_dir = \"/caf\xc3\xa9\" \xc2\xa1\n",
           3, "", "non-ASCII character outside a quoted string")
BAD_CONFIG(non_ascii_after_a_line_ending_backslash, "a = \"\"\"x\\\n  \xc3\xa9\"\"\"\n", 2, "", "non-ASCII")
BAD_CONFIG(unknown_section_suggests_the_right_one, "\n[servce]\n", 2, "servce", "did you mean `service`?")
BAD_CONFIG(single_repository_table_asks_for_array, "\n[repository]\npath = \"/r\"\n", 2, "repository", "[[repository]]")
BAD_CONFIG(unknown_service_key, "[service]\n\nstate_directory = \"/x\"\n", 3, "service.state_directory", "unknown key")
BAD_CONFIG(bad_log_level, "[service]\nlog_level = \"verbose\"\n", 2, "service.log_level", "unknown level \"verbose\"")
BAD_CONFIG(on_failure_wrong_type, "[service]\non_failure = 1\n", 2, "service.on_failure",
           "expected a program path or an array")

// Repository keys
BAD_CONFIG(misspelled_key_suggests_the_right_one, repo("concurency = 4\n"), 5, "repository[1].concurency",
           "did you mean `concurrency`?")
BAD_CONFIG(concurrency_boolean_is_not_an_integer, repo("concurrency = true\n"), 5, "repository[1].concurrency",
           "expected an integer, found a boolean")
BAD_CONFIG(concurrency_string_is_not_an_integer, repo("concurrency = \"4\"\n"), 5, "repository[1].concurrency",
           "expected an integer, found a string")
BAD_CONFIG(concurrency_zero, repo("concurrency = 0\n"), 5, "repository[1].concurrency", "out of range 1..64")
BAD_CONFIG(concurrency_too_high, repo("concurrency = 65\n"), 5, "repository[1].concurrency", "out of range 1..64")
BAD_CONFIG(delete_percent_over_100, repo("max_delete_percent = 101\n"), 5, "repository[1].max_delete_percent",
           "out of range 0..100")
BAD_CONFIG(change_percent_negative, repo("max_change_percent = -1\n"), 5, "repository[1].max_change_percent",
           "out of range 0..100")
BAD_CONFIG(folder_depth_negative, repo("folder_depth = -1\n"), 5, "repository[1].folder_depth", "out of range")
BAD_CONFIG(folder_depth_absurd, repo("folder_depth = 1000\n"), 5, "repository[1].folder_depth", "out of range")
BAD_CONFIG(folder_with_slash, "\n[[repository]]\npath = \"/r\"\nfolder = \"a/b\"\n" + std::string(k_sftp_target), 4,
           "repository[1].folder", "no '/'")
BAD_CONFIG(folder_with_backslash, "\n[[repository]]\npath = \"/r\"\nfolder = 'a\\b'\n" + std::string(k_sftp_target), 4,
           "repository[1].folder", "no '/' or '\\'")
BAD_CONFIG(folder_dot_dot, "\n[[repository]]\npath = \"/r\"\nfolder = \"..\"\n" + std::string(k_sftp_target), 4,
           "repository[1].folder", "'..'")
BAD_CONFIG(folder_empty, "\n[[repository]]\npath = \"/r\"\nfolder = \"\"\n" + std::string(k_sftp_target), 4,
           "repository[1].folder", "empty")
BAD_CONFIG(folder_missing, "\n[[repository]]\npath = \"/r\"\n" + std::string(k_sftp_target), 2, "repository[1].folder",
           "required key is missing")
BAD_CONFIG(path_missing, "\n[[repository]]\nfolder = \"f\"\n" + std::string(k_sftp_target), 2, "repository[1].path",
           "required key is missing")
BAD_CONFIG(target_missing, "\n[[repository]]\npath = \"/r\"\nfolder = \"f\"\n", 2, "repository[1].target",
           "required key is missing")
BAD_CONFIG(chunk_size_not_a_size, repo("chunk_size = \"16 megs\"\n"), 5, "repository[1].chunk_size",
           "\"16 megs\" is not a size")
BAD_CONFIG(chunk_size_too_small, repo("chunk_size = \"32KiB\"\n"), 5, "repository[1].chunk_size", "64 KiB to 4 GiB")
BAD_CONFIG(chunk_size_too_large, repo("chunk_size = \"8GiB\"\n"), 5, "repository[1].chunk_size", "64 KiB to 4 GiB")
BAD_CONFIG(chunk_size_negative, repo("chunk_size = -1\n"), 5, "repository[1].chunk_size", "negative")
BAD_CONFIG(bandwidth_limit_not_a_rate, repo("bandwidth_limit = \"fast\"\n"), 5, "repository[1].bandwidth_limit",
           "not a rate")
BAD_CONFIG(retry_budget_negative, repo("retry_budget = \"-5m\"\n"), 5, "repository[1].retry_budget", "not a duration")
BAD_CONFIG(retry_budget_boolean, repo("retry_budget = true\n"), 5, "repository[1].retry_budget", "expected a duration")
BAD_CONFIG(window_bad_time, repo("window = { start = \"25:00\", end = \"06:00\" }\n"), 5, "repository[1].window.start",
           "not a time of day")
BAD_CONFIG(window_without_end, repo("window = { start = \"22:00\" }\n"), 5, "repository[1].window.end",
           "both `start` and `end`")
BAD_CONFIG(window_as_string, repo("window = \"22:00-06:00\"\n"), 5, "repository[1].window", "expected a table")
BAD_CONFIG(unknown_window_key, repo("window = { start = \"22:00\", stop = \"06:00\" }\n"), 5,
           "repository[1].window.stop", "unknown key")
BAD_CONFIG(unknown_day, repo("days = [\"mon\", \"funday\"]\n"), 5, "repository[1].days[2]", "unknown day \"funday\"")
BAD_CONFIG(no_days, repo("days = []\n"), 5, "repository[1].days", "never sync")
BAD_CONFIG(bad_exclude_pattern, repo("exclude = [\"*.tmp\", \"x[ab\"]\n"), 5, "repository[1].exclude[2]",
           "unclosed '['")
BAD_CONFIG(exclude_not_an_array, repo("exclude = \"*.tmp\"\n"), 5, "repository[1].exclude",
           "expected an array of strings")
BAD_CONFIG(pre_sync_command_empty_program, repo("pre_sync_command = [\"\", \"x\"]\n"), 5,
           "repository[1].pre_sync_command", "empty")
BAD_CONFIG(boolean_as_string, repo("per_folder_upload = \"yes\"\n"), 5, "repository[1].per_folder_upload",
           "expected a boolean")

// Across repositories
BAD_CONFIG(duplicate_names,
           "\n[[repository]]\nname = \"A\"\npath = \"/r\"\nfolder = \"f\"\n" + std::string(k_sftp_target) +
               "[[repository]]\nname = \"A\"\npath = \"/r\"\nfolder = \"g\"\n" + std::string(k_sftp_target),
           14, "repository[2].name", "already used by repository[1] (line 2)")
BAD_CONFIG(two_entries_with_the_same_target_and_folder,
           "\n[[repository]]\npath = \"/r\"\nfolder = \"f\"\ntarget = { type = \"local\", path = \"/mnt/usb\" }\n"
           "[[repository]]\nname = \"other\"\npath = \"/s\"\nfolder = \"f\"\ntarget = { type = \"local\", path = "
           "\"/mnt/usb/\" }\n",
           9, "repository[2].folder", "overwrite")
BAD_CONFIG(default_names_collide_through_location,
           "\n[[repository]]\npath = \"/r\"\nfolder = \"f\"\ntarget = { type = \"sftp\", host = \"NAS\", path = "
           "\"/x\", username = \"u\", password = \"p\" }\n"
           "[[repository]]\npath = \"/s\"\nfolder = \"f\"\ntarget = { type = \"sftp\", host = \"nas\", path = "
           "\"/x/\", username = \"u\", password = \"p\" }\n",
           8, "repository[2].folder", "would overwrite each other")

// Targets
BAD_CONFIG(target_type_missing, target("host = \"h\"\n"), 5, "repository[1].target.type", "required key is missing")
BAD_CONFIG(target_type_unknown_lists_the_types, target("type = \"nfs\"\n"), 6, "repository[1].target.type",
           "the types are local, smb, sftp, ftp, ftps, s3")
BAD_CONFIG(target_type_typo_suggests, target("type = \"sfpt\"\n"), 6, "repository[1].target.type",
           "did you mean `sftp`?")
BAD_CONFIG(key_of_another_target_type,
           target("type = \"sftp\"\nhost = \"h\"\npath = \"/p\"\nusername = \"u\"\npassword = \"p\"\nbucket = \"b\"\n"),
           11, "repository[1].target.bucket", "a key of s3 targets, not of sftp ones")
BAD_CONFIG(tls_on_plain_ftp, target("type = \"ftp\"\nhost = \"h\"\npath = \"/p\"\ntls = \"explicit\"\n"), 9,
           "repository[1].target.tls", "a key of ftps targets")
BAD_CONFIG(ftps_bad_tls, target("type = \"ftps\"\nhost = \"h\"\npath = \"/p\"\ntls = \"starttls\"\n"), 9,
           "repository[1].target.tls", "\"explicit\" or \"implicit\"")
BAD_CONFIG(local_without_path, target("type = \"local\"\n"), 5, "repository[1].target.path", "required key is missing")
BAD_CONFIG(sftp_without_host, target("type = \"sftp\"\npath = \"/p\"\nusername = \"u\"\npassword = \"p\"\n"), 5,
           "repository[1].target.host", "required key is missing")
BAD_CONFIG(sftp_without_credentials, target("type = \"sftp\"\nhost = \"h\"\npath = \"/p\"\nusername = \"u\"\n"), 5,
           "repository[1].target.password", "`password` or `private_key`")
BAD_CONFIG(sftp_relative_path,
           target("type = \"sftp\"\nhost = \"h\"\npath = \"srv\"\nusername = \"u\"\npassword = \"p\"\n"), 8,
           "repository[1].target.path", "absolute")
BAD_CONFIG(sftp_port_out_of_range,
           target("type = \"sftp\"\nhost = \"h\"\nport = 70000\npath = \"/p\"\nusername = \"u\"\npassword = \"p\"\n"),
           8, "repository[1].target.port", "out of range 1..65535")
BAD_CONFIG(sftp_port_in_host,
           target("type = \"sftp\"\nhost = \"nas:2222\"\npath = \"/p\"\nusername = \"u\"\npassword = \"p\"\n"), 7,
           "repository[1].target.host", "put the port in `port`")
BAD_CONFIG(sftp_passphrase_without_key,
           target("type = \"sftp\"\nhost = \"h\"\npath = \"/p\"\nusername = \"u\"\npassword = \"p\"\n"
                  "private_key_passphrase = \"x\"\n"),
           11, "repository[1].target.private_key_passphrase", "needs a `private_key`")
BAD_CONFIG(smb_domain_given_twice,
           target("type = \"smb\"\nshare = '\\\\srv\\share'\nusername = 'CORP\\backup'\ndomain = \"CORP\"\n"), 9,
           "repository[1].target.domain", "already names the domain")
BAD_CONFIG(smb_share_not_unc, target("type = \"smb\"\nshare = \"srv/share\"\n"), 7, "repository[1].target.share", "UNC")
BAD_CONFIG(s3_chunk_size_under_5_mib,
           repo("chunk_size = \"1MiB\"\n", "target = { type = \"s3\", bucket = \"b\", region = \"r\" }\n"), 5,
           "repository[1].chunk_size", "too small for S3")
BAD_CONFIG(s3_without_region_or_endpoint, target("type = \"s3\"\nbucket = \"b\"\n"), 5, "repository[1].target.region",
           "region")
BAD_CONFIG(s3_key_id_without_secret,
           target("type = \"s3\"\nbucket = \"b\"\nregion = \"r\"\naccess_key_id = \"AKID\"\n"), 5,
           "repository[1].target.secret_access_key", "required key is missing")
BAD_CONFIG(s3_bad_url_style, target("type = \"s3\"\nbucket = \"b\"\nregion = \"r\"\nurl_style = \"dns\"\n"), 9,
           "repository[1].target.url_style", "\"virtual\" or \"path\"")
BAD_CONFIG(s3_endpoint_without_scheme, target("type = \"s3\"\nbucket = \"b\"\nendpoint = \"s3.example.com\"\n"), 8,
           "repository[1].target.endpoint", "expected a URL")
BAD_CONFIG(s3_bucket_with_slash, target("type = \"s3\"\nbucket = \"b/prefix\"\nregion = \"r\"\n"), 7,
           "repository[1].target.bucket", "put the path in `prefix`")
BAD_CONFIG(secret_given_twice,
           target("type = \"sftp\"\nhost = \"h\"\npath = \"/p\"\nusername = \"u\"\npassword = \"p\"\n"
                  "password_env = \"X\"\n"),
           11, "repository[1].target.password_env", "give the secret once")
BAD_CONFIG(secret_of_wrong_type,
           target("type = \"sftp\"\nhost = \"h\"\npath = \"/p\"\nusername = \"u\"\npassword = 1234\n"), 10,
           "repository[1].target.password", "expected a string, found an integer")
BAD_CONFIG(second_repository_counts_from_one,
           repo("") + "[[repository]]\npath = \"/s\"\nfolder = \"g\"\nconcurrency = 100\n" + std::string(k_sftp_target),
           15, "repository[2].concurrency", "out of range")

BOOST_AUTO_TEST_CASE(all_problems_are_reported_at_once_in_file_order) {
  auto result = load(repo("concurrency = 0\nchunk_size = \"x\"\nfolder_depth = -1\n"));
  BOOST_TEST_REQUIRE(result.errors.size() == 3u, all_errors(result));
  BOOST_TEST(result.errors[0].line == 5);
  BOOST_TEST(result.errors[1].line == 6);
  BOOST_TEST(result.errors[2].line == 7);
  BOOST_TEST(!result.config.has_value());
}

BOOST_AUTO_TEST_CASE(diagnostic_format) {
  Diagnostic with_key{"offsite.toml", 12, 5, "repository[2].target.port", "out of range 1..65535"};
  BOOST_TEST(with_key.to_string() == "offsite.toml:12:5: repository[2].target.port: out of range 1..65535");
  Diagnostic without_key{"offsite.toml", 3, 1, "", "expected '='"};
  BOOST_TEST(without_key.to_string() == "offsite.toml:3:1: expected '='");
  Diagnostic without_position{"/etc/offsite/offsite.toml", 0, 0, "", "cannot open"};
  BOOST_TEST(without_position.to_string() == "/etc/offsite/offsite.toml: cannot open");
}

BOOST_AUTO_TEST_CASE(unreadable_file_is_one_error) {
  auto result = load_config_file("/nonexistent/offsite.toml");
  BOOST_TEST_REQUIRE(result.errors.size() == 1u);
  BOOST_TEST(result.errors[0].file == "/nonexistent/offsite.toml");
  BOOST_TEST(!result.ok());
}

BOOST_AUTO_TEST_SUITE_END()
