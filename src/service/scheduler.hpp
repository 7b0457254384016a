#pragma once
// Sync windows (BRIEF §1, §3): when each repository may sync. Pure functions of the configuration,
// a point in time and the local time zone, so the scheduler, `forecast` and the tests share them.

#include <chrono>
#include <vector>

#include "config/config.hpp"

namespace offsite::service {

using Clock = std::chrono::system_clock;

struct WindowInstance {
  Clock::time_point start;
  Clock::time_point end;
  friend bool operator==(const WindowInstance&, const WindowInstance&) = default;
};

// The windows that end after `from`, in order, starting on the next `days` calendar days (local
// time) counted from the day before `from` (a window that started yesterday may still be open).
// A window is `start`–`end` local time on each day in `days` (end <= start crosses midnight,
// ending the next day; no window: the whole day). Daylight saving: a start or end that does not
// exist that day is the first valid minute after it; one that occurs twice is its first
// occurrence. Uses the process's local time zone (TZ).
std::vector<WindowInstance> upcoming_windows(const config::Window& window, const config::Days& days,
                                             Clock::time_point from, int day_count);

// The window open at `now`, if any, else the next one (nullopt only if `days` is empty).
std::optional<WindowInstance> current_or_next_window(const config::Window& window, const config::Days& days,
                                                     Clock::time_point now);

// The instant the local wall clock first reads `minute_of_day` on the local date (year, month,
// day), or, if it never does that day (a daylight-saving gap), the first instant after.
Clock::time_point resolve_local_time(int year, int month, int day, int minute_of_day);

} // namespace offsite::service
