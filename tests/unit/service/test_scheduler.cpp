#include "service/scheduler.hpp"

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <ctime>
#include <string>

using namespace offsite;
using service::Clock;

namespace {

// Runs the test body in time zone `zone`, restoring the previous one after.
class ZoneGuard {
public:
  explicit ZoneGuard(const char* zone) {
    if (const char* old = std::getenv("TZ")) m_old = old;
    ::setenv("TZ", zone, 1);
    ::tzset();
  }
  ~ZoneGuard() {
    if (m_old.empty())
      ::unsetenv("TZ");
    else
      ::setenv("TZ", m_old.c_str(), 1);
    ::tzset();
  }

private:
  std::string m_old;
};

Clock::time_point utc(int year, int month, int day, int hour, int minute) {
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  return Clock::from_time_t(::timegm(&tm));
}

config::Window window(int start_hour, int start_minute, int end_hour, int end_minute) {
  return config::Window{start_hour * 60 + start_minute, end_hour * 60 + end_minute};
}

constexpr config::Days k_all{true, true, true, true, true, true, true};

} // namespace

BOOST_AUTO_TEST_SUITE(service_scheduler)

BOOST_AUTO_TEST_CASE(window_crossing_midnight_ends_next_day) {
  ZoneGuard zone("UTC");
  auto windows = service::upcoming_windows(window(22, 0, 6, 0), k_all, utc(2026, 11, 25, 12, 0), 2);
  BOOST_REQUIRE(windows.size() >= 2u);
  BOOST_TEST((windows[0].start == utc(2026, 11, 25, 22, 0)));
  BOOST_TEST((windows[0].end == utc(2026, 11, 26, 6, 0)));
  BOOST_TEST((windows[1].start == utc(2026, 11, 26, 22, 0)));
}

BOOST_AUTO_TEST_CASE(started_inside_a_window_returns_the_open_one) {
  ZoneGuard zone("UTC");
  // 03:00 on Thursday: the window that started Wednesday 22:00 is still open.
  auto open = service::current_or_next_window(window(22, 0, 6, 0), k_all, utc(2026, 11, 26, 3, 0));
  BOOST_REQUIRE(open.has_value());
  BOOST_TEST((open->start == utc(2026, 11, 25, 22, 0)));
  BOOST_TEST((open->end == utc(2026, 11, 26, 6, 0)));
}

BOOST_AUTO_TEST_CASE(days_are_the_days_a_window_starts_on) {
  ZoneGuard zone("UTC");
  config::Days friday_only{false, false, false, false, true, false, false};
  // 2026-11-25 is a Wednesday: the next window starts Friday 27th and ends Saturday.
  auto windows = service::upcoming_windows(window(22, 0, 6, 0), friday_only, utc(2026, 11, 25, 12, 0), 7);
  BOOST_REQUIRE(windows.size() == 1u);
  BOOST_TEST((windows[0].start == utc(2026, 11, 27, 22, 0)));
  BOOST_TEST((windows[0].end == utc(2026, 11, 28, 6, 0)));
  config::Days none{};
  BOOST_TEST(!service::current_or_next_window(window(22, 0, 6, 0), none, utc(2026, 11, 25, 12, 0)));
}

BOOST_AUTO_TEST_CASE(no_window_means_the_whole_day) {
  ZoneGuard zone("UTC");
  auto open = service::current_or_next_window(config::Window{}, k_all, utc(2026, 11, 25, 12, 0));
  BOOST_REQUIRE(open.has_value());
  BOOST_TEST((open->start == utc(2026, 11, 25, 0, 0)));
  BOOST_TEST((open->end == utc(2026, 11, 26, 0, 0)));
}

BOOST_AUTO_TEST_CASE(london_spring_gap_moves_to_the_first_valid_minute) {
  ZoneGuard zone("Europe/London");
  // 2026-03-29: clocks go from 01:00 GMT to 02:00 BST; 01:30 does not exist.
  auto start = service::resolve_local_time(2026, 3, 29, 90);
  BOOST_TEST((start == utc(2026, 3, 29, 1, 0))); // 02:00 BST
  auto before = service::resolve_local_time(2026, 3, 29, 59);
  BOOST_TEST((before == utc(2026, 3, 29, 0, 59)));
}

BOOST_AUTO_TEST_CASE(london_autumn_repeat_takes_the_first_occurrence) {
  ZoneGuard zone("Europe/London");
  // 2026-10-25: 02:00 BST goes back to 01:00 GMT; 01:30 happens twice.
  auto start = service::resolve_local_time(2026, 10, 25, 90);
  BOOST_TEST((start == utc(2026, 10, 25, 0, 30))); // 01:30 BST, the first
  // A window 01:30-01:45 runs once, in the first occurrence.
  auto windows = service::upcoming_windows(window(1, 30, 1, 45), k_all, utc(2026, 10, 25, 0, 0), 1);
  BOOST_REQUIRE(!windows.empty());
  BOOST_TEST((windows[0].start == utc(2026, 10, 25, 0, 30)));
  BOOST_TEST((windows[0].end == utc(2026, 10, 25, 0, 45)));
}

BOOST_AUTO_TEST_CASE(new_york_changes) {
  ZoneGuard zone("America/New_York");
  // 2026-03-08: 02:00 EST -> 03:00 EDT; 02:30 does not exist: 03:00 EDT = 07:00 UTC.
  BOOST_TEST((service::resolve_local_time(2026, 3, 8, 150) == utc(2026, 3, 8, 7, 0)));
  // 2026-11-01: 02:00 EDT -> 01:00 EST; 01:30 first as EDT = 05:30 UTC.
  BOOST_TEST((service::resolve_local_time(2026, 11, 1, 90) == utc(2026, 11, 1, 5, 30)));
  // A 22:00-06:00 window across the autumn change lasts 9 hours.
  auto windows = service::upcoming_windows(window(22, 0, 6, 0), k_all, utc(2026, 10, 31, 12, 0), 1);
  BOOST_REQUIRE(!windows.empty());
  BOOST_TEST(std::chrono::duration_cast<std::chrono::hours>(windows[0].end - windows[0].start).count() == 9);
}

BOOST_AUTO_TEST_SUITE_END()
