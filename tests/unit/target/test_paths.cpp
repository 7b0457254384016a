#include "target/target.hpp"

#include <boost/test/unit_test.hpp>

using namespace offsite;
using namespace offsite::target;

BOOST_AUTO_TEST_SUITE(target_paths)

BOOST_AUTO_TEST_CASE(relative_paths_are_accepted) {
  for (const char* path : {"", "a", "a/b/c", ".offsite/commits/42.json", "...", ".hidden", "a b/ü"})
    BOOST_TEST(check_path(path).has_value(), path);
}

BOOST_AUTO_TEST_CASE(escaping_and_malformed_paths_are_refused) {
  for (std::string path : {"/abs", "..", "../a", "a/..", "a/../b", ".", "./a", "a//b", "a/", "/"}) {
    auto checked = check_path(path);
    BOOST_TEST_REQUIRE(!checked.has_value(), path);
    BOOST_TEST(checked.error().kind == ErrorKind::permanent);
    BOOST_TEST(checked.error().message.find(path) != std::string::npos);
  }
  BOOST_TEST(!check_path(std::string("a\0b", 3)).has_value());
}

BOOST_AUTO_TEST_CASE(components_split_and_join) {
  BOOST_TEST(parent_path("a/b/c") == "a/b");
  BOOST_TEST(parent_path("c") == "");
  BOOST_TEST(parent_path("") == "");
  BOOST_TEST(last_component("a/b/c") == "c");
  BOOST_TEST(last_component("c") == "c");
  BOOST_TEST(last_component("") == "");
  BOOST_TEST(join_path("a", "b") == "a/b");
  BOOST_TEST(join_path("", "b") == "b");
  BOOST_TEST(join_path("a", "") == "a");
  BOOST_TEST(is_temporary_name(".1.json.offsite-tmp-1a2b3c4d"));
  BOOST_TEST(!is_temporary_name("1.json"));
}

BOOST_AUTO_TEST_SUITE_END()
