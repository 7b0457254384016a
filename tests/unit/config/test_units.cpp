#include "config/units.hpp"

#include <boost/test/unit_test.hpp>

using namespace offsite::config;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(config_units)

BOOST_AUTO_TEST_CASE(sizes_in_binary_and_decimal_units) {
  BOOST_TEST(parse_size("4096").value() == 4096u);
  BOOST_TEST(parse_size("0").value() == 0u);
  BOOST_TEST(parse_size("512KiB").value() == 512u * 1024);
  BOOST_TEST(parse_size("16MiB").value() == 16u * 1024 * 1024);
  BOOST_TEST(parse_size("16 MiB").value() == 16u * 1024 * 1024);
  BOOST_TEST(parse_size("16mib").value() == 16u * 1024 * 1024);
  BOOST_TEST(parse_size("16M").value() == 16u * 1024 * 1024);
  BOOST_TEST(parse_size("1GiB").value() == 1ull << 30);
  BOOST_TEST(parse_size("1.5GiB").value() == 3ull << 29);
  BOOST_TEST(parse_size("2TiB").value() == 2ull << 40);
  BOOST_TEST(parse_size("10MB").value() == 10000000u);
  BOOST_TEST(parse_size("10kB").value() == 10000u);
  BOOST_TEST(parse_size("1GB").value() == 1000000000u);
  BOOST_TEST(parse_size("100B").value() == 100u);
  BOOST_TEST(parse_size("18446744073709551615").value() == UINT64_MAX);
}

BOOST_AUTO_TEST_CASE(sizes_reject_garbage_negatives_and_overflow) {
  for (const char* bad : {"",
                          " ",
                          "-1",
                          "+1",
                          "16 MiB ",
                          " 16MiB",
                          "16MiBs",
                          "MiB",
                          "1.",
                          ".5MiB",
                          "1..5GiB",
                          "16XiB",
                          "1e6",
                          "0x10",
                          "16  MiB",
                          "18446744073709551616",
                          "16777216TiB",
                          "1.1234567GiB",
                          "20MiB/s",
                          "nan"})
    BOOST_TEST(!parse_size(bad).has_value(), "accepted \"" << bad << "\"");
}

BOOST_AUTO_TEST_CASE(durations) {
  BOOST_TEST(parse_duration("0").value() == 0s);
  BOOST_TEST(parse_duration("90s").value() == 90s);
  BOOST_TEST(parse_duration("10m").value() == 600s);
  BOOST_TEST(parse_duration("2h").value() == 7200s);
  BOOST_TEST(parse_duration("1d").value() == 86400s);
  BOOST_TEST(parse_duration("1h30m").value() == 5400s);
  BOOST_TEST(parse_duration("1d2h3m4s").value() == 93784s);
  BOOST_TEST(parse_duration("45").value() == 45s);
}

BOOST_AUTO_TEST_CASE(durations_reject_garbage_negatives_and_overflow) {
  for (const char* bad : {"", "-5m", "10x", "m", "1h30", "30m1h", "1m1m", "1.5h", " 10m", "10m ", "10 m",
                          "99999999999999999999s", "9999999999999999d", "h1"})
    BOOST_TEST(!parse_duration(bad).has_value(), "accepted \"" << bad << "\"");
}

BOOST_AUTO_TEST_CASE(rates) {
  BOOST_TEST(parse_rate("0").value() == 0u);
  BOOST_TEST(parse_rate("20MiB/s").value() == 20u * 1024 * 1024);
  BOOST_TEST(parse_rate("500KiB/s").value() == 500u * 1024);
  BOOST_TEST(parse_rate("1MB/s").value() == 1000000u);
  BOOST_TEST(parse_rate("2MiB").value() == 2u * 1024 * 1024);
  for (const char* bad : {"", "/s", "-1MiB/s", "20MiB/h", "20MiB/s/s", "fast"})
    BOOST_TEST(!parse_rate(bad).has_value(), "accepted \"" << bad << "\"");
}

BOOST_AUTO_TEST_CASE(times_of_day) {
  BOOST_TEST(parse_time_of_day("00:00").value() == 0);
  BOOST_TEST(parse_time_of_day("22:00").value() == 1320);
  BOOST_TEST(parse_time_of_day("6:05").value() == 365);
  BOOST_TEST(parse_time_of_day("23:59").value() == 1439);
  for (const char* bad :
       {"", "24:00", "12:60", "1200", "12:0", "12:000", "-1:00", "12:5a", "123:00", ":30", "12:", "12-30", " 12:30"})
    BOOST_TEST(!parse_time_of_day(bad).has_value(), "accepted \"" << bad << "\"");
}

BOOST_AUTO_TEST_CASE(sizes_for_people) {
  BOOST_TEST(format_size(0) == "0 B");
  BOOST_TEST(format_size(512) == "512 B");
  BOOST_TEST(format_size(16u * 1024 * 1024) == "16 MiB");
  BOOST_TEST(format_size(3ull << 29) == "1.5 GiB");
  BOOST_TEST(format_size(1536) == "1.5 KiB");
  BOOST_TEST(format_size(UINT64_MAX) == "16 EiB");
  BOOST_TEST(format_time_of_day(365) == "06:05");
}

BOOST_AUTO_TEST_SUITE_END()
