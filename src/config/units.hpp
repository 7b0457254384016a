#pragma once
// The human units of the config file: sizes, durations, rates and times of day. Each parser
// takes the whole string and rejects garbage, signs, and values that overflow 64 bits.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace offsite::config {

// "4096" (bytes), "512KiB", "16MiB", "1.5GiB", "2TiB" (binary; "K", "M", "G", "T" too),
// "10kB", "10MB", "1GB" (decimal); units are case-insensitive, one space may precede them.
// A fraction is rounded down to whole bytes.
std::optional<std::uint64_t> parse_size(std::string_view text);

// "0", "90s", "10m", "2h", "1d", "1h30m" (units in decreasing order, each once); a bare number
// is seconds.
std::optional<std::chrono::seconds> parse_duration(std::string_view text);

// Bytes per second: "20MiB/s", "500KiB/s", a size without "/s", "0" = unlimited.
std::optional<std::uint64_t> parse_rate(std::string_view text);

// "HH:MM" (or "H:MM"), 00:00..23:59, to minutes after midnight.
std::optional<int> parse_time_of_day(std::string_view text);

// For people: "16 MiB", "1.5 GiB", "512 B" (at most two decimals, trailing zeros dropped).
std::string format_size(std::uint64_t bytes);

// "22:00" from 1320.
std::string format_time_of_day(int minute);

} // namespace offsite::config
