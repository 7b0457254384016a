#include "util/log.hpp"

#include <boost/test/unit_test.hpp>

using namespace offsite;

BOOST_AUTO_TEST_SUITE(util_log)

BOOST_AUTO_TEST_CASE(fields_are_key_value_and_quoted_when_needed) {
  auto line = log::format_line(log::Level::info, "sync.finished",
                               {{"repository", "Main site"}, {"outcome", "success"}, {"bytes", 1234}});
  BOOST_TEST(line == "level=info event=sync.finished repository=\"Main site\" outcome=success bytes=1234");
}

BOOST_AUTO_TEST_CASE(control_characters_cannot_forge_lines) {
  auto line = log::format_line(log::Level::error, "x", {{"error", "a\nlevel=info event=fake"}});
  BOOST_TEST(line.find('\n') == std::string::npos);
  BOOST_TEST(line == "level=error event=x error=\"a\\nlevel=info event=fake\"");
}

BOOST_AUTO_TEST_CASE(levels_parse_and_filter) {
  log::Level level{};
  BOOST_TEST(log::parse_level("warning", level));
  BOOST_TEST((level == log::Level::warning));
  BOOST_TEST(!log::parse_level("loud", level));
  log::set_level(log::Level::warning);
  BOOST_TEST(!log::enabled(log::Level::info));
  BOOST_TEST(log::enabled(log::Level::error));
  log::set_level(log::Level::info);
}

BOOST_AUTO_TEST_SUITE_END()
