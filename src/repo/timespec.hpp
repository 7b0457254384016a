#pragma once
// A POSIX timespec as one number: how the scanner and the file reader report mtimes and ctimes.

#include <cstdint>
#include <ctime>

namespace offsite::repo {

inline std::int64_t nanoseconds(const struct timespec& time) {
  return static_cast<std::int64_t>(time.tv_sec) * 1'000'000'000 + time.tv_nsec;
}

} // namespace offsite::repo
