#include "util/fs.hpp"

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <sys/stat.h>

#include "support/temp_dir.hpp"

using namespace offsite;

BOOST_AUTO_TEST_SUITE(util_fs)

BOOST_AUTO_TEST_CASE(atomic_write_replaces_content_and_sets_mode) {
  test::TempDir dir;
  auto path = dir.path() / "result.json";
  BOOST_REQUIRE(fs::write_file_atomically(path, "first", 0640));
  BOOST_REQUIRE(fs::write_file_atomically(path, "second", 0640));
  auto content = fs::read_file(path);
  BOOST_REQUIRE(content);
  BOOST_TEST(*content == "second");
  struct stat st {};
  BOOST_REQUIRE(::stat(path.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0640u);
  // No temporary file is left beside it.
  int entries = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir.path()))
    ++entries;
  BOOST_TEST(entries == 1);
}

BOOST_AUTO_TEST_CASE(read_refuses_oversized_and_missing_files) {
  test::TempDir dir;
  auto path = dir.path() / "big";
  BOOST_REQUIRE(fs::write_file_atomically(path, std::string(100, 'x')));
  auto too_big = fs::read_file(path, 10);
  BOOST_TEST(!too_big);
  auto missing = fs::read_file(dir.path() / "none");
  BOOST_REQUIRE(!missing);
  BOOST_TEST(missing.error().kind == ErrorKind::not_found);
  BOOST_TEST(missing.error().message.find("none") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(create_directories_makes_parents) {
  test::TempDir dir;
  auto deep = dir.path() / "a" / "b" / "c";
  BOOST_REQUIRE(fs::create_directories(deep));
  BOOST_TEST(std::filesystem::is_directory(deep));
  BOOST_TEST(fs::create_directories(deep).has_value());
  BOOST_REQUIRE(fs::write_file_atomically(dir.path() / "file", "x"));
  BOOST_TEST(!fs::create_directories(dir.path() / "file"));
}

BOOST_AUTO_TEST_SUITE_END()
