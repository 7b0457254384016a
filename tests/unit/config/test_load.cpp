#include "config/load.hpp"

#include <boost/test/unit_test.hpp>

#include "support.hpp"

using namespace offsite::config;
using namespace offsite::config::test;
using namespace std::chrono_literals;

namespace {

const Repository& only_repository(const LoadResult& result) { // `result` must outlive the reference
  BOOST_TEST_REQUIRE(result.ok(), all_errors(result));
  BOOST_TEST_REQUIRE(result.config->repositories.size() == 1u);
  return result.config->repositories.front();
}

} // namespace

BOOST_AUTO_TEST_SUITE(config_load)

BOOST_AUTO_TEST_CASE(empty_file_is_a_config_with_defaults) {
  LoadResult result = load("");
  BOOST_TEST_REQUIRE(result.ok());
  BOOST_TEST(result.config->service.state_dir == "/var/lib/offsite");
  BOOST_TEST((result.config->service.log_level == offsite::log::Level::info));
  BOOST_TEST(result.config->service.metrics_file.empty());
  BOOST_TEST(result.config->service.on_failure.empty());
  BOOST_TEST(result.config->repositories.empty());
}

BOOST_AUTO_TEST_CASE(service_section) {
  LoadResult result = load(R"(
[service]
state_dir = "/var/tmp/offsite"
log_level = "debug"
metrics_file = "/var/lib/node_exporter/offsite.prom"
on_failure = "/usr/local/bin/notify-admin"
)");
  BOOST_TEST_REQUIRE(result.ok(), all_errors(result));
  const Service& service = result.config->service;
  BOOST_TEST(service.state_dir == "/var/tmp/offsite");
  BOOST_TEST((service.log_level == offsite::log::Level::debug));
  BOOST_TEST(service.metrics_file == "/var/lib/node_exporter/offsite.prom");
  BOOST_TEST(service.on_failure == std::vector<std::string>{"/usr/local/bin/notify-admin"});
  result = load("[service]\non_failure = [\"/usr/bin/mail\", \"-s\", \"offsite failed\", \"root\"]\n");
  BOOST_TEST_REQUIRE(result.ok(), all_errors(result));
  BOOST_TEST(result.config->service.on_failure.size() == 4u);
}

BOOST_AUTO_TEST_CASE(repository_defaults) {
  auto result = load(R"(
[[repository]]
path = "/srv/backups/main"
folder = "SiteManager1"
  [repository.target]
  type = "local"
  path = "/mnt/usb/offsite"
)");
  const Repository& repository = only_repository(result);
  BOOST_TEST(repository.name == "/mnt/usb/offsite/SiteManager1");
  BOOST_TEST(repository.path == "/srv/backups/main");
  BOOST_TEST(repository.folder == "SiteManager1");
  BOOST_TEST(repository.window.all_day());
  BOOST_TEST((repository.days == k_every_day));
  BOOST_TEST(!repository.allow_backups_during_sync);
  BOOST_TEST(repository.per_folder_upload);
  BOOST_TEST(repository.folder_depth == 2);
  BOOST_TEST(repository.exclude.empty());
  BOOST_TEST(repository.concurrency == 4);
  BOOST_TEST(repository.chunk_size == 16u * 1024 * 1024);
  BOOST_TEST(repository.bandwidth_limit == 0u);
  BOOST_TEST((repository.retry_budget == 600s));
  BOOST_TEST(!repository.stop_at_window_end);
  BOOST_TEST(repository.max_delete_percent == 50);
  BOOST_TEST(repository.max_change_percent == 50);
  BOOST_TEST(repository.pre_sync_command.empty());
  BOOST_TEST(repository.post_sync_command.empty());
  BOOST_TEST(repository.target.type == "local");
  BOOST_TEST(std::get<LocalTarget>(repository.target.settings).path == "/mnt/usb/offsite");
  BOOST_TEST(repository.location.line == 2);
  BOOST_TEST(repository.location.file == "test.toml");
}

BOOST_AUTO_TEST_CASE(every_repository_key) {
  auto result = load(R"(
[[repository]]
path = "/srv/backups/main/"
name = "Main site"
folder = "SiteManager1"
window = { start = "22:00", end = "06:00" }
days = ["mon", "Tue", "WEDNESDAY", "thu", "fri"]
allow_backups_during_sync = true
per_folder_upload = false
folder_depth = 3
exclude = ["*.tmp", "PC-0001/Old/**"]
concurrency = 8
chunk_size = "32MiB"
bandwidth_limit = "20MiB/s"
retry_budget = "1h30m"
stop_at_window_end = true
max_delete_percent = 100
max_change_percent = 0
pre_sync_command = ["/usr/local/bin/pre", "--quiet"]
post_sync_command = "/usr/local/bin/post"
)" + std::string(k_sftp_target));
  const Repository& repository = only_repository(result);
  BOOST_TEST(repository.name == "Main site");
  BOOST_TEST(repository.path == "/srv/backups/main");
  BOOST_TEST(*repository.window.start_minute == 22 * 60);
  BOOST_TEST(*repository.window.end_minute == 6 * 60);
  BOOST_TEST((repository.days == Days{true, true, true, true, true, false, false}));
  BOOST_TEST(repository.allow_backups_during_sync);
  BOOST_TEST(!repository.per_folder_upload);
  BOOST_TEST(repository.folder_depth == 3);
  BOOST_TEST(repository.exclude.size() == 2u);
  BOOST_TEST(repository.concurrency == 8);
  BOOST_TEST(repository.chunk_size == 32u * 1024 * 1024);
  BOOST_TEST(repository.bandwidth_limit == 20u * 1024 * 1024);
  BOOST_TEST((repository.retry_budget == 5400s));
  BOOST_TEST(repository.stop_at_window_end);
  BOOST_TEST(repository.max_delete_percent == 100);
  BOOST_TEST(repository.max_change_percent == 0);
  BOOST_TEST(repository.pre_sync_command == (std::vector<std::string>{"/usr/local/bin/pre", "--quiet"}));
  BOOST_TEST(repository.post_sync_command == std::vector<std::string>{"/usr/local/bin/post"});
}

BOOST_AUTO_TEST_CASE(integer_sizes_and_durations) {
  auto result = load(R"(
[[repository]]
path = "/r"
folder = "f"
chunk_size = 1048576
bandwidth_limit = 0
retry_budget = 30
)" + std::string(k_sftp_target));
  const Repository& repository = only_repository(result);
  BOOST_TEST(repository.chunk_size == 1048576u);
  BOOST_TEST((repository.retry_budget == 30s));
}

BOOST_AUTO_TEST_CASE(smb_target) {
  auto result = load(R"(
[[repository]]
path = "/r"
folder = "f"
  [repository.target]
  type = "smb"
  share = '\\fileserver\offsite\copies\site1'
  username = 'CORP\backup'
  password = "pw"
)");
  const Repository& repository = only_repository(result);
  const auto& smb = std::get<SmbTarget>(repository.target.settings);
  BOOST_TEST(smb.server == "fileserver");
  BOOST_TEST(smb.share == "offsite");
  BOOST_TEST(smb.path == "copies/site1");
  BOOST_TEST(smb.username == "backup");
  BOOST_TEST(smb.domain == "CORP");
  BOOST_TEST(smb.password.reveal() == "pw");
  BOOST_TEST(smb.port == 445);
  BOOST_TEST(repository.name == "smb://fileserver/offsite/copies/site1/f");
}

BOOST_AUTO_TEST_CASE(smb_user_at_domain_and_separate_domain) {
  auto result = load(R"(
[[repository]]
path = "/r"
folder = "f"
target = { type = "smb", share = '\\srv\share', username = "backup@corp.example", port = 1445 }
[[repository]]
path = "/r"
folder = "g"
target = { type = "smb", share = "//srv/share", username = "backup", domain = "CORP" }
)");
  BOOST_TEST_REQUIRE(result.ok(), all_errors(result));
  const auto& first = std::get<SmbTarget>(result.config->repositories[0].target.settings);
  BOOST_TEST(first.username == "backup");
  BOOST_TEST(first.domain == "corp.example");
  BOOST_TEST(first.path == "");
  BOOST_TEST(first.port == 1445);
  const auto& second = std::get<SmbTarget>(result.config->repositories[1].target.settings);
  BOOST_TEST(second.domain == "CORP");
  BOOST_TEST(second.share == "share");
}

BOOST_AUTO_TEST_CASE(sftp_target_defaults) {
  auto result = load(R"(
[service]
state_dir = "/var/lib/offsite-test"
[[repository]]
path = "/r"
folder = "f"
  [repository.target]
  type = "sftp"
  host = "nas.example"
  path = "/srv/offsite"
  username = "backup"
  private_key = "/etc/offsite/id_ed25519"
  private_key_passphrase = "phrase"
)");
  const Repository& repository = only_repository(result);
  const auto& sftp = std::get<SftpTarget>(repository.target.settings);
  BOOST_TEST(sftp.host == "nas.example");
  BOOST_TEST(sftp.port == 22);
  BOOST_TEST(sftp.path == "/srv/offsite");
  BOOST_TEST(sftp.username == "backup");
  BOOST_TEST(sftp.password.empty());
  BOOST_TEST(sftp.private_key == "/etc/offsite/id_ed25519");
  BOOST_TEST(sftp.private_key_passphrase.reveal() == "phrase");
  BOOST_TEST(sftp.known_hosts == "/var/lib/offsite-test/known_hosts");
  BOOST_TEST(repository.name == "sftp://backup@nas.example:22/srv/offsite/f");
}

BOOST_AUTO_TEST_CASE(ftp_and_ftps_targets) {
  auto result = load(R"(
[[repository]]
path = "/r"
folder = "a"
target = { type = "ftp", host = "ftp.example", path = "/backups", username = "u", password = "p" }
[[repository]]
path = "/r"
folder = "b"
target = { type = "ftps", host = "ftp.example", path = "/backups", username = "u", password = "p" }
[[repository]]
path = "/r"
folder = "c"
target = { type = "ftps", host = "ftp.example", path = "/backups", tls = "implicit", ca_file = "/etc/ca.pem" }
)");
  BOOST_TEST_REQUIRE(result.ok(), all_errors(result));
  const auto& ftp = std::get<FtpTarget>(result.config->repositories[0].target.settings);
  BOOST_TEST((ftp.tls == FtpTls::none));
  BOOST_TEST(ftp.port == 21);
  const auto& explicit_tls = std::get<FtpTarget>(result.config->repositories[1].target.settings);
  BOOST_TEST((explicit_tls.tls == FtpTls::explicit_tls));
  BOOST_TEST(explicit_tls.port == 21);
  const auto& implicit_tls = std::get<FtpTarget>(result.config->repositories[2].target.settings);
  BOOST_TEST((implicit_tls.tls == FtpTls::implicit_tls));
  BOOST_TEST(implicit_tls.port == 990);
  BOOST_TEST(implicit_tls.ca_file == "/etc/ca.pem");
  BOOST_TEST(implicit_tls.username.empty());
}

BOOST_AUTO_TEST_CASE(s3_target_url_style_and_region_defaults) {
  auto result = load(R"(
[[repository]]
path = "/r"
folder = "a"
target = { type = "s3", bucket = "backups", region = "eu-west-1" }
[[repository]]
path = "/r"
folder = "b"
  [repository.target]
  type = "s3"
  bucket = "backups"
  prefix = "/offsite/site1/"
  endpoint = "http://127.0.0.1:9000/"
  access_key_id = "AKIDEXAMPLE"
  secret_access_key = "wJalrXUtnFEMI"
  session_token = "token"
  storage_class = "STANDARD_IA"
  server_side_encryption = "AES256"
[[repository]]
path = "/r"
folder = "c"
target = { type = "s3", bucket = "b", endpoint = "https://s3.example", url_style = "virtual", region = "x" }
)");
  BOOST_TEST_REQUIRE(result.ok(), all_errors(result));
  const auto& aws = std::get<S3Target>(result.config->repositories[0].target.settings);
  BOOST_TEST((aws.url_style == S3UrlStyle::virtual_hosted));
  BOOST_TEST(aws.region == "eu-west-1");
  BOOST_TEST(aws.endpoint.empty());
  BOOST_TEST(aws.prefix.empty());
  const auto& custom = std::get<S3Target>(result.config->repositories[1].target.settings);
  BOOST_TEST((custom.url_style == S3UrlStyle::path));
  BOOST_TEST(custom.region == "us-east-1");
  BOOST_TEST(custom.endpoint == "http://127.0.0.1:9000");
  BOOST_TEST(custom.prefix == "offsite/site1");
  BOOST_TEST(custom.access_key_id == "AKIDEXAMPLE");
  BOOST_TEST(custom.secret_access_key.reveal() == "wJalrXUtnFEMI");
  BOOST_TEST(custom.session_token.reveal() == "token");
  BOOST_TEST(custom.storage_class == "STANDARD_IA");
  BOOST_TEST(custom.server_side_encryption == "AES256");
  const auto& forced = std::get<S3Target>(result.config->repositories[2].target.settings);
  BOOST_TEST((forced.url_style == S3UrlStyle::virtual_hosted));
}

BOOST_AUTO_TEST_CASE(same_path_with_two_targets_is_fine) {
  auto result = load(R"(
[[repository]]
path = "/srv/backups/main"
folder = "f"
target = { type = "local", path = "/mnt/usb" }
[[repository]]
path = "/srv/backups/main"
folder = "f"
target = { type = "s3", bucket = "b", region = "eu-west-1" }
)");
  BOOST_TEST(result.ok(), all_errors(result));
}

BOOST_AUTO_TEST_CASE(relative_paths_resolve_against_the_config_directory) {
  auto result = load_config_file(std::filesystem::path(OFFSITE_TEST_DATA_DIR) / "relative.toml");
  const Repository& repository = only_repository(result);
  BOOST_TEST(repository.path == std::filesystem::path(OFFSITE_TEST_DATA_DIR) / "repo");
  BOOST_TEST(std::get<LocalTarget>(repository.target.settings).path ==
             std::filesystem::path(OFFSITE_TEST_DATA_DIR) / "mirror");
}

BOOST_AUTO_TEST_CASE(the_installed_template_loads_without_errors) {
  auto result = load_config_file(std::filesystem::path(OFFSITE_SOURCE_DIR) / "config" / "offsite.toml");
  BOOST_TEST(result.errors.empty(), all_errors(result));
  BOOST_TEST(result.ok());
  BOOST_TEST(result.warnings.empty());
}

BOOST_AUTO_TEST_CASE(non_ascii_text_in_strings_and_comments) {
  auto result =
      load("# Z\xc3\xbcrich \xc2\xa1\n[[repository]]\nname = \"Z\xc3\xbcrich \xe2\x80\x94 \xc3\x9f\"\n"
           "path = '/srv/caf\xc3\xa9'\nfolder = \"f\"\nexclude = [\n  \"\xc3\xa9*\", # \xc2\xa1\n  '\xc3\xa9'\n]\n"
           "target = { type = \"local\", path = \"\"\"/mnt/\xc3\xa9\"\"\" }\n");
  BOOST_TEST_REQUIRE(result.ok(), all_errors(result));
  BOOST_TEST(result.config->repositories[0].name == "Z\xc3\xbcrich \xe2\x80\x94 \xc3\x9f");
}

BOOST_AUTO_TEST_CASE(stop_at_window_end_without_window_warns) {
  auto result =
      load("[[repository]]\npath = \"/r\"\nfolder = \"f\"\nstop_at_window_end = true\n" + std::string(k_sftp_target));
  BOOST_TEST_REQUIRE(result.ok(), all_errors(result));
  BOOST_TEST_REQUIRE(result.warnings.size() == 1u);
  BOOST_TEST(result.warnings[0].line == 4);
  BOOST_TEST(result.warnings[0].key == "repository[1].stop_at_window_end");
}

BOOST_AUTO_TEST_SUITE_END()
