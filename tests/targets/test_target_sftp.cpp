// The conformance suite against SftpTarget on a real OpenSSH sshd, and what only SFTP has: host
// keys (unknown, accepted, pinned, changed, hashed, of another type) and logins.
//
// Run through tests/servers/sshd.py, which starts the server and describes it in OFFSITE_SSHD_*
// (meson.build does this). The remote is a local directory served by sshd, so a case can look at
// the files directly. Without the variables every case fails: a missing server is a failure, not
// a skip.

#include "target/sftp.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <boost/test/unit_test.hpp>

#include "conformance.hpp"
#include "net/known_hosts.hpp"
#include "support/run_coro.hpp"
#include "support/temp_dir.hpp"

namespace {

using offsite::ErrorKind;
using offsite::target::SftpSettings;
using offsite::target::SftpTarget;

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  if (!value || !*value)
    throw std::runtime_error(std::string(name) + " is not set: run this test through tests/servers/sshd.py run");
  return value;
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_text(const std::filesystem::path& path, const std::string& text) { std::ofstream(path) << text; }

// A fresh directory under the server's remote space per case.
struct SftpFixture : offsite::test::ConformanceFixture {
  std::filesystem::path base;
  std::filesystem::path known_hosts;

  SftpFixture() {
    static int counter = 0;
    base = std::filesystem::path(environment("OFFSITE_SSHD_ROOT")) /
           ("case-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
    std::filesystem::create_directories(base / "target");
    known_hosts = base / "known_hosts";
    std::filesystem::copy_file(environment("OFFSITE_SSHD_KNOWN_HOSTS"), known_hosts);
  }
  ~SftpFixture() override {
    std::error_code ignored;
    std::filesystem::remove_all(base, ignored);
  }

  SftpSettings settings(const std::filesystem::path& target_path) const {
    SftpSettings settings;
    settings.ssh.host = "127.0.0.1";
    settings.ssh.port = std::stoi(environment("OFFSITE_SSHD_PORT"));
    settings.ssh.username = environment("OFFSITE_SSHD_USER");
    settings.ssh.credentials.private_key = environment("OFFSITE_SSHD_KEY");
    settings.ssh.host_keys.known_hosts = known_hosts;
    settings.ssh.repository_name = "Test repo";
    settings.ssh.describe = "sftp://" + settings.ssh.username + "@127.0.0.1:" + environment("OFFSITE_SSHD_PORT");
    settings.ssh.io_timeout = std::chrono::seconds(10);
    settings.path = target_path.string();
    settings.folder = "SiteManager1";
    settings.concurrency = 2;
    return settings;
  }

  std::unique_ptr<offsite::target::Target> make_target() override {
    return std::make_unique<SftpTarget>(settings(base / "target"));
  }

  std::pair<std::unique_ptr<offsite::target::Target>, std::string> make_target_on_missing_path() override {
    auto missing = base / "no-such-disk";
    return {std::make_unique<SftpTarget>(settings(missing)), missing.string()};
  }

  std::optional<std::string> make_read_only(const std::string& relative) override {
    if (::geteuid() == 0) return "the server runs as root, whom a read-only mode does not stop";
    std::filesystem::permissions(base / "target" / "SiteManager1" / relative,
                                 std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
    return std::nullopt;
  }

  std::uint64_t large_file_size() const override { return 48 << 20; }

  // connect() on a target built from `settings`; the error, or nullopt on success.
  std::optional<offsite::Error> connect_with(SftpSettings changed) {
    asio::io_context io; // outlives the target's sockets
    SftpTarget target(std::move(changed));
    auto body = [&target]() -> asio::awaitable<offsite::Result<void>> { co_return co_await target.connect(); };
    auto connected = offsite::test::run_coro(io, std::move(body));
    if (connected) return std::nullopt;
    return connected.error();
  }
};

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string host_fingerprint(const std::string& type) {
  auto dir = std::filesystem::path(environment("OFFSITE_SSHD_DIR"));
  auto public_key = read_text(dir / (type == "ssh-ed25519" ? "ssh_host_ed25519_key.pub" : "ssh_host_ecdsa_key.pub"));
  std::istringstream fields(public_key);
  std::string key_type, encoded;
  fields >> key_type >> encoded;
  std::string blob;
  offsite::net::base64_decode(encoded, blob);
  return offsite::net::fingerprint_sha256(blob);
}

} // namespace

BOOST_AUTO_TEST_SUITE(conformance_sftp)
OFFSITE_TARGET_CONFORMANCE(SftpFixture)
BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(sftp_trust, SftpFixture)

BOOST_AUTO_TEST_CASE(unknown_host_key_is_refused_with_its_fingerprint) {
  write_text(known_hosts, "");
  auto error = connect_with(settings(base / "target"));
  BOOST_TEST_REQUIRE(error.has_value());
  BOOST_TEST(error->kind == ErrorKind::permanent);
  BOOST_TEST(contains(error->message, host_fingerprint("ssh-ed25519")), error->message);
  BOOST_TEST(contains(error->message, "offsite test-connection 'Test repo' --accept-host-key=SHA256:"), error->message);
  BOOST_TEST(read_text(known_hosts).empty());
}

BOOST_AUTO_TEST_CASE(accepting_writes_the_key_and_then_trusts_it) {
  std::filesystem::remove(known_hosts);
  auto accepting = settings(base / "target");
  accepting.ssh.host_keys.accept_unknown = true;
  auto error = connect_with(accepting);
  BOOST_TEST_REQUIRE(!error.has_value(), error->message);
  auto written = read_text(known_hosts);
  BOOST_TEST(contains(written, "[127.0.0.1]:" + environment("OFFSITE_SSHD_PORT") + " ssh-ed25519 "), written);
  auto again = connect_with(settings(base / "target"));
  BOOST_TEST(!again.has_value());
}

BOOST_AUTO_TEST_CASE(a_pinned_fingerprint_accepts_only_that_key) {
  write_text(known_hosts, "# nothing yet\n");
  auto pinned = settings(base / "target");
  pinned.ssh.host_keys.accept_unknown = true;
  pinned.ssh.host_keys.pinned_fingerprint = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
  auto error = connect_with(pinned);
  BOOST_TEST_REQUIRE(error.has_value());
  BOOST_TEST(contains(error->message, "nothing was trusted"), error->message);
  BOOST_TEST(read_text(known_hosts) == "# nothing yet\n");
  pinned.ssh.host_keys.pinned_fingerprint = host_fingerprint("ssh-ed25519");
  auto accepted = connect_with(pinned);
  BOOST_TEST(!accepted.has_value());
  BOOST_TEST(contains(read_text(known_hosts), "# nothing yet\n[127.0.0.1]:"));
}

BOOST_AUTO_TEST_CASE(a_changed_key_is_refused_loudly_even_when_accepting) {
  // The server's ed25519 key replaced by another one under the same name.
  offsite::test::TempDir other;
  auto key = other.path() / "key";
  auto command = "ssh-keygen -q -t ed25519 -N '' -f " + key.string();
  BOOST_TEST_REQUIRE(std::system(command.c_str()) == 0);
  std::istringstream fields(read_text(key.string() + ".pub"));
  std::string type, encoded;
  fields >> type >> encoded;
  write_text(known_hosts, "[127.0.0.1]:" + environment("OFFSITE_SSHD_PORT") + " ssh-ed25519 " + encoded + "\n");
  auto accepting = settings(base / "target");
  accepting.ssh.host_keys.accept_unknown = true;
  auto error = connect_with(accepting);
  BOOST_TEST_REQUIRE(error.has_value());
  BOOST_TEST(contains(error->message, "HAS CHANGED"), error->message);
  BOOST_TEST(contains(error->message, host_fingerprint("ssh-ed25519")), error->message);
  BOOST_TEST(contains(error->message, "ssh-keygen -f"), error->message);
}

BOOST_AUTO_TEST_CASE(hashed_names_and_a_single_key_type_are_trusted) {
  auto lines = read_text(known_hosts);
  // Only the ECDSA line: the session must ask the server for its ECDSA key, not ed25519.
  std::string ecdsa_only;
  std::istringstream in(lines);
  for (std::string line; std::getline(in, line);)
    if (contains(line, "ecdsa-sha2-nistp256")) ecdsa_only += line + "\n";
  write_text(known_hosts, ecdsa_only);
  auto command = "ssh-keygen -q -H -f " + known_hosts.string() + " >/dev/null 2>&1";
  BOOST_TEST_REQUIRE(std::system(command.c_str()) == 0);
  BOOST_TEST_REQUIRE(contains(read_text(known_hosts), "|1|"));
  auto error = connect_with(settings(base / "target"));
  BOOST_TEST(!error.has_value(), error->message);
}

BOOST_AUTO_TEST_CASE(an_unauthorized_key_gets_a_clear_error) {
  offsite::test::TempDir other;
  auto key = other.path() / "stranger";
  auto command = "ssh-keygen -q -t ed25519 -N '' -f " + key.string();
  BOOST_TEST_REQUIRE(std::system(command.c_str()) == 0);
  auto stranger = settings(base / "target");
  stranger.ssh.credentials.private_key = key;
  auto error = connect_with(stranger);
  BOOST_TEST_REQUIRE(error.has_value());
  BOOST_TEST(error->kind == ErrorKind::permanent);
  BOOST_TEST(contains(error->message, "refused the key " + key.string()), error->message);
}

BOOST_AUTO_TEST_CASE(an_rsa_key_is_refused_with_the_reason) {
  // Authorized, yet refused: libssh2 1.10 signs with SHA-1, which OpenSSH >= 8.8 does not accept.
  offsite::test::TempDir other;
  auto key = other.path() / "id_rsa";
  auto command = "ssh-keygen -q -t rsa -b 2048 -N '' -f " + key.string() + " && cat " + key.string() + ".pub >> " +
                 environment("OFFSITE_SSHD_DIR") + "/authorized_keys";
  BOOST_TEST_REQUIRE(std::system(command.c_str()) == 0);
  auto rsa = settings(base / "target");
  rsa.ssh.credentials.private_key = key;
  auto error = connect_with(rsa);
  BOOST_TEST_REQUIRE(error.has_value());
  BOOST_TEST(contains(error->message, "SHA-1"), error->message);
  BOOST_TEST(contains(error->message, "ed25519"), error->message);
}

BOOST_AUTO_TEST_CASE(an_encrypted_key_needs_its_passphrase) {
  offsite::test::TempDir other;
  auto key = other.path() / "locked";
  auto command = "ssh-keygen -q -t ed25519 -N 'opensesame-42' -f " + key.string();
  BOOST_TEST_REQUIRE(std::system(command.c_str()) == 0);
  auto locked = settings(base / "target");
  locked.ssh.credentials.private_key = key;
  auto error = connect_with(locked);
  BOOST_TEST_REQUIRE(error.has_value());
  BOOST_TEST(contains(error->message, "set private_key_passphrase"), error->message);
  locked.ssh.credentials.passphrase = "wrong-phrase-17";
  error = connect_with(locked);
  BOOST_TEST_REQUIRE(error.has_value());
  BOOST_TEST(!contains(error->message, "wrong-phrase-17"), error->message);
  BOOST_TEST(contains(error->message, key.string()), error->message);
}

BOOST_AUTO_TEST_CASE(a_missing_key_file_is_named) {
  auto missing = settings(base / "target");
  missing.ssh.credentials.private_key = base / "no-such-key";
  auto error = connect_with(missing);
  BOOST_TEST_REQUIRE(error.has_value());
  BOOST_TEST(error->kind != ErrorKind::transient);
  BOOST_TEST(contains(error->message, (base / "no-such-key").string()), error->message);
}

BOOST_AUTO_TEST_CASE(nothing_listening_is_transient) {
  auto closed = settings(base / "target");
  closed.ssh.port = 1; // nothing listens on port 1 here
  auto error = connect_with(closed);
  BOOST_TEST_REQUIRE(error.has_value());
  BOOST_TEST(error->kind == ErrorKind::transient);
}

BOOST_AUTO_TEST_SUITE_END()
