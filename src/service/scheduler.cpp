// Sync windows in local time, across midnight and daylight-saving changes.
//
// A window is given in wall-clock time ("22:00" to "06:00") on the days it starts on. Wall clocks
// are not monotonic: on the spring change a time like 01:30 does not exist, on the autumn change
// it happens twice. The rule (from the service issue): a time that does not exist that day means
// the first valid minute after it, a time that occurs twice its first occurrence. Both are the
// same definition: the earliest instant at which the wall clock reads that time or later on that
// date. resolve_local_time() finds it by stepping through the minutes around a first guess with
// localtime_r(), which knows the zone's rules; there is no time-zone database in libstdc++ 12.
//
// A window that ends at or before its start crosses midnight and ends the next day. A window that
// started yesterday may still be open now, so the search starts a day early; each window runs
// once, however the clocks change inside it.

#include "service/scheduler.hpp"

#include <ctime>

namespace offsite::service {
namespace {

struct WallTime {
  int year, month, day, minute;
  auto operator<=>(const WallTime&) const = default;
};

WallTime wall_time(std::time_t t) {
  std::tm tm{};
  ::localtime_r(&t, &tm);
  return {tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour * 60 + tm.tm_min};
}

// The civil date `offset` days after (year, month, day), and its weekday (Monday = 0).
struct Date {
  int year, month, day, weekday;
};

Date add_days(int year, int month, int day, int offset) {
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day + offset;
  tm.tm_hour = 12; // noon: far from any daylight-saving change
  std::time_t t = ::timegm(&tm);
  std::tm out{};
  ::gmtime_r(&t, &out);
  return {out.tm_year + 1900, out.tm_mon + 1, out.tm_mday, (out.tm_wday + 6) % 7};
}

} // namespace

Clock::time_point resolve_local_time(int year, int month, int day, int minute_of_day) {
  WallTime target{year, month, day, minute_of_day};
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = minute_of_day / 60;
  tm.tm_min = minute_of_day % 60;
  // As if the wall clock were UTC, then back by more than any zone's offset plus a DST shift.
  std::time_t t = ::timegm(&tm) - 16 * 3600;
  t -= t % 60;
  for (int step = 0; step < 40 * 60; ++step, t += 60) {
    if (wall_time(t) >= target) return Clock::from_time_t(t);
  }
  return Clock::from_time_t(t); // unreachable for any real zone
}

std::vector<WindowInstance> upcoming_windows(const config::Window& window, const config::Days& days,
                                             Clock::time_point from, int day_count) {
  std::vector<WindowInstance> windows;
  auto now = wall_time(Clock::to_time_t(from));
  int start_minute = window.start_minute.value_or(0);
  int end_minute = window.end_minute.value_or(0);
  bool crosses_midnight = !window.start_minute || end_minute <= start_minute;
  for (int offset = -1; offset < day_count; ++offset) {
    Date date = add_days(now.year, now.month, now.day, offset);
    if (!days[static_cast<std::size_t>(date.weekday)]) continue;
    Date end_date = crosses_midnight ? add_days(date.year, date.month, date.day, 1) : date;
    WindowInstance instance{resolve_local_time(date.year, date.month, date.day, start_minute),
                            resolve_local_time(end_date.year, end_date.month, end_date.day, end_minute)};
    if (instance.end <= from || instance.end <= instance.start) continue;
    windows.push_back(instance);
  }
  return windows;
}

std::optional<WindowInstance> current_or_next_window(const config::Window& window, const config::Days& days,
                                                     Clock::time_point now) {
  auto windows = upcoming_windows(window, days, now, 8);
  if (windows.empty()) return std::nullopt;
  return windows.front();
}

} // namespace offsite::service
