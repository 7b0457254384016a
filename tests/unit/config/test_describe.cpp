#include "config/load.hpp"

#include <boost/test/unit_test.hpp>

#include "support.hpp"

using namespace offsite::config;
using namespace offsite::config::test;

namespace {

TargetConfig target_of(std::string type, decltype(TargetConfig::settings) settings) {
  return TargetConfig{std::move(type), std::move(settings)};
}

} // namespace

BOOST_AUTO_TEST_SUITE(config_describe)

BOOST_AUTO_TEST_CASE(target_locations) {
  BOOST_TEST(describe_target(target_of("local", LocalTarget{"/mnt/usb/offsite"})) == "/mnt/usb/offsite");
  SftpTarget sftp;
  sftp.host = "nas.example";
  sftp.path = "/srv/offsite";
  sftp.username = "backup";
  sftp.password = Secret("pw");
  BOOST_TEST(describe_target(target_of("sftp", sftp)) == "sftp://backup@nas.example:22/srv/offsite");
  sftp.host = "fe80::1";
  BOOST_TEST(describe_target(target_of("sftp", sftp)) == "sftp://backup@[fe80::1]:22/srv/offsite");
  S3Target s3;
  s3.bucket = "bucket";
  s3.prefix = "prefix";
  BOOST_TEST(describe_target(target_of("s3", s3)) == "s3://bucket/prefix");
  s3.endpoint = "https://endpoint";
  BOOST_TEST(describe_target(target_of("s3", s3)) == "s3://bucket/prefix (https://endpoint)");
  s3.prefix.clear();
  BOOST_TEST(describe_target(target_of("s3", s3)) == "s3://bucket (https://endpoint)");
  SmbTarget smb;
  smb.server = "server";
  smb.share = "share";
  smb.path = "path";
  BOOST_TEST(describe_target(target_of("smb", smb)) == "smb://server/share/path");
  FtpTarget ftp;
  ftp.host = "host";
  ftp.username = "user";
  ftp.path = "/path";
  ftp.tls = FtpTls::explicit_tls;
  BOOST_TEST(describe_target(target_of("ftps", ftp)) == "ftps://user@host:21/path");
  ftp.tls = FtpTls::none;
  ftp.username.clear();
  ftp.path = "rel";
  BOOST_TEST(describe_target(target_of("ftp", ftp)) == "ftp://host:21/rel");
}

BOOST_AUTO_TEST_CASE(default_names_are_the_destination) {
  auto result = load(R"(
[[repository]]
path = "/r"
folder = "Site1"
target = { type = "s3", bucket = "b", prefix = "p/", endpoint = "https://s3.example" }
[[repository]]
path = "/r"
folder = "Site1"
target = { type = "ftp", host = "ftp.example", path = "backups/" }
)");
  BOOST_TEST_REQUIRE(result.ok(), all_errors(result));
  BOOST_TEST(result.config->repositories[0].name == "s3://b/p/Site1 (https://s3.example)");
  BOOST_TEST(result.config->repositories[1].name == "ftp://ftp.example:21/backups/Site1");
}

BOOST_AUTO_TEST_CASE(days_and_windows) {
  BOOST_TEST(describe_days(k_every_day) == "every day");
  BOOST_TEST(describe_days({true, true, true, true, true, false, false}) == "mon-fri");
  BOOST_TEST(describe_days({true, false, true, false, false, true, false}) == "mon,wed,sat");
  BOOST_TEST(describe_days({true, true, false, false, false, true, true}) == "mon,tue,sat,sun");
  BOOST_TEST(describe_window(Window{}) == "all day");
  BOOST_TEST(describe_window(Window{22 * 60, 6 * 60}) == "22:00-06:00");
}

BOOST_AUTO_TEST_CASE(summary_line) {
  auto result = load(R"(
[[repository]]
name = "Main site"
path = "/srv/backups/main"
folder = "SiteManager1"
window = { start = "22:00", end = "06:00" }
days = ["mon", "tue", "wed", "thu", "fri"]
target = { type = "s3", bucket = "b", prefix = "p", endpoint = "http://127.0.0.1:9000" }
)");
  BOOST_TEST_REQUIRE(result.ok(), all_errors(result));
  BOOST_TEST(summarize(result.config->repositories[0]) ==
             "\"Main site\": /srv/backups/main -> s3://b/p/SiteManager1 (http://127.0.0.1:9000); window "
             "22:00-06:00, mon-fri; commits per folder (depth 2)");
}

BOOST_AUTO_TEST_CASE(find_by_name_or_unique_path) {
  auto result = load(R"(
[[repository]]
name = "usb"
path = "/srv/backups/main"
folder = "f"
target = { type = "local", path = "/mnt/usb" }
[[repository]]
name = "cloud"
path = "/srv/backups/main"
folder = "f"
target = { type = "s3", bucket = "b", region = "r" }
[[repository]]
name = "other"
path = "/srv/backups/other"
folder = "g"
target = { type = "local", path = "/mnt/usb" }
)");
  BOOST_TEST_REQUIRE(result.ok(), all_errors(result));
  const Config& config = *result.config;
  auto usb = find_repository(config, "usb");
  BOOST_TEST_REQUIRE(usb.has_value());
  BOOST_TEST((*usb)->name == "usb");
  auto other = find_repository(config, "/srv/backups/other/");
  BOOST_TEST_REQUIRE(other.has_value());
  BOOST_TEST((*other)->name == "other");
  auto shared = find_repository(config, "/srv/backups/main");
  BOOST_TEST_REQUIRE(!shared.has_value());
  BOOST_TEST((shared.error().kind == offsite::ErrorKind::config));
  BOOST_TEST(shared.error().message.find("\"usb\", \"cloud\"") != std::string::npos);
  auto missing = find_repository(config, "nope");
  BOOST_TEST_REQUIRE(!missing.has_value());
  BOOST_TEST(missing.error().message.find("no repository is named \"nope\"") != std::string::npos);
  BOOST_TEST(missing.error().message.find("\"usb\", \"cloud\", \"other\"") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
