#include "repo/repository_id.hpp"

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>

#include "support/files.hpp"
#include "support/temp_dir.hpp"
#include "util/fs.hpp"
#include "util/uuid.hpp"

using namespace offsite;
using namespace offsite::repo;
namespace stdfs = std::filesystem;

namespace {

unsigned mode_of(const stdfs::path& path) {
  struct stat st {};
  BOOST_REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

} // namespace

BOOST_AUTO_TEST_SUITE(repo_repository_id)

BOOST_AUTO_TEST_CASE(created_once_then_stable) {
  test::TempDir dir;
  auto before = read_repository_id(dir.path());
  BOOST_REQUIRE(before);
  BOOST_TEST(!before->has_value());
  BOOST_TEST(!stdfs::exists(dir.path() / ".offsite")); // reading creates nothing

  auto first = load_or_create_repository_id(dir.path());
  BOOST_REQUIRE_MESSAGE(first, (first ? "" : first.error().message));
  BOOST_TEST(parse_uuid(*first).value_or("") == *first);
  auto file = dir.path() / ".offsite/repository-id";
  BOOST_TEST(fs::read_file(file).value_or("") == *first + "\n");
  BOOST_TEST(mode_of(file) == 0640u);
  BOOST_TEST((mode_of(dir.path() / ".offsite") & 0750) == 0750u);

  auto second = load_or_create_repository_id(dir.path());
  BOOST_REQUIRE(second);
  BOOST_TEST(*second == *first);
  auto read = read_repository_id(dir.path());
  BOOST_TEST((read && read->value_or("") == *first));
}

BOOST_AUTO_TEST_CASE(accepts_a_hand_written_id_with_crlf_and_upper_case) {
  test::TempDir dir;
  test::write_file(dir.path() / ".offsite/repository-id", "0F8FAD5B-D9CB-469F-A165-70867728950E\r\n");
  auto id = load_or_create_repository_id(dir.path());
  BOOST_REQUIRE(id);
  BOOST_TEST(*id == "0f8fad5b-d9cb-469f-a165-70867728950e");
}

BOOST_AUTO_TEST_CASE(a_file_without_a_uuid_is_an_error_naming_it_and_is_kept) {
  for (std::string garbage :
       {std::string("not a uuid\n"), std::string(), std::string("0f8fad5b-d9cb-469f-a165-70867728950e\nsecond line\n"),
        std::string(100'000, 'x')}) {
    test::TempDir dir;
    auto file = dir.path() / ".offsite/repository-id";
    test::write_file(file, garbage);
    auto id = load_or_create_repository_id(dir.path());
    BOOST_REQUIRE(!id);
    BOOST_TEST(id.error().message.find(file.string()) != std::string::npos, id.error().message);
    BOOST_TEST(id.error().message.find("reinitialize") != std::string::npos);
    BOOST_TEST(!read_repository_id(dir.path()));
    BOOST_TEST(fs::read_file(file).value_or("?") == garbage); // never replaced
  }
}

BOOST_AUTO_TEST_CASE(a_missing_repository_is_an_error_and_is_not_created) {
  test::TempDir dir;
  auto root = dir.path() / "unmounted";
  auto id = load_or_create_repository_id(root);
  BOOST_REQUIRE(!id);
  BOOST_TEST(id.error().message.find(root.string()) != std::string::npos);
  BOOST_TEST(!stdfs::exists(root));
  BOOST_TEST(!read_repository_id(root));
}

BOOST_AUTO_TEST_SUITE_END()
