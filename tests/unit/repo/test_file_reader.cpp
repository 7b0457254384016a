#include "repo/file_reader.hpp"

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <fcntl.h>
#include <fstream>
#include <string>
#include <thread>
#include <unistd.h>

#include "support/page_cache.hpp"
#include "support/temp_dir.hpp"

using namespace offsite;
using namespace offsite::repo;
using offsite::test::resident_pages;

BOOST_AUTO_TEST_SUITE(repo_file_reader)

BOOST_AUTO_TEST_CASE(a_will_need_hint_brings_the_file_into_the_page_cache) {
  // Transfer::read_ahead relies on it to start reading the next files before their turn.
  test::TempDir dir;
  auto file = dir.path() / "image.img";
  const std::size_t size = 4 << 20;
  std::ofstream(file, std::ios::binary) << std::string(size, 'x');
  auto reader = FileReader::open(file);
  BOOST_TEST_REQUIRE(reader.has_value());
  int fd = ::open(file.c_str(), O_RDONLY);
  BOOST_TEST_REQUIRE(fd >= 0);
  ::fdatasync(fd); // dirty pages cannot be dropped
  ::close(fd);
  reader->drop_cache(0, size);
  auto before = resident_pages(file, size);
  if (before > 0) {
    BOOST_TEST_MESSAGE("the page cache kept the file (tmpfs?): nothing to observe here");
    return;
  }
  reader->advise_will_need(size);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::size_t after = 0;
  while ((after = resident_pages(file, size)) == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  BOOST_TEST(after > 0u);
}

BOOST_AUTO_TEST_SUITE_END()
