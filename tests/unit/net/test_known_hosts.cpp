#include "net/known_hosts.hpp"

#include <boost/test/unit_test.hpp>

#include "support/temp_dir.hpp"
#include "util/fs.hpp"

using namespace offsite::net;

namespace {

// A syntactically valid key blob: string type, then some bytes.
HostKey key(const std::string& type, char fill) {
  std::string blob;
  blob += static_cast<char>(0);
  blob += static_cast<char>(0);
  blob += static_cast<char>(0);
  blob += static_cast<char>(type.size());
  blob += type;
  blob += std::string(32, fill);
  return HostKey{type, blob};
}

std::string line_for(const std::string& names, const HostKey& host_key) {
  return names + " " + host_key.type + " " + base64_encode(host_key.blob) + "\n";
}

} // namespace

BOOST_AUTO_TEST_SUITE(net_known_hosts)

BOOST_AUTO_TEST_CASE(base64_round_trips) {
  for (std::string text : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
    std::string decoded;
    BOOST_TEST(base64_decode(base64_encode(text), decoded));
    BOOST_TEST(decoded == text);
  }
  std::string ignored;
  BOOST_TEST(!base64_decode("a", ignored));
  BOOST_TEST(!base64_decode("ab$d", ignored));
}

BOOST_AUTO_TEST_CASE(fingerprint_is_unpadded_sha256) {
  // sha256("") = e3b0c442..., base64 without '='
  BOOST_TEST(fingerprint_sha256("") == "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU");
}

BOOST_AUTO_TEST_CASE(names_by_port) {
  BOOST_TEST(known_hosts_name("nas", 22) == "nas");
  BOOST_TEST(known_hosts_name("nas", 2222) == "[nas]:2222");
}

BOOST_AUTO_TEST_CASE(verdicts) {
  auto ed = key("ssh-ed25519", 'a'), ed_other = key("ssh-ed25519", 'b'), ec = key("ecdsa-sha2-nistp256", 'c');
  auto file = "# comment\n\n" + line_for("other,[nas]:2222", ed) + line_for("nas", ec);
  BOOST_TEST((check_host_key(file, "nas", 2222, ed).verdict == HostKeyVerdict::trusted));
  BOOST_TEST((check_host_key(file, "nas", 2222, ed_other).verdict == HostKeyVerdict::changed));
  BOOST_TEST(check_host_key(file, "nas", 2222, ed_other).line == 3);
  BOOST_TEST((check_host_key(file, "nas", 2222, ec).verdict == HostKeyVerdict::unknown)); // port 22 line only
  BOOST_TEST((check_host_key(file, "nas", 22, ec).verdict == HostKeyVerdict::trusted));
  BOOST_TEST((check_host_key(file, "NAS", 22, ec).verdict == HostKeyVerdict::trusted));
  BOOST_TEST((check_host_key(file, "nas", 22, ed).verdict == HostKeyVerdict::unknown));
  auto revoked = file + "@revoked * " + ed.type + " " + base64_encode(ed.blob) + "\n";
  BOOST_TEST((check_host_key(revoked, "nas", 2222, ed).verdict == HostKeyVerdict::revoked));
  BOOST_TEST((known_key_types(file, "nas", 22) == std::vector<std::string>{"ecdsa-sha2-nistp256"}));
}

BOOST_AUTO_TEST_CASE(wildcards_and_negation) {
  auto ed = key("ssh-ed25519", 'a');
  auto file = line_for("*.example.org,!bad.example.org", ed);
  BOOST_TEST((check_host_key(file, "nas.example.org", 22, ed).verdict == HostKeyVerdict::trusted));
  BOOST_TEST((check_host_key(file, "bad.example.org", 22, ed).verdict == HostKeyVerdict::unknown));
  BOOST_TEST((check_host_key(line_for("10.0.0.?", ed), "10.0.0.7", 22, ed).verdict == HostKeyVerdict::trusted));
}

BOOST_AUTO_TEST_CASE(hashed_names) {
  // The hashed form of "[127.0.0.1]:2222" with a salt of 20 zero bytes, computed with openssl:
  //   printf '[127.0.0.1]:2222' | openssl dgst -sha1 -mac HMAC -macopt hexkey:00...00 -binary | base64
  auto ed = key("ssh-ed25519", 'a');
  std::string salt(20, '\0');
  auto hashed = "|1|" + base64_encode(salt) + "|" + "ZHKpxsGz+c434FXmHvZDlYRXN2E=";
  auto verdict = check_host_key(line_for(hashed, ed), "127.0.0.1", 2222, ed).verdict;
  auto wrong_port = check_host_key(line_for(hashed, ed), "127.0.0.1", 2223, ed).verdict;
  BOOST_TEST((verdict == HostKeyVerdict::trusted));
  BOOST_TEST((wrong_port == HostKeyVerdict::unknown));
}

BOOST_AUTO_TEST_CASE(append_keeps_every_line) {
  offsite::test::TempDir dir;
  auto path = dir.path() / "ssh" / "known_hosts";
  auto ed = key("ssh-ed25519", 'a');
  BOOST_TEST(append_known_host(path, known_hosts_line("nas", 2222, ed)).has_value());
  auto weird = std::string("@cert-authority *.corp ssh-ed25519 AAAA\nunparsable line without newline");
  BOOST_TEST(offsite::fs::write_file_atomically(path, weird).has_value());
  BOOST_TEST(append_known_host(path, known_hosts_line("nas", 2222, ed)).has_value());
  auto content = offsite::fs::read_file(path);
  BOOST_TEST_REQUIRE(content.has_value());
  BOOST_TEST(*content == weird + "\n" + known_hosts_line("nas", 2222, ed));
}

BOOST_AUTO_TEST_SUITE_END()
