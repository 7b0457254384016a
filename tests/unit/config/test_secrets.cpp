#include "config/secrets.hpp"

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

#include <fmt/format.h>

#include "config/load.hpp"
#include "support.hpp"
#include "support/temp_dir.hpp"

using namespace offsite::config;
using namespace offsite::config::test;

namespace {

void write(const std::filesystem::path& path, std::string_view content, unsigned mode) {
  std::ofstream(path) << content;
  ::chmod(path.c_str(), mode);
}

std::string sftp_config(std::string_view password_line) {
  return fmt::format(R"(
[[repository]]
path = "/r"
folder = "f"
  [repository.target]
  type = "sftp"
  host = "nas.example"
  path = "/srv/offsite"
  username = "backup"
  {}
)",
                     password_line);
}

const SftpTarget& sftp_of(const LoadResult& result) {
  BOOST_TEST_REQUIRE(result.ok(), all_errors(result));
  return std::get<SftpTarget>(result.config->repositories.front().target.settings);
}

} // namespace

BOOST_AUTO_TEST_SUITE(config_secrets)

BOOST_AUTO_TEST_CASE(secret_never_prints) {
  Secret secret("hunter2-very-secret");
  std::ostringstream stream;
  stream << secret;
  BOOST_TEST(stream.str() == "<redacted>");
  BOOST_TEST(fmt::format("{}", secret) == "<redacted>");
  BOOST_TEST(fmt::format("[{:>12}]", secret) == "[  <redacted>]");
  BOOST_TEST(secret.reveal() == "hunter2-very-secret");
  BOOST_TEST(!secret.empty());
  BOOST_TEST(Secret().empty());
  static_assert(!std::is_convertible_v<Secret, std::string>);
  static_assert(!std::is_convertible_v<std::string, Secret>);
}

BOOST_AUTO_TEST_CASE(secret_from_file_strips_one_newline) {
  offsite::test::TempDir dir;
  write(dir.path() / "pw", "s3cr3t\n\n", 0600);
  auto result = load(sftp_config(fmt::format("password_file = \"{}\"", (dir.path() / "pw").string())));
  BOOST_TEST(sftp_of(result).password.reveal() == "s3cr3t\n");
  write(dir.path() / "pw2", "s3cr3t\r\n", 0600);
  result = load(sftp_config(fmt::format("password_file = \"{}\"", (dir.path() / "pw2").string())));
  BOOST_TEST(sftp_of(result).password.reveal() == "s3cr3t");
}

BOOST_AUTO_TEST_CASE(secret_from_environment) {
  ::setenv("OFFSITE_TEST_SECRET", "from-env", 1);
  auto result = load(sftp_config("password_env = \"OFFSITE_TEST_SECRET\""));
  BOOST_TEST(sftp_of(result).password.reveal() == "from-env");
  ::unsetenv("OFFSITE_TEST_SECRET");
}

BOOST_AUTO_TEST_CASE(missing_secret_file_names_file_line_and_key) {
  auto result = load(sftp_config("password_file = \"/nonexistent/offsite-pw\""));
  BOOST_TEST_REQUIRE(result.errors.size() == 1u, all_errors(result));
  const Diagnostic& error = result.errors.front();
  BOOST_TEST(error.file == "test.toml");
  BOOST_TEST(error.line == 10);
  BOOST_TEST(error.key == "repository[1].target.password_file");
  BOOST_TEST(error.message.find("/nonexistent/offsite-pw") != std::string::npos);
  BOOST_TEST(!result.config.has_value());
}

BOOST_AUTO_TEST_CASE(unset_variable_names_it) {
  ::unsetenv("OFFSITE_TEST_UNSET");
  auto result = load(sftp_config("password_env = \"OFFSITE_TEST_UNSET\""));
  BOOST_TEST_REQUIRE(result.errors.size() == 1u, all_errors(result));
  BOOST_TEST(result.errors[0].line == 10);
  BOOST_TEST(result.errors[0].key == "repository[1].target.password_env");
  BOOST_TEST(result.errors[0].message.find("OFFSITE_TEST_UNSET is not set") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(secret_file_must_be_regular) {
  auto result = load(sftp_config("password_file = \"/dev/null\""));
  BOOST_TEST_REQUIRE(result.errors.size() == 1u, all_errors(result));
  BOOST_TEST(result.errors[0].message.find("not a regular file") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(readable_config_with_inline_secret_warns) {
  offsite::test::TempDir dir;
  auto path = dir.path() / "offsite.toml";
  write(path, sftp_config("password = \"inline-pw\""), 0644);
  auto result = load_config_file(path);
  BOOST_TEST_REQUIRE(result.ok(), all_errors(result));
  BOOST_TEST_REQUIRE(result.warnings.size() == 1u);
  BOOST_TEST(result.warnings[0].line == 10);
  BOOST_TEST(result.warnings[0].key == "repository[1].target.password");
  BOOST_TEST(result.warnings[0].message.find("readable by others (mode 0644)") != std::string::npos);
  BOOST_TEST(result.warnings[0].to_string().find("inline-pw") == std::string::npos);

  ::chmod(path.c_str(), 0600);
  result = load_config_file(path);
  BOOST_TEST(result.ok());
  BOOST_TEST(result.warnings.empty());
}

BOOST_AUTO_TEST_CASE(readable_config_without_inline_secret_does_not_warn) {
  offsite::test::TempDir dir;
  write(dir.path() / "pw", "x", 0600);
  auto path = dir.path() / "offsite.toml";
  write(path, sftp_config("password_file = \"pw\""), 0644); // relative to the config's directory
  auto result = load_config_file(path);
  BOOST_TEST(sftp_of(result).password.reveal() == "x");
  BOOST_TEST(result.warnings.empty());
}

BOOST_AUTO_TEST_CASE(secrets_never_appear_in_diagnostics_or_descriptions) {
  const std::string secret = "Tr0ub4dor-and-3";
  // A config full of errors around every secret key of every target type.
  auto text = fmt::format(R"(
[[repository]]
path = "/r"
folder = "f"
concurrency = "x"
target = {{ type = "sftp", host = "h", path = "p", username = "u", password = "{0}", private_key_passphrase = "{0}" }}
[[repository]]
path = "/r"
folder = "g"
target = {{ type = "s3", bucket = "b", secret_access_key = "{0}", session_token = "{0}", nope = 1 }}
[[repository]]
path = "/r"
folder = "h"
target = {{ type = "smb", share = "bad", password = "{0}", password_env = "{0}" }}
[[repository]]
path = "/r"
folder = "i"
target = {{ type = "ftps", host = "h:1", path = "/p", password = "{0}", tls = "bogus" }}
)",
                          secret);
  auto result = load(text);
  BOOST_TEST(result.errors.size() >= 6u);
  for (const Diagnostic& diagnostic : result.errors)
    BOOST_TEST(diagnostic.to_string().find(secret) == std::string::npos, diagnostic.to_string());
  for (const Diagnostic& diagnostic : result.warnings)
    BOOST_TEST(diagnostic.to_string().find(secret) == std::string::npos, diagnostic.to_string());

  // And a valid config: every description and summary.
  auto good = load(R"(
[[repository]]
path = "/r"
folder = "f"
target = { type = "sftp", host = "h", path = "/p", username = "u", password = "Tr0ub4dor-and-3" }
[[repository]]
path = "/r"
folder = "g"
target = { type = "s3", bucket = "b", region = "r", access_key_id = "AKID", secret_access_key = "Tr0ub4dor-and-3", session_token = "Tr0ub4dor-and-3" }
[[repository]]
path = "/r"
folder = "h"
target = { type = "smb", share = '\\s\x', username = "u", password = "Tr0ub4dor-and-3" }
[[repository]]
path = "/r"
folder = "i"
target = { type = "ftps", host = "h", path = "/p", username = "u", password = "Tr0ub4dor-and-3" }
)");
  BOOST_TEST_REQUIRE(good.ok(), all_errors(good));
  const auto& sftp = std::get<SftpTarget>(good.config->repositories[0].target.settings);
  BOOST_TEST(sftp.password.reveal() == secret);
  std::ostringstream stream;
  stream << sftp.password << fmt::format("{}", sftp.password);
  BOOST_TEST(stream.str().find(secret) == std::string::npos);
  for (const Repository& repository : good.config->repositories) {
    BOOST_TEST(describe_target(repository.target).find(secret) == std::string::npos);
    BOOST_TEST(summarize(repository).find(secret) == std::string::npos);
    BOOST_TEST(repository.name.find(secret) == std::string::npos);
  }
}

BOOST_AUTO_TEST_SUITE_END()
