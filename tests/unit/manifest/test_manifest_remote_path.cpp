#include "manifest/remote_path.hpp"

#include <boost/test/unit_test.hpp>
#include <string>

#include "manifest/manifest.hpp"
#include "manifest/utf8.hpp"

using namespace offsite;
using namespace offsite::manifest;

BOOST_AUTO_TEST_SUITE(manifest_remote_path)

BOOST_AUTO_TEST_CASE(relative_path_rules) {
  struct Case {
    std::string path;
    const char* why; // nullptr: valid
  };
  const Case cases[] = {
      {"a", nullptr},
      {"PC-0001/Daily-System/full.img", nullptr},
      {"a/b c/d", nullptr},
      {"...", nullptr},
      {"..a/.b/a..", nullptr},
      {"back\\slash", nullptr}, // legal in POSIX names
      {"C:/x", nullptr},
      {".offsite/x", nullptr}, // legal as a path; manifests forbid it in the mirror (check.cpp)
      {"caf\xe9", nullptr},    // any bytes
      {"", "is empty"},
      {"/", "is absolute"},
      {"/a", "is absolute"},
      {"a/", "empty component"},
      {"a//b", "empty component"},
      {".", "\".\" component"},
      {"a/./b", "\".\" component"},
      {"./a", "\".\" component"},
      {"..", "\"..\" component"},
      {"a/..", "\"..\" component"},
      {"../a", "\"..\" component"},
      {"a/../b", "\"..\" component"},
      {std::string("a\0b", 3), "NUL"},
      {std::string("\0", 1), "NUL"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT("path " << to_hex(c.path)) {
      auto result = validate_relative_path(c.path);
      BOOST_TEST(result.has_value() == (c.why == nullptr));
      if (!result) {
        BOOST_TEST(result.error().message.find(c.why) != std::string::npos);
        BOOST_TEST((result.error().kind == ErrorKind::permanent));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(only_a_folder_may_be_empty) {
  BOOST_TEST(validate_folder_path("").has_value());
  BOOST_TEST(validate_folder_path("PC-0001/Daily-System").has_value());
  BOOST_TEST(!validate_folder_path("/").has_value());
  BOOST_TEST(!validate_folder_path("a/").has_value());
  BOOST_TEST(!validate_relative_path("").has_value());
}

BOOST_AUTO_TEST_CASE(error_messages_quote_hostile_names_safely) {
  auto result = validate_relative_path(std::string("a\n\"/../") + std::string(500, 'x'));
  BOOST_REQUIRE(!result);
  BOOST_TEST(result.error().message.find('\n') == std::string::npos);
  BOOST_TEST(result.error().message.size() < 300u);
  BOOST_TEST(result.error().message.starts_with(R"(path "a\x0a\"/../xxx)"));
}

BOOST_AUTO_TEST_CASE(folder_of_takes_the_first_directories) {
  struct Case {
    const char* path;
    int depth;
    const char* folder;
  };
  const Case cases[] = {
      {"top.img", 0, ""},
      {"top.img", 1, ""},
      {"top.img", 2, ""},
      {"PC/Daily/x.img", 0, ""},
      {"PC/Daily/x.img", 1, "PC"},
      {"PC/Daily/x.img", 2, "PC/Daily"},
      {"PC/Daily/x.img", 3, "PC/Daily"}, // fewer directories than the depth: the ones it has
      {"PC/Daily/sub/x.img", 2, "PC/Daily"},
      {"PC/Daily/sub/x.img", 3, "PC/Daily/sub"},
      {"PC/Daily/sub/deeper/x.img", 3, "PC/Daily/sub"},
      {"PC/x.img", 2, "PC"},
      {"PC/x.img", 3, "PC"},
      {"PC/x.img", -1, ""},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.path << " at depth " << c.depth) { BOOST_TEST(folder_of(c.path, c.depth) == c.folder); }
  }
}

BOOST_AUTO_TEST_CASE(join_and_within) {
  BOOST_TEST(join_path("", "x") == "x");
  BOOST_TEST(join_path("a", "") == "a");
  BOOST_TEST(join_path("a/b", "c/d") == "a/b/c/d");
  BOOST_TEST(join_path("", "") == "");

  BOOST_TEST(is_within("", "a"));
  BOOST_TEST(is_within("", "a/b"));
  BOOST_TEST(!is_within("", ""));
  BOOST_TEST(is_within("a", "a/b"));
  BOOST_TEST(is_within("a/b", "a/b/c/d"));
  BOOST_TEST(!is_within("a", "a"));
  BOOST_TEST(!is_within("a", "ab/c"));
  BOOST_TEST(!is_within("a", "a/"));
  BOOST_TEST(!is_within("a/b", "a"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(manifest_utf8)

BOOST_AUTO_TEST_CASE(validity_follows_rfc_3629) {
  BOOST_TEST(is_valid_utf8(""));
  BOOST_TEST(is_valid_utf8("plain ascii \x01\x7f"));
  BOOST_TEST(is_valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf \xed\x9f\xbf"));
  BOOST_TEST(!is_valid_utf8("\x80"));
  BOOST_TEST(!is_valid_utf8("\xc0\xaf"));         // overlong '/'
  BOOST_TEST(!is_valid_utf8("\xc1\xbf"));         // overlong
  BOOST_TEST(!is_valid_utf8("\xe0\x9f\xbf"));     // overlong
  BOOST_TEST(!is_valid_utf8("\xf0\x8f\xbf\xbf")); // overlong
  BOOST_TEST(!is_valid_utf8("\xed\xa0\x80"));     // surrogate
  BOOST_TEST(!is_valid_utf8("\xf4\x90\x80\x80")); // above U+10FFFF
  BOOST_TEST(!is_valid_utf8("\xf5\x80\x80\x80"));
  BOOST_TEST(!is_valid_utf8("\xe2\x82")); // cut short
  BOOST_TEST(!is_valid_utf8("\xff"));
}

BOOST_AUTO_TEST_CASE(lossy_form_replaces_each_bad_byte) {
  const std::string fffd = "\xef\xbf\xbd";
  BOOST_TEST(lossy_utf8("caf\xc3\xa9") == "caf\xc3\xa9");
  BOOST_TEST(lossy_utf8("caf\xe9") == "caf" + fffd);
  BOOST_TEST(lossy_utf8("\xe2\x82x") == fffd + fffd + "x");
  BOOST_TEST(lossy_utf8("\xed\xa0\x80") == fffd + fffd + fffd);
  for (int c = 0x80; c <= 0xff; ++c)
    BOOST_TEST(is_valid_utf8(lossy_utf8(std::string(3, static_cast<char>(c)))));
}

BOOST_AUTO_TEST_CASE(hex_round_trips_and_is_lowercase_only) {
  std::string all;
  for (int c = 0; c < 256; ++c)
    all.push_back(static_cast<char>(c));
  BOOST_TEST(from_hex(to_hex(all)).value_or("") == all);
  BOOST_TEST(to_hex("\x01\xab") == "01ab");
  BOOST_TEST(!from_hex("AB"));
  BOOST_TEST(!from_hex("abc"));
  BOOST_TEST(!from_hex("zz"));
  BOOST_TEST(from_hex("").has_value());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(manifest_names)

BOOST_AUTO_TEST_CASE(lease_file_names_are_fresh_sortable_and_plain) {
  Lease lease{"0f8fad5b-d9cb-469f-a165-70867728950e", "nas 01/é", "offsite", 4242, "2026-11-24T22:13:05Z", 7};
  std::string name = lease_file_name(lease);
  BOOST_TEST(name == "20261124T221305Z-nas_01___-4242-00000000000000000007.json");
  Lease next = lease;
  next.sequence = 8;
  BOOST_TEST(lease_file_name(next) > name);
  next.taken_at = "2026-11-24T22:14:05Z";
  next.sequence = 0;
  BOOST_TEST(lease_file_name(next) > name);
  lease.host = std::string(300, 'h');
  BOOST_TEST(lease_file_name(lease).size() < 128u);
  for (char c : lease_file_name(lease))
    BOOST_TEST(((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                c == '-'));
}

BOOST_AUTO_TEST_CASE(timestamps) {
  using namespace std::chrono;
  BOOST_TEST(format_timestamp(system_clock::time_point{}) == "1970-01-01T00:00:00Z");
  BOOST_TEST(format_timestamp(sys_days{year{2026} / 11 / 24} + hours{22} + minutes{13} + seconds{5} +
                              milliseconds{999}) == "2026-11-24T22:13:05Z");
  BOOST_TEST(is_timestamp(format_timestamp(system_clock::now())));
  BOOST_TEST(is_timestamp("2026-11-24T22:13:05Z"));
  BOOST_TEST(is_timestamp("2026-11-24T22:13:05.123456789Z"));
  BOOST_TEST(is_timestamp("2024-02-29T23:59:60Z"));
  BOOST_TEST(!is_timestamp("2025-02-29T00:00:00Z"));
  BOOST_TEST(!is_timestamp("2026-11-24T22:13:05.Z"));
  BOOST_TEST(!is_timestamp("2026-11-24T22:13:05.1234567890Z"));
  BOOST_TEST(!is_timestamp("2026-11-24T24:00:00Z"));
  BOOST_TEST(!is_timestamp("2026-11-24t22:13:05z"));
  BOOST_TEST(!is_timestamp("2026-11-24T22:13:05"));
  BOOST_TEST(!is_timestamp("2026-11-24T22:13:05Zx"));
  BOOST_TEST(!is_timestamp("2026-13-24T22:13:05Z"));
  BOOST_TEST(!is_timestamp(""));
}

BOOST_AUTO_TEST_SUITE_END()
