// Part sizes: the engine's chunk, raised by whole chunks to stay within S3's 10,000 parts.

#include "target/s3.hpp"

#include <boost/test/unit_test.hpp>

using offsite::target::part_size_for;

namespace {
constexpr std::uint64_t k_mib = 1 << 20;
constexpr std::uint64_t k_gib = 1ull << 30;
} // namespace

BOOST_AUTO_TEST_SUITE(target_s3_parts)

BOOST_AUTO_TEST_CASE(the_chunk_while_it_fits_in_ten_thousand_parts) {
  BOOST_TEST(part_size_for(16 * k_mib, 0, 0, 1) == 16 * k_mib);
  BOOST_TEST(part_size_for(16 * k_mib, 0, 100 * k_gib, 1) == 16 * k_mib);
  BOOST_TEST(part_size_for(16 * k_mib, 0, 10000 * 16 * k_mib, 1) == 16 * k_mib);
}

BOOST_AUTO_TEST_CASE(raised_by_whole_chunks_beyond) {
  for (std::uint64_t size : {10000 * 16 * k_mib + 1, 1024 * k_gib, 5 * 1024 * k_gib}) {
    BOOST_TEST_CONTEXT(size) {
      auto part = part_size_for(16 * k_mib, 0, size, 1);
      BOOST_TEST(part % (16 * k_mib) == 0u);
      BOOST_TEST((size + part - 1) / part <= 10000u);
      BOOST_TEST((size + (part - 16 * k_mib) - 1) / (part - 16 * k_mib) > 10000u); // no larger than needed
    }
  }
}

BOOST_AUTO_TEST_CASE(a_resumed_upload_fits_in_the_parts_left) {
  std::uint64_t size = 200 * k_gib, start = 100 * k_gib;
  int used = 6400; // 100 GiB in 16 MiB parts
  auto part = part_size_for(16 * k_mib, start, size, used + 1);
  BOOST_TEST((size - start + part - 1) / part <= static_cast<std::uint64_t>(10000 - used));
}

BOOST_AUTO_TEST_SUITE_END()
