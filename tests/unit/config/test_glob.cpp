#include "util/glob.hpp"

#include <boost/test/unit_test.hpp>

using offsite::glob_match;
using offsite::glob_problem;

BOOST_AUTO_TEST_SUITE(util_glob)

BOOST_AUTO_TEST_CASE(pattern_without_slash_matches_a_component_at_any_depth) {
  BOOST_TEST(glob_match("*.tmp", "x.tmp"));
  BOOST_TEST(glob_match("*.tmp", "a/b/x.tmp"));
  BOOST_TEST(!glob_match("*.tmp", "a/b/x.tmp.img"));
  BOOST_TEST(glob_match("Old", "PC-0001/Old/full.img")); // a directory excludes what is below it
  BOOST_TEST(!glob_match("Old", "PC-0001/Older/full.img"));
  BOOST_TEST(glob_match("tmp/", "a/tmp/x")); // a trailing '/' is ignored, and does not anchor
}

BOOST_AUTO_TEST_CASE(pattern_with_slash_is_anchored_at_the_root) {
  BOOST_TEST(glob_match("PC-0001/Old/*", "PC-0001/Old/a.img"));
  BOOST_TEST(!glob_match("PC-0001/Old/*", "X/PC-0001/Old/a.img"));
  BOOST_TEST(glob_match("/top.img", "top.img"));
  BOOST_TEST(!glob_match("/top.img", "a/top.img"));
  BOOST_TEST(glob_match("a/b", "a/b/c.img"));
  BOOST_TEST(glob_match("a/b", "a/b"));
  BOOST_TEST(!glob_match("a/b", "a"));
  BOOST_TEST(!glob_match("a/b", "a/bc/d"));
}

BOOST_AUTO_TEST_CASE(star_and_question_mark_never_cross_a_slash) {
  BOOST_TEST(!glob_match("a/*.img", "a/b/c.img"));
  BOOST_TEST(glob_match("a/*", "a/b/c.img")); // matches directory a/b
  BOOST_TEST(!glob_match("a?b", "a/b"));
  BOOST_TEST(glob_match("a?b", "x/acb"));
  BOOST_TEST(glob_match("*", "anything/at/all"));
  BOOST_TEST(glob_match("*.img", ".hidden.img"));
  BOOST_TEST(glob_match("a*b*c", "aXbYbZc"));
  BOOST_TEST(!glob_match("a*b*c", "aXbYbZ"));
}

BOOST_AUTO_TEST_CASE(double_star_matches_any_number_of_components) {
  BOOST_TEST(glob_match("**/cache", "cache"));
  BOOST_TEST(glob_match("**/cache", "a/b/cache/x"));
  BOOST_TEST(glob_match("a/**/z.img", "a/z.img"));
  BOOST_TEST(glob_match("a/**/z.img", "a/b/c/z.img"));
  BOOST_TEST(!glob_match("a/**/z.img", "b/a/z.img"));
  BOOST_TEST(glob_match("a/**", "a/b"));
  BOOST_TEST(!glob_match("a/**", "a")); // "everything inside", as gitignore
  BOOST_TEST(glob_match("**", "x/y"));
  // Many '**' against a deep path stays fast (a table, not backtracking).
  std::string pattern, path;
  for (int i = 0; i < 30; ++i)
    pattern += "**/";
  pattern += "nope";
  for (int i = 0; i < 200; ++i)
    path += "d/";
  path += "file";
  BOOST_TEST(!glob_match(pattern, path));
}

BOOST_AUTO_TEST_CASE(classes_and_escapes) {
  BOOST_TEST(glob_match("x[abc].img", "xb.img"));
  BOOST_TEST(!glob_match("x[abc].img", "xd.img"));
  BOOST_TEST(glob_match("x[a-c].img", "xc.img"));
  BOOST_TEST(glob_match("x[!a-c].img", "xd.img"));
  BOOST_TEST(!glob_match("x[!a-c].img", "xa.img"));
  BOOST_TEST(glob_match("x[]a].img", "x].img"));
  BOOST_TEST(glob_match("\\*.img", "*.img"));
  BOOST_TEST(!glob_match("\\*.img", "a.img"));
  BOOST_TEST(glob_match("a\\?", "a?"));
  BOOST_TEST(!glob_match("a\\?", "ab"));
  BOOST_TEST(glob_match("?.img", "\xc3\xa9.img")); // one UTF-8 character, two bytes
  BOOST_TEST(glob_match("[\xc3\xa9"
                        "e].img",
                        "\xc3\xa9.img"));
}

BOOST_AUTO_TEST_CASE(problems_are_named) {
  BOOST_TEST(!glob_problem("*.tmp"));
  BOOST_TEST(!glob_problem("a/**/b"));
  BOOST_TEST(!glob_problem("x[]a]"));
  BOOST_TEST(!glob_problem("/anchored/"));
  BOOST_TEST(glob_problem("").value() == "empty pattern");
  BOOST_TEST(glob_problem("x[ab").value() == "unclosed '['");
  BOOST_TEST(glob_problem("x[a/b]").value() == "unclosed '['");
  BOOST_TEST(glob_problem("ab\\").value().find("escapes nothing") != std::string::npos);
  BOOST_TEST(glob_problem("a//b").value().find("empty path component") != std::string::npos);
  BOOST_TEST(glob_problem("a/../b").value().find("'..'") != std::string::npos);
  BOOST_TEST(glob_problem("a**").value().find("whole path component") != std::string::npos);
  BOOST_TEST(glob_problem("/").has_value());
  BOOST_TEST(!glob_problem("a\\*\\*"));
}

BOOST_AUTO_TEST_SUITE_END()
